//! `slipway results grid|flakes|alerts`: read jobs' history from the store, hand it to
//! slipway-results, and write what comes back (stdout, an HTML file, a webhook).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use slipway_core::exit;
use slipway_results::alerts::{self, Thresholds};
use slipway_results::{BuildResults, Grid, flakes, grid, html, terminal};
use slipway_store::Store;

use crate::cli::Format;
use crate::cli_results::{AlertsArgs, FlakesArgs, GridArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::output;

/// How long a webhook may take to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// The jobs to look at: `job` if the store has results for it, else every job with results.
pub(super) async fn jobs(store: &Store, job: Option<String>) -> anyhow::Result<Vec<String>> {
    let known = store.result_jobs().await?;
    match job {
        None => Ok(known),
        Some(job) if known.contains(&job) => Ok(vec![job]),
        Some(job) => Err(unknown_job(&job, &known)),
    }
}

fn unknown_job(job: &str, known: &[String]) -> anyhow::Error {
    let hint = if known.is_empty() {
        "no job has results yet (`slipway results ingest` reads JUnit files)".to_owned()
    } else {
        format!("jobs with results: {}", known.join(", "))
    };
    UsageError(format!("no results for job `{job}`; {hint}")).into()
}

/// The grid of `job` over its newest `limit` builds (0: all) that started at or after `since`.
pub(super) async fn grid_of(store: &Store, job: &str, limit: u32, since: Option<i64>) -> anyhow::Result<Grid> {
    let builds = store.builds(job, limit).await?;
    let mut history = Vec::with_capacity(builds.len());
    for build in builds.into_iter().filter(|build| flakes::in_window(build.started, since)) {
        let tests = store.build_tests(job, &build.build_id).await?;
        history.push(BuildResults { build, tests });
    }
    Ok(grid::build(job, &history))
}

/// Colour for people at a terminal, unless NO_COLOR (no-color.org) or a dumb terminal says no.
fn colour() -> bool {
    crate::output::stdout_is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
}

pub(super) fn grid(args: GridArgs, globals: &Globals) -> anyhow::Result<u8> {
    let GridArgs { job, html: html_file, builds, database, format } = args;
    let view = super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        let job = jobs(&store, Some(job)).await?.remove(0);
        grid_of(&store, &job, builds, None).await
    })?;
    if let Some(path) = &html_file {
        fs_err::write(path, html::page(&view)).context("could not write the HTML grid")?;
        writeln!(crate::output::stderr(), "wrote {}", path.display())?;
    }
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, grid::SCHEMA, &view)?,
        Format::Text => {
            let style = terminal::Style { colour: colour(), ..terminal::Style::default() };
            write!(stdout, "{}", terminal::grid(&view, style))?;
        }
    }
    Ok(exit::SUCCESS)
}

pub(super) fn flakes(args: FlakesArgs, globals: &Globals) -> anyhow::Result<u8> {
    let FlakesArgs { job, days, database, format } = args;
    let since = (days > 0).then(|| now() - i64::from(days) * 86_400);
    let report = super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        let mut grids = Vec::new();
        for job in jobs(&store, job).await? {
            grids.push(grid_of(&store, &job, 0, since).await?);
        }
        anyhow::Ok(flakes::analyse(&grids, since))
    })?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, flakes::SCHEMA, &report)?,
        Format::Text => write!(stdout, "{}", flakes::text(&report))?,
    }
    Ok(exit::SUCCESS)
}

pub(super) fn alerts(args: AlertsArgs, globals: &Globals) -> anyhow::Result<u8> {
    let AlertsArgs { job, failures, passes, builds, webhook, database, format } = args;
    // Flags first, then results.alerts in slipway.yaml (and its environment variable), then
    // TestGrid's defaults.
    let loaded = crate::config_file::load(globals)?;
    let configured = &loaded.file.results.alerts;
    configured.check().map_err(|(key, message)| -> anyhow::Error {
        match loaded.invalid_key(key, &message) {
            Some(located) => located.into(),
            None => UsageError(format!("{key}: {message}")).into(),
        }
    })?;
    use slipway_results::config::{DEFAULT_BUILDS, DEFAULT_FAILURES, DEFAULT_PASSES};
    let failures = failures.or(configured.failures).unwrap_or(DEFAULT_FAILURES);
    let passes = passes.or(configured.passes).unwrap_or(DEFAULT_PASSES);
    let builds = builds.or(configured.builds).unwrap_or(DEFAULT_BUILDS);
    let webhook = webhook.or_else(|| configured.webhook.clone());
    let webhook = webhook.as_deref().map(webhook_url).transpose()?;
    let thresholds = Thresholds { failures_to_open: failures, passes_to_close: passes };
    let runtime = super::runtime()?;
    let report = runtime.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        let mut grids = Vec::new();
        for job in jobs(&store, job).await? {
            grids.push(grid_of(&store, &job, builds, None).await?);
        }
        anyhow::Ok(alerts::find(&grids, thresholds))
    })?;
    {
        let mut stdout = crate::output::stdout();
        match format {
            Format::Json => output::json_with_schema(&mut stdout, alerts::SCHEMA, &report)?,
            Format::Text => write!(stdout, "{}", alerts::text(&report))?,
        }
        stdout.flush()?;
    }
    if let Some(url) = webhook
        && !report.alerts.is_empty()
    {
        runtime.block_on(post(&url, &alerts::webhook_message(&report)))?;
        writeln!(crate::output::stderr(), "posted {} to {}", plural_alerts(report.alerts.len()), shown(&url))?;
    }
    Ok(if report.alerts.is_empty() { exit::SUCCESS } else { exit::CHECK_FAILED })
}

fn plural_alerts(count: usize) -> String {
    if count == 1 { "1 alert".to_owned() } else { format!("{count} alerts") }
}

/// The webhook's URL, checked before any work: http or https.
pub(super) fn webhook_url(text: &str) -> anyhow::Result<reqwest::Url> {
    let url = reqwest::Url::parse(text).map_err(|error| UsageError(format!("invalid --webhook URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(UsageError("invalid --webhook URL: use http://HOST/... or https://HOST/...".to_owned()).into());
    }
    Ok(url)
}

/// The URL as messages show it: scheme, host and port only, since a webhook's path is often
/// its secret (Slack's is).
pub(super) fn shown(url: &reqwest::Url) -> String {
    let port = url.port().map(|port| format!(":{port}")).unwrap_or_default();
    format!("{}://{}{port}/…", url.scheme(), url.host_str().unwrap_or_default())
}

pub(super) async fn post(url: &reqwest::Url, message: &alerts::WebhookMessage<'_>) -> anyhow::Result<()> {
    let context = || format!("could not post the alerts to the webhook {}", shown(url));
    let client = reqwest::Client::builder().timeout(WEBHOOK_TIMEOUT).build().with_context(context)?;
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(message)?)
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .with_context(context)?;
    let status = response.status();
    if !status.is_success() {
        return Err(anyhow::anyhow!("the webhook answered {status}")).with_context(context);
    }
    Ok(())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

/// The dashboards of `results.dashboards` and of the catalog's jobs' TestGrid annotations.
pub(super) fn dashboards_of(
    globals: &Globals,
    catalog: &crate::settings_jobs::Catalog,
) -> anyhow::Result<Vec<slipway_results::dashboard::Dashboard>> {
    let loaded = crate::config_file::load(globals)?;
    let annotations: Vec<(String, std::collections::BTreeMap<String, String>)> =
        catalog.jobs.iter().map(|job| (job.job.name.clone(), job.job.annotations.clone())).collect();
    slipway_results::dashboard::assemble(&loaded.file.results.dashboards, &annotations).map_err(
        |error| -> anyhow::Error {
            match loaded.invalid_key(&error.key, &error.message) {
                Some(located) => located.into(),
                None => UsageError(error.to_string()).into(),
            }
        },
    )
}

pub(super) fn dashboard(args: crate::cli_results::DashboardArgs, globals: &Globals) -> anyhow::Result<u8> {
    use slipway_results::dashboard;
    let crate::cli_results::DashboardArgs { name, html: html_file, builds, prow, database, format } = args;
    let listing = crate::settings_jobs::list(globals, prow.paths)?;
    super::warn(&listing.warnings);
    let dashboards = dashboards_of(globals, &listing.catalog)?;
    let mut stdout = crate::output::stdout();
    let Some(name) = name else {
        if dashboards.is_empty() {
            writeln!(
                crate::output::stderr(),
                "no dashboards: add results.dashboards to slipway.yaml, or give --prow-config with jobs annotated testgrid-dashboards"
            )?;
        }
        match format {
            Format::Json => output::json_with_schema(
                &mut stdout,
                dashboard::SCHEMA,
                &serde_json::json!({ "dashboards": dashboards }),
            )?,
            Format::Text => {
                for dashboard in &dashboards {
                    let tabs: Vec<&str> = dashboard.tabs.iter().map(|tab| tab.name.as_str()).collect();
                    writeln!(stdout, "{} ({}): {}", dashboard.name, tabs.len(), tabs.join(", "))?;
                }
            }
        }
        return Ok(exit::SUCCESS);
    };
    let Some(chosen) = dashboards.iter().find(|dashboard| dashboard.name == name) else {
        let known: Vec<&str> = dashboards.iter().map(|dashboard| dashboard.name.as_str()).collect();
        return Err(UsageError(format!(
            "no dashboard `{name}`{}",
            if known.is_empty() { String::new() } else { format!("; there are: {}", known.join(", ")) }
        ))
        .into());
    };
    let views = super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        let mut views = Vec::new();
        for tab in &chosen.tabs {
            views.push(dashboard::view(tab, grid_of(&store, &tab.job, builds, None).await?));
        }
        anyhow::Ok(views)
    })?;
    if let Some(path) = &html_file {
        fs_err::write(path, html::dashboard_page(&chosen.name, &views))
            .context("could not write the HTML dashboard")?;
        writeln!(crate::output::stderr(), "wrote {}", path.display())?;
    }
    match format {
        Format::Json => output::json_with_schema(
            &mut stdout,
            dashboard::SCHEMA,
            &serde_json::json!({ "dashboard": chosen.name, "tabs": views }),
        )?,
        Format::Text => {
            writeln!(stdout, "{}", chosen.name)?;
            for view in &views {
                let status = serde_json::to_value(view.status)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let mailed =
                    view.tab.alert_email.as_deref().map(|email| format!("; alerts to {email}")).unwrap_or_default();
                writeln!(
                    stdout,
                    "  {status:<8} {} (job {}): {} of {} recent builds passed, {} tests, {} open {}{mailed}",
                    view.tab.name,
                    view.tab.job,
                    view.recent_passed,
                    view.recent_columns,
                    view.tests,
                    view.alerts.len(),
                    if view.alerts.len() == 1 { "alert" } else { "alerts" }
                )?;
            }
        }
    }
    Ok(exit::SUCCESS)
}
