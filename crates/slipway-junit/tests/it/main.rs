//! slipway-junit against real files: the shared JUnit corpus, generated bad inputs, Prow build
//! directories on the local file system and in the S3 emulator, and the real store.

mod bad_input;
mod corpus;
mod ingest;
