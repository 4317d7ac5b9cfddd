//! `slipway triage` (Triage's files in, Triage's `failure_data.json` out) and `slipway results
//! clusters` (the same clustering over the ingested history).

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use slipway_core::exit;
use slipway_triage::history::{self, Report};
use slipway_triage::output::{self, RenderOptions};
use slipway_triage::{Clustering, Normalizer, Options, input};

use crate::cli::Format;
use crate::cli_results::{ClustersArgs, TriageArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;

/// The JSON schema of `results clusters`.
const SCHEMA: &str = "slipway.results.clusters/v1";

fn normalizer(name: &str) -> anyhow::Result<Normalizer> {
    Normalizer::parse(name).ok_or_else(|| UsageError(format!("unknown normalizer `{name}` (slipway or triage)")).into())
}

pub(super) fn triage(args: TriageArgs, globals: &Globals) -> anyhow::Result<u8> {
    let _ = globals;
    let TriageArgs {
        builds,
        tests,
        output: destination,
        output_slices,
        previous,
        owners,
        normalizer: rules,
        max_cluster_text_length,
        max_failure_text_length,
        num_workers,
    } = args;
    let started = Instant::now();
    let options = Options { max_cluster_text_length, ..Options::for_normalizer(normalizer(&rules)?) };
    if let Some(pattern) = &output_slices
        && !pattern.contains("PREFIX")
    {
        return Err(slipway_triage::Error::SlicePattern { pattern: pattern.clone() }.into());
    }
    let builds = input::read_builds(&builds)?;
    let mut failures = Vec::new();
    for path in &tests {
        input::read_failures(path, &mut failures)?;
    }
    let previous = previous.as_deref().map(output::read_previous_keys).transpose()?.unwrap_or_default();
    let owners = owners.as_deref().map(output::read_owners).transpose()?.unwrap_or_default();
    let render_options = RenderOptions { max_failure_text_length, owners };
    let (clustering, written) = slipway_triage::with_threads(num_workers, || {
        let clustering = slipway_triage::cluster(&failures, &previous, &options);
        let written =
            output::write(&builds, &failures, &clustering, &render_options, &destination, output_slices.as_deref())?;
        Ok::<_, slipway_triage::Error>((clustering, written))
    })?;
    let mut stderr = crate::output::stderr();
    let tests = failures.iter().map(|failure| failure.test.as_str()).collect::<BTreeSet<_>>().len();
    writeln!(
        stderr,
        "clustered {} of {} into {} ({} within tests{}) in {:.1} s",
        plural(failures.len(), "failure"),
        plural(tests, "test"),
        plural(clustering.clusters.len(), "cluster"),
        clustering.local_clusters,
        singletons_note(&clustering),
        started.elapsed().as_secs_f64(),
    )?;
    if !previous.is_empty() {
        writeln!(
            stderr,
            "seeded with {} of {} previous keys ({} no longer normalized as before)",
            clustering.seeded,
            previous.len(),
            clustering.lost
        )?;
    }
    let slices = written.slices;
    let also = if slices > 0 { format!(" and {}", plural(slices, "slice")) } else { String::new() };
    writeln!(stderr, "wrote {}{also}", destination.display())?;
    Ok(exit::SUCCESS)
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

fn singletons_note(clustering: &Clustering) -> String {
    match clustering.clusters.iter().filter(|cluster| cluster.is_singleton()).count() {
        0 => String::new(),
        singletons => format!(", {singletons} of a single failure, kept"),
    }
}

pub(super) fn clusters(args: ClustersArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ClustersArgs { job, days, limit, normalizer: rules, database, format } = args;
    let options = Options::for_normalizer(normalizer(&rules)?);
    let since = if days == 0 {
        i64::MIN
    } else {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
        i64::try_from(now).unwrap_or(i64::MAX) - i64::from(days) * 24 * 60 * 60
    };
    let history = super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        if let Some(job) = &job {
            let known = store.result_jobs().await?;
            if !known.contains(job) {
                let hint = if known.is_empty() {
                    "no job has results yet (`slipway results ingest` reads JUnit files)".to_owned()
                } else {
                    format!("jobs with results: {}", known.join(", "))
                };
                return Err(UsageError(format!("no results for job `{job}`; {hint}")).into());
            }
        }
        anyhow::Ok(store.failures(since, job.as_deref()).await?)
    })?;
    let report = history::report(history, &options, limit, days, job.as_deref());
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => crate::output::json_with_schema(&mut stdout, SCHEMA, &report)?,
        Format::Text => text(&mut stdout, &report)?,
    }
    Ok(exit::SUCCESS)
}

/// Biggest clusters first: counts, tests, jobs, and the normalized text.
fn text(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    const LINES: usize = 6;
    const WIDTH: usize = 160;
    let window = if report.days == 0 { "every build".to_owned() } else { format!("the last {} days", report.days) };
    let mut stderr = crate::output::stderr();
    writeln!(
        stderr,
        "{} of {} in {} ({} of a single failure), {window}{}",
        plural(report.failures, "failure"),
        plural(report.tests, "test"),
        plural(report.total_clusters, "cluster"),
        report.singletons,
        if report.clusters.len() < report.total_clusters {
            format!("; the {} biggest:", report.clusters.len())
        } else {
            String::new()
        },
    )?;
    for cluster in &report.clusters {
        let singleton = if cluster.singleton { "  singleton" } else { "" };
        writeln!(out, "{}  id {}{singleton}", plural(cluster.failures, "failure"), cluster.id)?;
        let tests: Vec<String> =
            cluster.tests.iter().map(|test| format!("{} ({})", test.name, test.failures)).collect();
        writeln!(out, "  tests ({}): {}", tests.len(), tests.join(", "))?;
        let jobs: Vec<String> =
            cluster.jobs.iter().map(|(job, builds)| format!("{job} ({})", plural(builds.len(), "build"))).collect();
        writeln!(out, "  jobs ({}): {}", jobs.len(), jobs.join(", "))?;
        let lines: Vec<&str> = cluster.key.lines().collect();
        for line in lines.iter().take(LINES) {
            let shown: String = line.chars().take(WIDTH).collect();
            let cut = if shown.len() < line.len() { "…" } else { "" };
            writeln!(out, "  | {shown}{cut}")?;
        }
        if lines.len() > LINES {
            writeln!(out, "  | … ({} more lines)", lines.len() - LINES)?;
        }
        if cluster.key.is_empty() {
            writeln!(out, "  | (empty failure text)")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
