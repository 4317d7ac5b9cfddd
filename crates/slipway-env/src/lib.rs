//! Test environments: a kind node image for every Kubernetes version of a matrix, pinned by
//! digest, and kind clusters on them.
//!
//! - [`markers`]: Kubernetes versions from version markers (`stable-1.36`, `ci/latest-1.37`),
//!   cached; the one resolver jobs' matrices use too.
//! - [`release_notes`] and [`kind_releases`]: the node images each kind release published.
//! - [`node_image`]: (version, kind, arch) to an image by digest: the lock, kind's published
//!   image, one built earlier, or a build ([`build`]) as the branch's [`policy`] allows.
//! - [`lock`]: `slipway.lock`. [`verify`]: checking a node image's platforms, `/kind/version`
//!   and binaries. [`kind`]: kind's command lines and cluster config. [`cluster`]: `env up`.

pub mod build;
mod cache;
pub mod cluster;
pub mod config;
pub mod kind;
pub mod kind_releases;
pub mod lock;
pub mod markers;
pub mod node_image;
pub mod policy;
mod process;
pub mod provider;
pub mod release_notes;
pub mod tools;
pub mod verify;
