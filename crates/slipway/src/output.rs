//! Rendering reports: text for people, JSON for scripts. stdout carries the result; notes and
//! warnings for people go to stderr.
//!
//! Commands write through [`stdout`] and [`stderr`], never `std::io::stdout()`: a reader that
//! stops reading (`slipway release verify | head`) closes the pipe, and the exit code must still
//! be the check's result, not an I/O error and not a pass. Once a stream's reader is gone, what
//! is written to it is dropped and the command carries on to its real exit code.

use slipway_core::retention::format_size as size;
use std::io::{self, Write};

use serde::Serialize;
use slipway_core::{Finding, Severity};
use slipway_oci::build::BuildReport;
use slipway_oci::verify::ImageReport;
use slipway_release::bump::BumpReport;
use slipway_release::check::SkippedReference;
use slipway_release::verify::VerifyReport;

/// One of the process's output streams, which treats a reader that went away as "nothing more
/// to show" rather than as an error.
pub(crate) struct Stream {
    inner: Box<dyn Write + Send>,
    closed: bool,
}

impl Write for Stream {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buffer.len());
        }
        match self.inner.write(buffer) {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buffer.len())
            }
            result => result,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            result => result,
        }
    }
}

/// The process's stdout, for data.
#[expect(clippy::disallowed_methods, reason = "the one place stdout is opened")]
pub(crate) fn stdout() -> Stream {
    Stream { inner: Box::new(io::stdout()), closed: false }
}

/// The process's stderr, for people.
#[expect(clippy::disallowed_methods, reason = "the one place stderr is opened")]
pub(crate) fn stderr() -> Stream {
    Stream { inner: Box::new(io::stderr()), closed: false }
}

/// Whether stdout is a terminal (colour and layout decisions).
#[expect(clippy::disallowed_methods, reason = "asks, does not write")]
pub(crate) fn stdout_is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stdout())
}

/// Whether stderr is a terminal (progress bars).
#[expect(clippy::disallowed_methods, reason = "asks, does not write")]
pub(crate) fn stderr_is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stderr())
}

/// Writes `value` as pretty JSON and a newline.
pub(crate) fn json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// The JSON schema of `image inspect` and `image verify`, which print one image's report.
pub(crate) const IMAGE_REPORT_SCHEMA: &str = "slipway.image.report/v1";

/// `report` with a `schema` field first, for reports that are also embedded in others (an image
/// report is an entry of `release verify`'s `registry.images`) and so carry none themselves.
pub(crate) fn json_with_schema(out: &mut dyn Write, schema: &str, report: &impl Serialize) -> io::Result<()> {
    #[derive(Serialize)]
    struct Versioned<'a, T> {
        schema: &'a str,
        #[serde(flatten)]
        report: &'a T,
    }
    json(out, &Versioned { schema, report })
}

/// One finding, compiler-style: `error: file:line: kind: found ..., expected ...`.
pub(crate) fn finding(out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
    let severity = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let kind =
        serde_json::to_value(finding.kind).ok().and_then(|kind| kind.as_str().map(str::to_owned)).unwrap_or_default();
    writeln!(
        out,
        "{severity}: {}: {kind}: found `{}`, expected `{}`",
        finding.location(),
        finding.found,
        finding.expected
    )?;
    if !finding.message.is_empty() {
        writeln!(out, "  {}", finding.message)?;
    }
    Ok(())
}

/// What was not checked, one line each: `file:line: kind: `text`: reason`.
pub(crate) fn skipped(out: &mut dyn Write, skipped: &[SkippedReference]) -> io::Result<()> {
    for item in skipped {
        let place = match item.line {
            Some(line) => format!("{}:{line}", item.file),
            None => item.file.clone(),
        };
        let kind = item.kind.map(|kind| format!("{}: ", kind.name())).unwrap_or_default();
        let text = if item.text.is_empty() { String::new() } else { format!("`{}`: ", item.text) };
        writeln!(out, "skipped: {place}: {kind}{text}{}", item.reason)?;
    }
    Ok(())
}

/// The text report of `release verify`; `verbose` lists what was not checked.
pub(crate) fn verify_text(out: &mut dyn Write, report: &VerifyReport, verbose: bool) -> io::Result<()> {
    let expected = &report.expected;
    let source = match (report.source.kind, &report.source.tag, &report.source.commit) {
        ("tag", Some(tag), Some(commit)) => format!("files at tag `{tag}` ({})", short(commit)),
        _ => format!("work tree of `{}`", report.directory),
    };
    writeln!(out, "release {} (from {}): {source}", expected.git_tag, report.version_from)?;
    let project = &report.project;
    if let Some(repository) = &project.repository {
        writeln!(out, "project repository: {repository} (from {})", project.repository_source)?;
    }
    if report.project.images.is_empty() {
        writeln!(out, "project images: none found (pass --image or set release.images)")?;
    }
    for image in &report.project.images {
        let how = if image.inferred { format!("inferred: {}", image.reason) } else { image.reason.clone() };
        writeln!(out, "project image: {} ({how})", image.repository)?;
    }
    if !report.findings.is_empty() {
        writeln!(out)?;
    }
    for item in &report.findings {
        finding(out, item)?;
    }
    if verbose && !report.skipped.is_empty() {
        writeln!(out)?;
        skipped(out, &report.skipped)?;
    }
    writeln!(out)?;
    let registry = if !report.registry.checked {
        "registry not checked (offline)".to_owned()
    } else if !report.registry.errors.is_empty() {
        format!(
            "{} of {} images could not be checked in their registry",
            report.registry.errors.len(),
            report.project.images.len()
        )
    } else {
        let images = report.registry.images.len();
        format!("{images} {} checked for {}", plural(images, "image", "images"), report.platforms.join(", "))
    };
    let summary = &report.summary;
    writeln!(
        out,
        "{} {}, {} {}: {} of {} references agree, {} skipped; {registry}",
        summary.errors,
        plural(summary.errors, "error", "errors"),
        summary.warnings,
        plural(summary.warnings, "warning", "warnings"),
        summary.agreeing,
        summary.references,
        summary.skipped,
    )
}

/// The notes of a report, on stderr (URLs' userinfo redacted).
pub(crate) fn notes(err: &mut dyn Write, notes: &[String]) -> io::Result<()> {
    for note in notes {
        writeln!(err, "note: {}", slipway_core::redact::urls(note))?;
    }
    Ok(())
}

/// The text report of `release bump`: the diff on `out`, the story on `err`; `verbose` lists
/// what was not bumped.
pub(crate) fn bump_text(
    out: &mut dyn Write,
    err: &mut dyn Write,
    report: &BumpReport,
    verbose: bool,
) -> io::Result<()> {
    write!(out, "{}", report.diff)?;
    let from = report.from.as_ref().map_or_else(|| "(no version found)".to_owned(), ToString::to_string);
    let files = report.files.len();
    writeln!(
        err,
        "bump {from} -> {}: {} {} in {files} {}",
        report.to.version,
        report.changes.len(),
        plural(report.changes.len(), "reference", "references"),
        plural(files, "file", "files")
    )?;
    if report.written {
        writeln!(err, "wrote {files} {}", plural(files, "file", "files"))?;
    } else if files > 0 {
        writeln!(err, "nothing written (dry run)")?;
    }
    for change in &report.changes {
        if let Some(note) = &change.note {
            writeln!(err, "note: {}:{}: {note}", change.file, change.line)?;
        }
    }
    if let Some(commit) = &report.commit {
        writeln!(err, "committed {}", short(commit))?;
    }
    if let Some(tag) = &report.tag {
        writeln!(err, "tagged {tag}")?;
    }
    for item in &report.remaining {
        finding(err, item)?;
    }
    if verbose {
        skipped(err, &report.skipped)?;
    } else if !report.skipped.is_empty() {
        writeln!(
            err,
            "note: {} {} like a reference and not bumped; --verbose lists them with why",
            report.skipped.len(),
            if report.skipped.len() == 1 { "value looks" } else { "values look" }
        )?;
    }
    Ok(())
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

/// The text report of `release audit`: a verdict per release, its findings under it.
pub(crate) fn audit_text(out: &mut dyn Write, report: &slipway_release::ledger::audit::AuditReport) -> io::Result<()> {
    if report.releases.is_empty() {
        writeln!(out, "no release is recorded in {} (`slipway release record VERSION` records one)", report.storage)?;
    }
    for release in &report.releases {
        let when = release.recorded_at.as_deref().map(|at| format!(", recorded {at}")).unwrap_or_default();
        writeln!(out, "{}: {}{when}", release.tag, release.verdict)?;
        for item in &release.findings {
            let mut text = Vec::new();
            finding(&mut text, item)?;
            for line in String::from_utf8_lossy(&text).lines() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    let summary = &report.summary;
    let registry = if report.registry_checked { "" } else { "; registries not checked (offline)" };
    let unusable =
        if summary.unusable > 0 { format!(", {} without a usable record", summary.unusable) } else { String::new() };
    writeln!(
        out,
        "\n{} of {} {} changed{unusable}: {} {}, {} {}{registry}",
        summary.changed,
        summary.releases,
        plural(summary.releases, "release", "releases"),
        summary.errors,
        plural(summary.errors, "error", "errors"),
        summary.warnings,
        plural(summary.warnings, "warning", "warnings")
    )
}

/// The text report of `image build`.
pub(crate) fn image_build_text(out: &mut dyn Write, report: &BuildReport) -> io::Result<()> {
    for image in &report.images {
        let base = image.base.as_deref().unwrap_or("scratch");
        writeln!(
            out,
            "{} {} {} ({} platforms, on {base})",
            image.name,
            image.repository,
            image.digest,
            image.platforms.len()
        )?;
        for platform in &image.platforms {
            let cached = if platform.layer.cached { ", layer cached" } else { "" };
            writeln!(
                out,
                "  {:<14} {}  {}{cached}  {}",
                platform.platform,
                platform.digest,
                size(platform.size),
                platform.binary.as_deref().unwrap_or("(entrypoint not checked)")
            )?;
        }
        if let Some(pushed) = &image.pushed {
            let tags: Vec<String> = pushed.tags.iter().map(|tag| format!("{} ({})", tag.tag, tag.status)).collect();
            let moving: Vec<String> = pushed
                .moving
                .iter()
                .map(|tag| format!("{} ({}: {})", tag.tag, if tag.moved { "moved" } else { "not moved" }, tag.reason))
                .collect();
            writeln!(out, "  tags: {}", tags.into_iter().chain(moving).collect::<Vec<_>>().join(", "))?;
            let transfers = &pushed.transfers;
            writeln!(
                out,
                "  blobs: {} uploaded ({}), {} mounted, {} copied across registries, {} already there",
                transfers.uploaded,
                size(transfers.uploaded_bytes),
                transfers.mounted,
                transfers.copied,
                transfers.present
            )?;
        }
    }
    if !report.findings.is_empty() {
        writeln!(out)?;
        for item in &report.findings {
            finding(out, item)?;
        }
    }
    writeln!(out)?;
    if let Some(pruned) = &report.cache_pruned {
        cache_prune_text(out, pruned)?;
    }
    let tags = report.tags.tags.join(", ");
    let unchanged = report.images.iter().all(|image| {
        image.pushed.as_ref().is_some_and(|pushed| {
            pushed.transfers.uploaded == 0 && pushed.tags.iter().all(|tag| tag.status == "unchanged")
        })
    });
    if report.published && report.destination == "push" && unchanged {
        writeln!(out, "already pushed as {tags}; nothing changed")
    } else if report.published && report.destination == "push" {
        writeln!(out, "pushed as {tags}")
    } else if report.published {
        writeln!(out, "written to {} as {tags}", report.destination)
    } else if report.exit_code() != 0 {
        writeln!(out, "nothing was published: a binary is not built for its platform")
    } else {
        writeln!(out, "built and checked as {tags}; not published (use --push or --output)")
    }
}

/// What a cache prune removed and kept, in one line.
pub(crate) fn cache_prune_text(out: &mut dyn Write, pruned: &slipway_oci::build::cache::Pruned) -> io::Result<()> {
    let verb = if pruned.dry_run { "would remove" } else { "removed" };
    let mut removed = vec![format!("{} blobs ({})", pruned.removed_blobs, size(pruned.removed_bytes))];
    if pruned.removed_temporaries > 0 {
        removed.push(format!(
            "{} unfinished writes ({})",
            pruned.removed_temporaries,
            size(pruned.removed_temporary_bytes)
        ));
    }
    if pruned.removed_records > 0 {
        removed.push(format!("{} layer records", pruned.removed_records));
    }
    if pruned.removed_markers > 0 {
        removed.push(format!("{} cached markers", pruned.removed_markers));
    }
    writeln!(
        out,
        "cache {}: {verb} {}; kept {} blobs ({})",
        pruned.directory.display(),
        removed.join(", "),
        pruned.kept_blobs,
        size(pruned.kept_bytes)
    )
}

/// The text report of `image inspect` and `image verify`.
pub(crate) fn image_text(out: &mut dyn Write, report: &ImageReport) -> io::Result<()> {
    writeln!(
        out,
        "{} {} ({})",
        report.image,
        report.digest.as_deref().unwrap_or("(not found)"),
        report.media_type.as_deref().unwrap_or("-")
    )?;
    for platform in &report.platforms {
        writeln!(
            out,
            "  {:<14} {}  {}, {} {}  {}",
            platform.platform,
            platform.digest,
            size(platform.size),
            platform.layers,
            plural(platform.layers, "layer", "layers"),
            platform.binary.as_deref().unwrap_or("(entrypoint not checked)")
        )?;
        let provenance: Vec<String> = platform
            .provenance
            .iter()
            .map(|(key, value)| format!("{}={value}", key.trim_start_matches("org.opencontainers.image.")))
            .collect();
        if !provenance.is_empty() {
            writeln!(out, "  {:<14} {}", "", provenance.join(", "))?;
        }
    }
    if !report.findings.is_empty() {
        writeln!(out)?;
        for item in &report.findings {
            finding(out, item)?;
        }
    }
    Ok(())
}

/// The last line of `image verify`: one verdict for people and CI logs.
pub(crate) fn image_verdict(
    out: &mut dyn Write,
    report: &ImageReport,
    check: &slipway_oci::verify::ImageCheck,
) -> io::Result<()> {
    let errors = report.findings.iter().filter(|finding| finding.severity == Severity::Error).count();
    let warnings = report.findings.len() - errors;
    let platforms: Vec<String> = check.platforms.iter().map(ToString::to_string).collect();
    if errors > 0 {
        writeln!(
            out,
            "\nverdict: FAIL {}: {errors} {}, {warnings} {}",
            report.image,
            plural(errors, "error", "errors"),
            plural(warnings, "warning", "warnings")
        )
    } else {
        let revision = match &check.revision {
            Some(commit) => format!(", built from {}", short(commit)),
            None => String::new(),
        };
        let cautions = if warnings > 0 {
            format!(" ({warnings} {})", plural(warnings, "warning", "warnings"))
        } else {
            String::new()
        };
        writeln!(
            out,
            "\nverdict: ok {}: {} present, each binary built for its platform{revision}{cautions}",
            report.image,
            if platforms.is_empty() { "every platform".to_owned() } else { platforms.join(", ") }
        )
    }
}

/// Columns padded to their widest cell; the last column is not padded.
pub(crate) fn table(out: &mut dyn Write, headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(
                |(index, cell)| {
                    if index == last { (*cell).to_owned() } else { format!("{cell:<width$}", width = widths[index]) }
                },
            )
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
