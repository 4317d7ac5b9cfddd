//! Resolving the lease commands' arguments and `slipway.yaml`'s `leases:` section into the
//! settings they run on, once per command, with the configuration's warnings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use slipway_lease::client::Client;

use crate::cli_lease::{LeaseClientArgs, LeaseServeArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::warnings::Warning;

/// Everything `lease serve` runs on.
pub(crate) struct ServeSettings {
    pub(crate) config_path: PathBuf,
    pub(crate) config: slipway_lease::config::Config,
    pub(crate) listen: SocketAddr,
    pub(crate) metrics_listen: Option<SocketAddr>,
    pub(crate) token: Option<String>,
    pub(crate) database_url: String,
    pub(crate) janitor_logs: PathBuf,
    pub(crate) warnings: Vec<Warning>,
}

pub(crate) fn serve(args: LeaseServeArgs, globals: &Globals) -> anyhow::Result<ServeSettings> {
    let LeaseServeArgs { config, listen, metrics_listen, token_file, janitor_logs, database } = args;
    let loaded = crate::config_file::load(globals)?;
    let section = &loaded.file.leases;
    let config_path = config
        .or_else(|| section.config.as_ref().map(|path| loaded.root.join(path)))
        .unwrap_or_else(|| loaded.root.join("resources.yaml"));
    let config = slipway_lease::config::load(&config_path)?;
    let listen_text = listen.or_else(|| section.listen.clone()).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listen = address(&listen_text, "--listen")?;
    let metrics_listen = metrics_listen.map(|text| address(&text, "--metrics-listen")).transpose()?;
    let token_file = token_file.or_else(|| section.token_file.as_ref().map(|path| loaded.root.join(path)));
    let token = token_file.as_deref().map(read_token).transpose()?;
    for address in std::iter::once(&listen).chain(metrics_listen.as_ref()) {
        if token.is_none() && slipway_lease::server::needs_token(address) {
            return Err(UsageError(format!(
                "refusing to serve the lease API on {address} without a token: anyone who reaches it could take or release leases; give --token-file FILE (clients send it as a bearer token, or as Basic's password), or listen on 127.0.0.1"
            ))
            .into());
        }
    }
    let database_url = crate::settings_jobs::database_url_of(&loaded, database.database_url);
    Ok(ServeSettings {
        config_path,
        config,
        listen,
        metrics_listen,
        token,
        database_url,
        janitor_logs: janitor_logs.unwrap_or_else(|| loaded.root.join(".slipway/lease-janitor")),
        warnings: loaded.warnings,
    })
}

/// The lease server `slipway serve` runs beside its UI: when `leases.config` names a
/// resources file, or the project has `resources.yaml`.
pub(crate) struct InServe {
    pub(crate) config_path: PathBuf,
    pub(crate) config: slipway_lease::config::Config,
    /// `leases.token_file`, for when `serve` has no `--token-file`.
    pub(crate) token_file: Option<PathBuf>,
    pub(crate) janitor_logs: PathBuf,
}

pub(crate) fn in_serve(globals: &Globals) -> anyhow::Result<Option<InServe>> {
    let loaded = crate::config_file::load(globals)?;
    let section = &loaded.file.leases;
    let config_path = match &section.config {
        Some(path) => loaded.root.join(path),
        None => {
            let default = loaded.root.join("resources.yaml");
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    let config = slipway_lease::config::load(&config_path)?;
    Ok(Some(InServe {
        config_path,
        config,
        token_file: section.token_file.as_ref().map(|path| loaded.root.join(path)),
        janitor_logs: loaded.root.join(".slipway/lease-janitor"),
    }))
}

pub(crate) fn read_token_file(path: &Path) -> anyhow::Result<String> {
    read_token(path)
}

fn address(text: &str, flag: &str) -> anyhow::Result<SocketAddr> {
    text.parse().map_err(|_| {
        UsageError(format!("{flag} `{text}` is not an address: give IP:PORT, such as 127.0.0.1:8080")).into()
    })
}

fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = fs_err::read_to_string(path).map_err(|error| UsageError(format!("cannot read the token: {error}")))?;
    let token = text.trim().to_owned();
    if token.is_empty() {
        return Err(UsageError(format!("the token file `{}` is empty", path.display())).into());
    }
    Ok(token)
}

/// A client of the configured server, acting as the configured owner, and the `leases.env`
/// mappings.
pub(crate) struct ClientSettings {
    pub(crate) client: Client,
    pub(crate) env: BTreeMap<String, BTreeMap<String, String>>,
    pub(crate) warnings: Vec<Warning>,
}

pub(crate) fn client(args: LeaseClientArgs, globals: &Globals) -> anyhow::Result<ClientSettings> {
    let LeaseClientArgs { server, owner, token_file } = args;
    let loaded = crate::config_file::load(globals)?;
    let server = server
        .or_else(|| loaded.file.leases.server.clone())
        .or_else(|| std::env::var("BOSKOS_HOST").ok().filter(|host| !host.is_empty()))
        .ok_or_else(|| {
            UsageError(
                "no lease server: give --server HOST:PORT, set `leases.server` in slipway.yaml, or BOSKOS_HOST"
                    .to_owned(),
            )
        })?;
    let owner = owner.unwrap_or_else(default_owner);
    let token = token_file
        .or_else(|| loaded.file.leases.token_file.as_ref().map(|path| loaded.root.join(path)))
        .as_deref()
        .map(read_token)
        .transpose()?;
    let client = Client::new(&server, &owner, token)?;
    Ok(ClientSettings { client, env: loaded.file.leases.env.clone(), warnings: loaded.warnings })
}

/// `$JOB_NAME` (as in a Prow job), else `slipway-$USER`.
fn default_owner() -> String {
    std::env::var("JOB_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("slipway-{}", std::env::var("USER").unwrap_or_else(|_| "user".to_owned())))
}

/// A duration flag (`5m`, `30s`, `0s`).
pub(crate) fn duration(text: &str, flag: &str) -> anyhow::Result<Duration> {
    slipway_lease::config::parse_duration(text).map_err(|message| UsageError(format!("{flag}: {message}")).into())
}
