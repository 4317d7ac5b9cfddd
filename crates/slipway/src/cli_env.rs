//! The command line of test environments (`slipway env`). Doc comments here are the `--help`
//! text.

use clap::{Args, Subcommand};

use crate::cli::{Format, RegistryArgs};

#[derive(Debug, Subcommand)]
pub(crate) enum EnvCommand {
    /// Resolve Kubernetes versions and markers to exact versions.
    ///
    /// A version (v1.35.2) is used as written; a marker (stable-1.36, latest-1.37, ci/latest,
    /// ci/latest-1.37) is read from env.markers_url (default https://dl.k8s.io) and cached for
    /// env.cache_ttl (10m). A CI build also gets the URL of its artifacts. Without arguments,
    /// the configured matrix (env.kubernetes, else the jobs' matrix.kubernetes).
    ///
    /// Exit status: 0 when all resolved; 2 for an entry that is neither version nor marker; 3
    /// when a marker cannot be read (the others are still shown).
    #[command(
        after_help = "Examples:\n  slipway env versions stable-1.36 ci/latest-1.37\n  slipway env versions --format json"
    )]
    Versions(EnvVersionsArgs),

    /// Resolve each Kubernetes version to a kind node image pinned by digest, building it when
    /// no one published one.
    ///
    /// For each (version, kind release, architecture), in order: slipway.lock; the image kind
    /// published with that release (from its release notes, confirmed in the registry); an
    /// image slipway built earlier and pushed to env.registry (found by its tag, verified);
    /// else a build (--build), when the branch's policy allows: `published` takes kind's images
    /// only, `build` never takes them, `published-or-build` (the default) takes them first.
    /// Resolved entries of the configured matrix are written to slipway.lock (all or nothing).
    ///
    /// Exit status: 0 when every entry has an image; 1 when one is missing (nothing the policy
    /// allows, a build to do without --build, a failed verification) or --locked finds the lock
    /// out of date; 2 for bad input (an unknown marker, a kind too old to build); 3 when a
    /// source, the registry, kind or the container engine fails (the rest is still shown).
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:
  slipway env node-image                          # the configured matrix, as a table
  slipway env node-image --build --update         # refresh slipway.lock, building what is missing
  slipway env node-image --locked --format json   # in CI: exactly what slipway.lock says
  slipway env node-image v1.36.0 --policy build --build
  slipway env node-image verify ghcr.io/example/kind-node:v1.36.0-kind-v0.32.0 --kubernetes v1.36.0"
    )]
    NodeImage(EnvNodeImageArgs),

    /// Create kind clusters on the resolved node images and wait for their nodes.
    ///
    /// One cluster for the first entry of the matrix, or one per entry with --matrix (or per
    /// entry given), created in parallel from env.cluster (nodes, feature gates, containerd
    /// patches). Each gets .slipway/env/<name>/ with its kind config and kubeconfig; the
    /// kubeconfig paths are printed (stdout), one per line.
    ///
    /// Exit status: 0 when every cluster is Ready; 1 when a node image is missing; 2 for bad
    /// input; 3 when kind, the container engine or a cluster fails.
    #[command(after_help = "Examples:
  slipway env up                       # the first entry of the matrix
  slipway env up --matrix              # every entry, in parallel
  export KUBECONFIG=$(slipway env up v1.36.1 --name dev)")]
    Up(EnvUpArgs),

    /// Delete kind clusters slipway created.
    #[command(after_help = "Examples:\n  slipway env down dev\n  slipway env down --all")]
    Down(EnvDownArgs),

    /// List the kind clusters slipway created, and whether kind still has them.
    List(EnvListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EnvVersionsArgs {
    /// Versions or markers (default: the configured matrix).
    #[arg(value_name = "MARKER|VERSION")]
    pub(crate) entries: Vec<String>,

    /// Read every marker again, ignoring the cache.
    #[arg(long)]
    pub(crate) refresh: bool,

    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

/// Which images to resolve and how; shared by `node-image` and `up`.
#[derive(Debug, Args)]
pub(crate) struct EnvResolveArgs {
    /// The kind release (default env.kind, else the installed kind's).
    #[arg(long, value_name = "VERSION")]
    pub(crate) kind: Option<String>,

    /// Architectures (repeatable or comma-separated; default env.arches, else this machine's).
    #[arg(long = "arch", value_name = "ARCH", value_delimiter = ',')]
    pub(crate) arches: Vec<String>,

    /// Override the branch's policy: published, published-or-build or build.
    #[arg(long, value_name = "POLICY")]
    pub(crate) policy: Option<String>,

    /// The branch whose policy applies (default $PULL_BASE_REF, $GITHUB_BASE_REF,
    /// $GITHUB_REF_NAME, else the checked-out branch).
    #[arg(long, value_name = "BRANCH")]
    pub(crate) branch: Option<String>,

    /// Build the images that are missing (the policy must allow building).
    #[arg(long)]
    pub(crate) build: bool,

    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true)]
pub(crate) struct EnvNodeImageArgs {
    #[command(subcommand)]
    pub(crate) verify: Option<EnvNodeImageCommand>,

    /// Versions or markers (default: the configured matrix).
    #[arg(value_name = "MARKER|VERSION")]
    pub(crate) entries: Vec<String>,

    #[command(flatten)]
    pub(crate) resolve: EnvResolveArgs,

    /// Resolve every entry again instead of taking slipway.lock's, and rewrite the lock.
    #[arg(long, conflicts_with = "locked")]
    pub(crate) update: bool,

    /// Take slipway.lock as it is, with no network; fail (exit 1) when it would change.
    #[arg(long)]
    pub(crate) locked: bool,

    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EnvNodeImageCommand {
    /// Check a node image in a registry: every architecture present, /kind/version names the
    /// Kubernetes version, and kubelet, kubeadm and kubectl are ELF binaries of the platform's
    /// architecture.
    ///
    /// Exit status: 0 when it holds; 1 when something is wrong; 3 when the registry cannot be
    /// read.
    #[command(after_help = "Examples:
  slipway env node-image verify kindest/node:v1.33.1@sha256:0500722...
  slipway env node-image verify ghcr.io/example/kind-node:v1.36.0-kind-v0.32.0 --kubernetes v1.36.0 --arch amd64,arm64")]
    Verify(EnvVerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EnvVerifyArgs {
    /// The node image (by tag or digest).
    #[arg(value_name = "REF")]
    pub(crate) image: String,

    /// The Kubernetes version /kind/version must name.
    #[arg(long, value_name = "VERSION")]
    pub(crate) kubernetes: Option<String>,

    /// Architectures that must be present (default env.arches, else every one it has).
    #[arg(long = "arch", value_name = "ARCH", value_delimiter = ',')]
    pub(crate) arches: Vec<String>,

    #[command(flatten)]
    pub(crate) registry: RegistryArgs,

    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct EnvUpArgs {
    /// Versions or markers, one cluster each (default: the configured matrix's first entry, or
    /// every entry with --matrix).
    #[arg(value_name = "MARKER|VERSION")]
    pub(crate) entries: Vec<String>,

    /// One cluster per entry of the configured matrix.
    #[arg(long)]
    pub(crate) matrix: bool,

    /// The cluster's name (with several, the prefix: NAME-<version>); default slipway.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,

    #[command(flatten)]
    pub(crate) resolve: EnvResolveArgs,

    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct EnvDownArgs {
    /// Clusters to delete.
    #[arg(value_name = "NAME", required_unless_present = "all")]
    pub(crate) names: Vec<String>,

    /// Every cluster slipway created here.
    #[arg(long, conflicts_with = "names")]
    pub(crate) all: bool,
}

#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct EnvListArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}
