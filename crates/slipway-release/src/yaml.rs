//! A YAML tree that remembers where every node sits in its file; it lives in
//! [`slipway_core::yaml`] (Prow job files need it too) and is re-exported here.

pub use slipway_core::yaml::{Node, Style, Value, YamlError, parse};
