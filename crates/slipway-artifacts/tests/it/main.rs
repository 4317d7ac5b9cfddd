//! slipway-artifacts against real storage: a local directory and S3 (moto_server, started by
//! `scripts/test-services.sh start`). Each scenario runs on both; GCS and Azure run the same
//! scenarios when credentials or an emulator are given (ignored tests that say how).

mod build_ids;
mod layout;
mod markers;
mod storage;
mod support;
