//! `slipway results ingest`.

use std::io::Write;

use slipway_junit::{Options, Report};
use slipway_store::Store;

use crate::cli::Format;
use crate::cli_results::IngestArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::{output, settings_jobs};

pub(super) fn run(args: IngestArgs, globals: &Globals) -> anyhow::Result<u8> {
    let IngestArgs { paths, job, build, glob, database, format } = args;
    if job.trim().is_empty() {
        return Err(UsageError("--job must not be empty".to_owned()).into());
    }
    if build.as_deref().is_some_and(|build| build.trim().is_empty()) {
        return Err(UsageError("--build must not be empty".to_owned()).into());
    }
    let (url, warnings) = settings_jobs::database(globals, database)?;
    super::warn(&warnings);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX));
    let options = Options { job: Some(job), build, now, environment: None, glob };
    let report = super::runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let progress = crate::progress::for_stderr();
        let report = slipway_junit::ingest_showing(&store, &paths, &options, progress.as_ref()).await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    let mut stderr = crate::output::stderr();
    for problem in &report.problems {
        writeln!(stderr, "error: {problem}")?;
    }
    if !report.not_junit.is_empty() {
        let shown: Vec<&str> = report.not_junit.iter().take(3).map(|skipped| skipped.file.as_str()).collect();
        let more = report.not_junit.len().saturating_sub(shown.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        writeln!(
            stderr,
            "note: left out {} XML {} that {} not JUnit: {}{more}",
            report.not_junit.len(),
            if report.not_junit.len() == 1 { "file" } else { "files" },
            if report.not_junit.len() == 1 { "is" } else { "are" },
            shown.join(", ")
        )?;
    }
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, slipway_junit::INGEST_SCHEMA, &report)?,
        Format::Text => text(&mut stdout, &report)?,
    }
    Ok(report.exit_code())
}

/// One line per build, then the counts.
fn text(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    for build in &report.ingested {
        writeln!(
            out,
            "{:<9} {}/{}: {} {} ({} pass, {} fail, {} flaky, {} skip) from {} JUnit {}",
            build.outcome,
            build.job,
            build.build_id,
            build.tests,
            plural(build.tests, "test", "tests"),
            build.pass,
            build.fail,
            build.flaky,
            build.skip,
            build.files,
            plural(build.files, "file", "files"),
        )?;
    }
    let builds = &report.builds;
    let total = builds.inserted + builds.updated + builds.unchanged;
    let problems = report.problems.len();
    writeln!(
        out,
        "{total} {} ({} inserted, {} updated, {} unchanged), {} JUnit {}, {} {}; {problems} {}",
        plural(total, "build", "builds"),
        builds.inserted,
        builds.updated,
        builds.unchanged,
        report.files,
        plural(report.files, "file", "files"),
        report.tests,
        plural(report.tests, "test", "tests"),
        plural(problems, "problem", "problems"),
    )
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}
