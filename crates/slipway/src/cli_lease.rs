//! The command line of leases (`slipway lease`). Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::Format;
use crate::cli_jobs::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum LeaseCommand {
    /// Serve the Boskos API: hand out projects, accounts or clusters to CI jobs, one owner at a
    /// time.
    ///
    /// Resources come from a Boskos resources.yaml (re-read when it changes and on SIGHUP).
    /// State lives in the store: SQLite with no setup, or PostgreSQL, where several servers
    /// behind one address share it. The reaper (held leases without a heartbeat for 30m go
    /// dirty) and the janitor (a command per dirty resource) run inside. Boskos clients (the Go
    /// client, kubetest2, curl with $BOSKOS_HOST) work unchanged.
    ///
    /// On an address other than loopback it needs --token-file: every call that changes
    /// something then carries the token (Authorization: Bearer, or as Basic's password).
    ///
    /// Exit status: 0 when stopped (130 on Ctrl-C); 2 for a bad configuration; 3 when the
    /// store or the address cannot be used.
    #[command(after_help = "Examples:
  slipway lease serve --config resources.yaml
  slipway lease serve --listen 0.0.0.0:8080 --token-file /etc/slipway/token --database-url postgres://leases@db/slipway")]
    Serve(LeaseServeArgs),

    /// Lease one resource of a type and print it (the Resource JSON), waiting for one to be
    /// free with a place in the queue.
    ///
    /// Exit status: 0 with the lease; 4 when none was free within --wait; 3 when the server
    /// cannot be reached.
    #[command(after_help = "Examples:
  slipway lease acquire --type gce-project --wait 5m
  BOSKOS_HOST=boskos.test-pods.svc slipway lease acquire --type aws-account --owner $JOB_NAME")]
    Acquire(LeaseAcquireArgs),

    /// Give a lease back (to `dirty` unless --dest says otherwise, so the janitor cleans it).
    Release(LeaseReleaseArgs),

    /// Tell the server a lease is still in use (the reaper takes back leases without one).
    Heartbeat(LeaseHeartbeatArgs),

    /// List resources with their state and owner (userdata keys only: values may be
    /// credentials).
    #[command(after_help = "Examples:\n  slipway lease list\n  slipway lease list --type gce-project --format json")]
    List(LeaseListArgs),

    /// Lease, run a command with the lease in its environment, heartbeat while it runs, and
    /// give the lease back dirty when it ends (also on Ctrl-C and SIGTERM).
    ///
    /// The command gets BOSKOS_RESOURCE (the name), BOSKOS_RESOURCE_TYPE, BOSKOS_RESOURCES
    /// (every name, with --count), GCP_PROJECT for a *-project type, and the lease's userdata
    /// under the names tools read (an aws-account's access-key-id and secret-access-key as
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; more with `leases.env` in slipway.yaml).
    /// If slipway itself is killed (kill -9), the reaper takes the lease back.
    ///
    /// Exit status: the command's; 4 when nothing was free within --wait; 3 when the server
    /// cannot be reached; 130 when interrupted.
    #[command(after_help = "Examples:
  slipway lease run --type gce-project -- ./hack/e2e.sh
  slipway lease run --type aws-account --count 2 --wait 10m -- make test-e2e")]
    Run(LeaseRunArgs),
}

#[derive(Debug, Args)]
pub(crate) struct LeaseServeArgs {
    /// The resources to hand out, in Boskos's resources.yaml format (default: `leases.config`,
    /// else resources.yaml in the project).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Where to listen (default: `leases.listen`, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR", env = "SLIPWAY_LEASE_LISTEN")]
    pub(crate) listen: Option<String>,

    /// Also serve /metrics and /healthz on this address (Boskos serves them on :9090).
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<String>,

    /// A file holding the token mutating calls must carry (required off loopback).
    #[arg(long, value_name = "FILE", env = "SLIPWAY_LEASE_TOKEN_FILE")]
    pub(crate) token_file: Option<PathBuf>,

    /// Where the janitor keeps each cleanup's output (default .slipway/lease-janitor).
    #[arg(long, value_name = "DIR")]
    pub(crate) janitor_logs: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

/// Which server and who is asking; shared by the client commands.
#[derive(Debug, Clone, Args)]
pub(crate) struct LeaseClientArgs {
    /// The lease server: host:port or a URL (default: `leases.server`, else $BOSKOS_HOST).
    #[arg(long, value_name = "ADDR")]
    pub(crate) server: Option<String>,

    /// Who holds the lease (default: $JOB_NAME, else slipway-$USER).
    #[arg(long, value_name = "NAME")]
    pub(crate) owner: Option<String>,

    /// A file holding the server's token.
    #[arg(long, value_name = "FILE", env = "SLIPWAY_LEASE_TOKEN_FILE")]
    pub(crate) token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseAcquireArgs {
    /// The resource type, such as gce-project or aws-account.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) kind: String,

    /// The state to take it from.
    #[arg(long, default_value = "free")]
    pub(crate) state: String,

    /// The state it is in while leased.
    #[arg(long, default_value = "busy")]
    pub(crate) dest: String,

    /// How long to wait for one to be free (0: ask once).
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub(crate) wait: String,

    #[command(flatten)]
    pub(crate) client: LeaseClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseReleaseArgs {
    /// The resource's name.
    pub(crate) name: String,

    /// The state to give it back in.
    #[arg(long, default_value = "dirty")]
    pub(crate) dest: String,

    #[command(flatten)]
    pub(crate) client: LeaseClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseHeartbeatArgs {
    /// The resource's name.
    pub(crate) name: String,

    /// The state it is held in.
    #[arg(long, default_value = "busy")]
    pub(crate) state: String,

    #[command(flatten)]
    pub(crate) client: LeaseClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseListArgs {
    /// Only this type.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) kind: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: LeaseClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseRunArgs {
    /// The resource type, such as gce-project or aws-account.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) kind: String,

    /// How many resources of the type to lease.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) count: u32,

    /// How long to wait for them to be free.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub(crate) wait: String,

    /// How often to heartbeat while the command runs.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub(crate) heartbeat: String,

    #[command(flatten)]
    pub(crate) client: LeaseClientArgs,

    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}
