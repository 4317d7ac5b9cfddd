//! Integration tests of slipway-release, against real git, kubectl and the local registry.

mod bump_round_trip;
mod ledger;
mod overlays;
mod support;
