//! Integration tests of slipway-oci against the local registry.

mod build;
mod dockerfile;
mod verify;
