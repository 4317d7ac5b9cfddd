//! Integration tests of slipway-release, against real git, kubectl and the local registry.

mod bump_round_trip;
mod overlays;
mod support;
