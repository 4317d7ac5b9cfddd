//! Leases: a Boskos-compatible lease server, its reaper and janitor, and a client.
//!
//! CI jobs that test against a cloud lease a project or an account for each run, take
//! credentials from the lease, and give it back dirty for a janitor to clean. Boskos does this
//! for Kubernetes on a cluster of CRDs; slipway does it on its store (SQLite with no setup,
//! PostgreSQL for several replicas), speaking Boskos's HTTP API so its clients (the Go client,
//! kubetest2, shell jobs that `curl` `$BOSKOS_HOST`) work unchanged.
//!
//! - [`config`]: `resources.yaml`, Boskos's format, validated with every problem at its line;
//! - [`sync`]: what the configuration asks of the stored resources, as a pure plan;
//! - [`server`]: the API (axum), with the reaper, janitor and reload inside;
//! - [`client`]: the same API from the other side, for `slipway lease` commands and jobs;
//! - [`resource`]: the Resource JSON.
//!
//! The transactions that make a lease exclusive live in `slipway_store::leases`.

pub mod client;
pub mod config;
pub mod environment;
pub mod resource;
pub mod server;
pub mod sync;

/// slipway's own listing endpoint (not in the Boskos API): resources without userdata values.
pub const LIST_PATH: &str = "/slipway/v1/resources";
