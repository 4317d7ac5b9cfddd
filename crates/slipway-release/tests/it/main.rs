//! Integration tests of slipway-release, against real git, kubectl and the local registry.

mod overlays;
mod support;
