//! What the server does besides answering: configuration reload (the file changed, or SIGHUP),
//! configuration sync (at start, after reloads, releases and resets, and every minute), the
//! reaper, the janitor and the request queue's garbage collection.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use slipway_store::leases::{Acquire, Acquired};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::{Options, Shared, now_nanos};
use crate::config::{self, Config, Janitor};

/// The owner the janitor acquires and releases as (Boskos's janitor uses the same).
pub(crate) const JANITOR: &str = "Janitor";
/// How often the configuration is synced even when nothing asked for it.
const SYNC_EVERY: Duration = Duration::from_secs(60);
/// The least time between two syncs that something asked for.
const SYNC_GAP: Duration = Duration::from_millis(200);
/// How often expired queue entries are removed.
const GC_EVERY: Duration = Duration::from_secs(60);

/// Why the background loop woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Tick,
    /// A release or reset asked for a sync.
    Resync,
    /// SIGHUP: read the configuration again.
    Hangup,
}

/// Applies the configuration to the store once.
pub(crate) async fn sync(shared: &Shared) -> Result<(), slipway_store::Error> {
    let config = shared.config();
    let now = now_nanos();
    let current = shared.store.leases(None).await?;
    let changes = crate::sync::plan(&config, &current, now, |_| super::dynamic_name());
    if !changes.is_empty() {
        shared.store.lease_apply(&changes, now).await?;
    }
    Ok(())
}

/// How often the loop looks: often enough for the shortest reaper expiry, at most each second.
fn tick_of(config: &Config) -> Duration {
    let shortest = config.entries.iter().filter(|entry| entry.reaper.enabled).map(|entry| entry.reaper.expire).min();
    shortest
        .map_or(Duration::from_secs(1), |expire| (expire / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)))
}

/// When the file was last changed; `None` when it cannot be read (then it is not reloaded).
fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}

pub(crate) async fn run(shared: Shared, options: Options, stop: CancellationToken) {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut seen = modified(&options.config_path);
    let started = tokio::time::Instant::now();
    let (mut last_gc, mut last_sync) = (started, started);
    let mut last_reap: BTreeMap<String, tokio::time::Instant> = BTreeMap::new();
    let janitors = Janitors::default();
    let mut wanted = false;
    // One timer for the whole loop: releases wake it far more often than it ticks, and a
    // timer made anew at each wake would never fire under load.
    let mut ticks = ticker(&shared.config());
    loop {
        let wake = tokio::select! {
            () = stop.cancelled() => break,
            _ = ticks.tick() => Wake::Tick,
            () = shared.resync.notified() => Wake::Resync,
            Some(()) = async { match hangup.as_mut() { Some(signal) => signal.recv().await, None => std::future::pending().await } } => Wake::Hangup,
        };
        let now = tokio::time::Instant::now();
        if wake == Wake::Resync {
            // A busy server releases thousands of times a second: one sync per SYNC_GAP at
            // most; a sync asked for sooner waits for the next tick.
            wanted = true;
            if now.duration_since(last_sync) >= SYNC_GAP {
                wanted = false;
                last_sync = now;
                sync_and_say(&shared).await;
            }
            continue;
        }
        let changed = modified(&options.config_path);
        if wake == Wake::Hangup || changed != seen {
            seen = changed;
            wanted = true;
            match config::load(&options.config_path) {
                Ok(config) => {
                    shared.log.say(&format!("configuration reloaded from {}", options.config_path.display()));
                    ticks = ticker(&config);
                    shared.set_config(config);
                }
                Err(error) => shared.log.say(&format!(
                    "configuration not reloaded, the one in use stays: {}",
                    slipway_core::errors::chain(&error)
                )),
            }
        }
        if wanted || now.duration_since(last_sync) >= SYNC_EVERY {
            wanted = false;
            last_sync = now;
            sync_and_say(&shared).await;
        }
        reap(&shared, &mut last_reap).await;
        janitors.start(&shared, &options).await;
        if now.duration_since(last_gc) >= GC_EVERY {
            last_gc = now;
            if let Err(error) = shared.store.lease_queue_gc(now_nanos()).await {
                shared.log.say(&format!("request queue cleanup failed: {}", slipway_core::errors::chain(&error)));
            }
        }
    }
    janitors.wait().await;
}

/// The loop's timer for `config` (see [`tick_of`]).
fn ticker(config: &Config) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(tick_of(config));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

async fn sync_and_say(shared: &Shared) {
    if let Err(error) = sync(shared).await {
        shared.log.say(&format!("configuration sync failed: {}", slipway_core::errors::chain(&error)));
    }
}

/// Takes back, per type, held resources not heartbeated within the type's expiry.
async fn reap(shared: &Shared, last: &mut BTreeMap<String, tokio::time::Instant>) {
    let config = shared.config();
    for entry in config.entries.iter().filter(|entry| entry.reaper.enabled) {
        let every = (entry.reaper.expire / 4).clamp(Duration::from_millis(50), Duration::from_secs(60));
        let now = tokio::time::Instant::now();
        if last.get(&entry.kind).is_some_and(|at| now.duration_since(*at) < every) {
            continue;
        }
        last.insert(entry.kind.clone(), now);
        let wall = now_nanos();
        let stale_before = wall.saturating_sub(i64::try_from(entry.reaper.expire.as_nanos()).unwrap_or(i64::MAX));
        for state in &entry.reaper.states {
            match shared.store.lease_reset(&entry.kind, state, stale_before, &entry.reaper.dest, wall).await {
                Ok(reset) => {
                    for (name, owner) in &reset {
                        shared.log.say(&format!(
                            "reaper: {name} ({}) was held by {owner} in {state} without a heartbeat for {}; now {}",
                            entry.kind,
                            slipway_job_model::duration::format(entry.reaper.expire),
                            entry.reaper.dest
                        ));
                    }
                }
                Err(error) => shared.log.say(&format!(
                    "reaper failed for {}: {}",
                    entry.kind,
                    slipway_core::errors::chain(&error)
                )),
            }
        }
    }
}

/// The janitor's cleanups in flight, per type.
#[derive(Default)]
struct Janitors {
    running: std::sync::Mutex<BTreeMap<String, Arc<tokio::sync::Semaphore>>>,
    tasks: tokio_util::task::TaskTracker,
}

impl Janitors {
    /// Starts a cleanup for each dirty resource of a type with a janitor, as many at once as
    /// its pool allows.
    async fn start(&self, shared: &Shared, options: &Options) {
        let config = shared.config();
        for entry in &config.entries {
            let Some(janitor) = &entry.janitor else { continue };
            let semaphore = match self.running.lock() {
                Ok(mut running) => running
                    .entry(entry.kind.clone())
                    .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(janitor.pool)))
                    .clone(),
                Err(_) => continue,
            };
            while let Ok(permit) = semaphore.clone().try_acquire_owned() {
                let request = Acquire {
                    kind: &entry.kind,
                    state: "dirty",
                    dest: "cleaning",
                    owner: JANITOR,
                    request_id: "",
                    now: now_nanos(),
                    ttl: 0,
                    on_demand: None,
                };
                match shared.store.lease_acquire(&request).await {
                    Ok(Acquired::Leased { lease, .. }) => {
                        let (shared, janitor, logs, expire) =
                            (shared.clone(), janitor.clone(), options.janitor_logs.clone(), entry.reaper.expire);
                        self.tasks.spawn(async move {
                            clean(&shared, &janitor, &logs, lease, expire).await;
                            drop(permit);
                        });
                    }
                    Ok(Acquired::NotAvailable { .. }) => break,
                    Err(error) => {
                        shared.log.say(&format!(
                            "janitor could not take a dirty {}: {}",
                            entry.kind,
                            slipway_core::errors::chain(&error)
                        ));
                        break;
                    }
                }
            }
        }
    }

    async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// The environment a janitor command gets for `lease`.
pub(crate) fn janitor_environment(lease: &slipway_store::leases::Lease) -> Vec<(String, String)> {
    let mut environment = vec![
        ("BOSKOS_RESOURCE".to_owned(), lease.name.clone()),
        ("BOSKOS_RESOURCE_TYPE".to_owned(), lease.kind.clone()),
        ("BOSKOS_USERDATA".to_owned(), serde_json::to_string(&lease.userdata).unwrap_or_default()),
    ];
    for (key, value) in &lease.userdata {
        let variable: String =
            key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        environment.push((format!("BOSKOS_USERDATA_{variable}"), value.clone()));
    }
    environment
}

/// Runs the janitor's command for `lease` (held in `cleaning`), heartbeating while it runs;
/// releases it `free` when the command succeeds and `dirty` otherwise. The output is appended
/// to `<logs>/<name>.log`.
async fn clean(
    shared: &Shared,
    janitor: &Janitor,
    logs: &std::path::Path,
    lease: slipway_store::leases::Lease,
    expire: Duration,
) {
    let Some((program, arguments)) = janitor.command.split_first() else { return };
    let output = tokio::process::Command::new(program)
        .args(arguments)
        .envs(janitor_environment(&lease))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::pin!(output);
    let beat = (expire / 3).clamp(Duration::from_millis(20), Duration::from_secs(300));
    let result = loop {
        tokio::select! {
            result = &mut output => break result,
            () = tokio::time::sleep(beat) => {
                let _ = shared.store.lease_update(&lease.name, JANITOR, "cleaning", &BTreeMap::new(), now_nanos()).await;
            }
        }
    };
    let (dest, said) = match &result {
        Ok(output) if output.status.success() => ("free", "cleaned".to_owned()),
        Ok(output) => ("dirty", format!("cleanup failed ({})", output.status)),
        Err(error) => ("dirty", format!("cleanup could not start `{program}`: {error}")),
    };
    shared.log.say(&format!("janitor: {} ({}): {said}; now {dest}", lease.name, lease.kind));
    if let Err(error) =
        keep_output(logs, &lease.name, &said, result.as_ref().ok(), &lease.userdata.values().collect::<Vec<_>>()).await
    {
        shared.log.say(&format!("janitor could not keep the output of {}: {error}", lease.name));
    }
    let lifespans = super::lifespans(&shared.config());
    let released = shared.store.lease_release(&lease.name, dest, JANITOR, now_nanos(), &lifespans).await;
    if let Err(error) = released {
        shared.log.say(&format!("janitor could not release {}: {}", lease.name, slipway_core::errors::chain(&error)));
    }
    shared.resync.notify_one();
}

async fn keep_output(
    logs: &std::path::Path,
    name: &str,
    said: &str,
    output: Option<&std::process::Output>,
    secrets: &[&String],
) -> std::io::Result<()> {
    fs_err::tokio::create_dir_all(logs).await?;
    let mut file =
        fs_err::tokio::OpenOptions::new().create(true).append(true).open(logs.join(format!("{name}.log"))).await?;
    let header = format!("=== {} {said}\n", crate::resource::rfc3339(now_nanos()));
    file.write_all(header.as_bytes()).await?;
    if let Some(output) = output {
        // The command sees the lease's credentials; its kept output never shows them.
        let masker = slipway_core::redact::Masker::new(secrets);
        for stream in [&output.stdout, &output.stderr] {
            file.write_all(masker.text(&String::from_utf8_lossy(stream)).as_bytes()).await?;
        }
    }
    file.flush().await
}
