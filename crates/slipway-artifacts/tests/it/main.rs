//! slipway-artifacts against real storage: a local directory, S3 (moto_server), GCS
//! (fake-gcs-server) and Azure (Azurite), all started by `scripts/test-services.sh start`. Each
//! scenario runs on every backend; on the GCS emulator only those that read, since it takes none
//! of object_store's uploads (docs/design/storage.md), and the others run on real GCS when
//! credentials are given (ignored tests that say how).

mod build_ids;
mod layout;
mod markers;
mod storage;
mod support;
mod written_elsewhere;
