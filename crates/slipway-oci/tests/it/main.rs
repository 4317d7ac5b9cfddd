//! Integration tests of slipway-oci against the local registry.

mod verify;
