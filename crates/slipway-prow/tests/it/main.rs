//! The crate against real Prow configuration: the kubernetes/test-infra sample in the shared
//! corpus.

mod corpus;
