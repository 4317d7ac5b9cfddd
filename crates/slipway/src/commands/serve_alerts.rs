//! `serve`'s alerts: every [`LOOK_EVERY`], the alerts of every job with results (by
//! `results.alerts` of slipway.yaml, as `results alerts` finds them), and each newly opened one
//! posted once to `results.alerts.webhook`, across replicas (the store records what was sent).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use slipway_results::alerts::{self, Thresholds};
use slipway_results::config::{DEFAULT_BUILDS, DEFAULT_FAILURES, DEFAULT_PASSES};
use slipway_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config_file::Globals;

/// How often the alerts are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(30);

/// What each job's results were at the last look that sent everything it found: a job whose
/// results have not changed since has no new alert, and is not read again.
/// The value is the job's results stamp and the settings it was looked at with.
type Seen = HashMap<String, ((i64, i64), (u32, u32, u32))>;

/// Looks at once, then every [`LOOK_EVERY`], until `stop`.
pub(super) async fn run(store: Store, globals: Globals, stop: CancellationToken) {
    let mut seen = Seen::new();
    loop {
        if let Err(error) = look(&store, &globals, &mut seen).await {
            let _ = writeln!(crate::output::stderr(), "warning: alerts: {}", crate::errors::render(&error));
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}

/// One look: the open alerts, and the ones not sent yet posted. Read from slipway.yaml each
/// time, so a webhook added or changed takes effect without a restart.
async fn look(store: &Store, globals: &Globals, seen: &mut Seen) -> anyhow::Result<()> {
    let loaded = crate::config_file::load(globals)?;
    let configured = &loaded.file.results.alerts;
    let Some(webhook) = configured.webhook.as_deref() else {
        seen.clear();
        return Ok(());
    };
    let url = super::results_views::webhook_url(webhook)?;
    let thresholds = Thresholds {
        failures_to_open: configured.failures.unwrap_or(DEFAULT_FAILURES),
        passes_to_close: configured.passes.unwrap_or(DEFAULT_PASSES).max(1),
    };
    let builds = configured.builds.unwrap_or(DEFAULT_BUILDS);
    // Only the jobs whose results (or the settings) changed since the last look.
    let settings = (thresholds.failures_to_open, thresholds.passes_to_close, builds);
    let mut grids = Vec::new();
    let mut stamps = Vec::new();
    for job in super::results_views::jobs(store, None).await? {
        let stamp = (store.results_stamp(&job).await?, settings);
        if seen.get(&job) == Some(&stamp) {
            continue;
        }
        grids.push(super::results_views::grid_of(store, &job, builds, None).await?);
        stamps.push((job, stamp));
    }
    if grids.is_empty() {
        return Ok(());
    }
    let mut report = alerts::find(&grids, thresholds);
    let now = jiff::Timestamp::now().as_second();
    let mut claimed = Vec::new();
    for alert in report.alerts.drain(..) {
        let test = alert.test.clone().unwrap_or_default();
        if store.claim_alert_notice(&alert.job, &test, &alert.first_failure.build_id, now).await? {
            claimed.push(alert);
        }
    }
    if claimed.is_empty() {
        seen.extend(stamps);
        return Ok(());
    }
    report.alerts = claimed;
    let mut stderr = crate::output::stderr();
    match super::results_views::post(&url, &alerts::webhook_message(&report)).await {
        Ok(()) => {
            seen.extend(stamps);
            let _ = writeln!(
                stderr,
                "posted {} new alert(s) to {}",
                report.alerts.len(),
                super::results_views::shown(&url)
            );
            Ok(())
        }
        Err(error) => {
            // Not sent: the next look (here or on another replica) tries again.
            for alert in &report.alerts {
                let test = alert.test.clone().unwrap_or_default();
                let _ = store.unclaim_alert_notice(&alert.job, &test, &alert.first_failure.build_id).await;
            }
            Err(error)
        }
    }
}
