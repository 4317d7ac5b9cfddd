//! slipway's state: one SQL pool and one set of migrations.
//!
//! SQLite (a file under `.slipway/`) is the zero-setup default; a `postgres://` URL moves the
//! same tables onto PostgreSQL so several slipway processes can share them. Queries are plain
//! SQL that both engines run (numbered `$N` parameters, `BIGINT` times in seconds).

pub mod leases;
mod migrations;
mod packed;
pub mod results;
pub mod runs;

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub use packed::PackError;
pub use runs::{Run, RunState, Trigger};

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    url: String,
    sqlite: bool,
    /// On SQLite, the task that writes the lease tables (started on first use).
    writer: std::sync::Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<leases::Job>>>,
}

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid database URL `{url}`: use sqlite:PATH or postgres://USER@HOST:PORT/DB")]
    Url { url: String },
    #[error("could not open the database `{url}`")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    /// A batch of lease operations failed; the text is its cause.
    #[error("database write failed: {0}")]
    Batch(String),
    /// Stored test results that cannot be read back (a damaged database).
    #[error(transparent)]
    Damaged(#[from] PackError),
    #[error("could not create `{}`", path.display())]
    Directory {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code of DESIGN.md: 2 for a bad URL, 3 for a database that fails.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Url { .. } => 2,
            _ => 3,
        }
    }
}

/// The file path of a SQLite URL (`sqlite:path?opts`, `sqlite://path`), if it is one.
fn sqlite_path(url: &str) -> Option<&str> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    Some(path.split('?').next().unwrap_or(path))
}

/// The default database of a project: `sqlite:<project>/.slipway/state.db`.
pub fn default_url(project: &Path) -> String {
    format!("sqlite:{}", project.join(".slipway").join("state.db").display())
}

/// A store opened only to read.
#[derive(Debug)]
pub enum ForReading {
    /// The database exists.
    Existing(Store),
    /// There is no SQLite file yet: an empty store in memory, so readers see "nothing yet" and
    /// nothing is created on disk.
    Missing(Store),
}

impl ForReading {
    /// The store, either way.
    pub fn store(&self) -> &Store {
        match self {
            ForReading::Existing(store) | ForReading::Missing(store) => store,
        }
    }
}

impl Store {
    /// Opens the database at `url` for commands that only read: a SQLite file that does not
    /// exist is not created (nor its directory); an empty in-memory store stands in for it.
    pub async fn open_for_reading(url: &str) -> Result<ForReading, Error> {
        if let Some(path) = sqlite_path(url)
            && path != ":memory:"
            && !Path::new(path).exists()
        {
            return Ok(ForReading::Missing(Store::open("sqlite::memory:").await?));
        }
        Ok(ForReading::Existing(Store::open(url).await?))
    }

    /// Opens (creating if needed) the database at `url` and brings its tables up to date.
    pub async fn open(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        if !(is_sqlite || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::Url { url: slipway_core::redact::urls(url) });
        }
        let mut connect_url = url.to_owned();
        let in_memory = sqlite_path(url) == Some(":memory:");
        if is_sqlite {
            let path = sqlite_path(url).unwrap_or_default();
            if path != ":memory:"
                && let Some(parent) = Path::new(path).parent().filter(|parent| !parent.as_os_str().is_empty())
            {
                fs_create(parent)?;
            }
            if !url.contains('?') {
                connect_url.push_str("?mode=rwc");
            }
        }
        let options = AnyConnectOptions::from_str(&connect_url)
            .map_err(|_| Error::Url { url: slipway_core::redact::urls(url) })?
            .disable_statement_logging();
        // One connection first: an unreachable server fails at once instead of after the pool's
        // acquire timeout.
        let probe = options
            .connect()
            .await
            .map_err(|source| Error::Connect { url: slipway_core::redact::urls(url), source })?;
        let _ = probe.close().await;
        let pool = AnyPoolOptions::new()
            // Every connection to `:memory:` is a database of its own: keep one.
            .max_connections(if in_memory {
                1
            } else if is_sqlite {
                4
            } else {
                8
            })
            .acquire_timeout(std::time::Duration::from_secs(10))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if is_sqlite {
                        connection.execute("PRAGMA busy_timeout = 10000").await?;
                        connection.execute("PRAGMA journal_mode = WAL").await?;
                        // Statement journals and sorts in memory: a temporary file per
                        // statement made the kernel's inode allocation a tenth of a big ingest.
                        connection.execute("PRAGMA temp_store = MEMORY").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| Error::Connect { url: slipway_core::redact::urls(url), source })?;
        let store = Store { pool, url: url.to_owned(), sqlite: is_sqlite, writer: std::sync::Arc::default() };
        migrations::apply(&store.pool, is_sqlite).await.map_err(|error| match error {
            Error::Query(source) => Error::Connect { url: slipway_core::redact::urls(url), source },
            other => other,
        })?;
        Ok(store)
    }

    /// The URL it was opened with (with any password in it: show it through
    /// `slipway_core::redact::urls`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write: see [`begin_write`].
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        begin_write(&self.pool, self.sqlite).await
    }

    /// Closes every connection (waits for queries in flight).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Begins a transaction that reads and then writes. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so it waits for other writers (the busy timeout) instead of failing
/// with SQLITE_BUSY when it upgrades from reading to writing while another process wrote.
pub(crate) async fn begin_write(
    pool: &AnyPool,
    sqlite: bool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if sqlite { pool.begin_with("BEGIN IMMEDIATE").await } else { pool.begin().await }
}

fn fs_create(path: &Path) -> Result<(), Error> {
    // The error names the path itself, so std's error (without it) is the source.
    #[expect(clippy::disallowed_methods, reason = "Error::Directory names the path")]
    std::fs::create_dir_all(path).map_err(|source| Error::Directory { path: path.to_path_buf(), source })
}

/// The `store:` section of slipway.yaml.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct StoreSection {
    /// `sqlite:PATH` or `postgres://...`; default `sqlite:.slipway/state.db` in the project.
    pub url: Option<String>,
}
