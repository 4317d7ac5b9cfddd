//! `slipway env versions`, `env node-image` and `env node-image verify`.

use std::io::Write;
use std::time::Duration;

use serde::Serialize;
use slipway_core::exit;
use slipway_env::build::{self, Builder};
use slipway_env::lock::LockFile;
use slipway_env::node_image::{self, NodeImage, Source, Sources};
use slipway_env::verify::{self, NodeImageCheck};

use crate::cli::Format;
use crate::cli_env::{EnvNodeImageArgs, EnvNodeImageCommand, EnvVerifyArgs, EnvVersionsArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::output;
use crate::settings_env::{self, EnvSettings, Resolution};

/// The JSON schema of `slipway env versions`.
const VERSIONS_SCHEMA: &str = "slipway.env.versions/v1";

#[derive(Serialize)]
struct VersionRow {
    entry: String,
    version: Option<String>,
    source: Option<String>,
    /// For a CI build: the directory of its artifacts.
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(super) fn versions(args: EnvVersionsArgs, globals: &Globals) -> anyhow::Result<u8> {
    let EnvVersionsArgs { entries, refresh, format } = args;
    let mut settings = settings_env::env(globals)?;
    super::warn(&settings.warnings);
    let entries = settings.entries(entries)?;
    if refresh {
        settings.markers.ttl = Duration::ZERO;
    }
    let client = reqwest::Client::new();
    let markers = settings.markers;
    let results = super::runtime()?.block_on(futures_util::future::join_all(entries.iter().map(|entry| {
        let (client, markers) = (&client, &markers);
        async move { (entry.clone(), markers.resolve(client, entry).await) }
    })));
    let mut code = exit::SUCCESS;
    let mut rows = Vec::new();
    for (entry, result) in results {
        rows.push(match result {
            Ok(resolved) => VersionRow {
                artifacts: resolved.is_ci_build().then(|| markers.artifacts_url(&resolved)),
                entry,
                version: Some(resolved.version),
                source: Some(resolved.source),
                error: None,
            },
            Err(error) => {
                code = if code == exit::USAGE { code } else { error.exit_code() };
                VersionRow { entry, version: None, source: None, artifacts: None, error: Some(error.to_string()) }
            }
        });
    }
    let mut stdout = output::stdout();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Report<'a> {
                schema: &'a str,
                versions: &'a [VersionRow],
            }
            output::json(&mut stdout, &Report { schema: VERSIONS_SCHEMA, versions: &rows })?;
        }
        Format::Text => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    vec![
                        row.entry.clone(),
                        row.version.clone().unwrap_or_else(|| "-".into()),
                        row.source.clone().or_else(|| row.error.clone()).unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(&mut stdout, &["ENTRY", "VERSION", "SOURCE"], &table)?;
            for row in rows.iter().filter(|row| row.artifacts.is_some()) {
                writeln!(stdout, "{}: artifacts at {}/", row.entry, row.artifacts.as_deref().unwrap_or_default())?;
            }
        }
    }
    Ok(code)
}

pub(super) fn node_image(args: EnvNodeImageArgs, globals: &Globals) -> anyhow::Result<u8> {
    let EnvNodeImageArgs { verify, entries, resolve, update, locked, format } = args;
    if let Some(EnvNodeImageCommand::Verify(args)) = verify {
        return verify_command(args, globals);
    }
    let settings = settings_env::env(globals)?;
    super::warn(&settings.warnings);
    let given = !entries.is_empty();
    let entries = settings.entries(entries)?;
    let registry = settings.registry(resolve.registry.clone());
    let resolution = settings.resolution(entries, &resolve, update)?;
    let mut stderr = output::stderr();
    for note in &resolution.notes {
        writeln!(stderr, "note: {note}")?;
    }
    let lock = LockFile::read(&settings.lock_path)?;
    let lock_name =
        settings.lock_path.strip_prefix(&settings.root).unwrap_or(&settings.lock_path).display().to_string();
    if locked {
        let changes = locked_changes(&settings, &resolution, &lock, given);
        if !changes.is_empty() {
            writeln!(stderr, "error: {lock_name} is out of date (--locked):")?;
            for change in &changes {
                writeln!(stderr, "  {change}")?;
            }
            writeln!(stderr, "run `slipway env node-image --update` and commit {lock_name}")?;
            return Ok(exit::CHECK_FAILED);
        }
    }
    let sources = settings.sources(registry);
    let runtime = super::runtime()?;
    let mut images = runtime.block_on(node_image::resolve(&sources, &resolution.plan, &lock));
    let mut notes = Vec::new();
    if resolution.build {
        if !resolution.plan.policy.takes_built() {
            notes.push(format!(
                "--build: policy `{}` takes only kind's published images, so nothing is built",
                resolution.plan.policy
            ));
        }
        runtime.block_on(build_missing(&settings, &sources, &resolution, &mut images))?;
    }
    let indexes = match &resolution.plan.registry {
        Some(registry) if resolution.plan.arches.len() > 1 => {
            runtime.block_on(build::push_indexes(&sources, registry, &images))
        }
        _ => Vec::new(),
    };
    let code = node_image::exit_code(&images);
    let lock_written =
        if locked { false } else { write_lock(&settings, &resolution, &lock, &images, &lock_name, &mut notes)? };
    let mut stdout = output::stdout();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Index<'a> {
                entry: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                image: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                error: Option<&'a str>,
            }
            #[derive(Serialize)]
            struct Report<'a> {
                schema: &'a str,
                kind: String,
                policy: slipway_env::policy::Policy,
                policy_rule: Option<&'a str>,
                branch: Option<&'a str>,
                images: &'a [NodeImage],
                indexes: Vec<Index<'a>>,
                lock: LockStatus<'a>,
                notes: &'a [String],
            }
            #[derive(Serialize)]
            struct LockStatus<'a> {
                path: &'a str,
                written: bool,
            }
            let indexes = indexes
                .iter()
                .map(|(entry, result)| Index {
                    entry,
                    image: result.as_ref().ok().map(String::as_str),
                    error: result.as_ref().err().map(String::as_str),
                })
                .collect();
            output::json(
                &mut stdout,
                &Report {
                    schema: node_image::SCHEMA,
                    kind: format!("v{}", resolution.plan.kind),
                    policy: resolution.plan.policy,
                    policy_rule: resolution.chosen.rule.as_deref(),
                    branch: resolution.branch.as_deref(),
                    images: &images,
                    indexes,
                    lock: LockStatus { path: &lock_name, written: lock_written },
                    notes: &notes,
                },
            )?;
        }
        Format::Text => {
            writeln!(stderr, "{}", header(&resolution))?;
            node_image_text(&mut stdout, &images)?;
            for (entry, result) in &indexes {
                match result {
                    Ok(image) => writeln!(stdout, "{entry}: multi-arch index {image}")?,
                    Err(error) => writeln!(stderr, "warning: {entry}: could not push the multi-arch index: {error}")?,
                }
            }
            for note in &notes {
                writeln!(stderr, "note: {note}")?;
            }
        }
    }
    Ok(code)
}

/// `kind v0.32.0, policy build (branch main, rule main)`.
fn header(resolution: &Resolution) -> String {
    let why = match (&resolution.branch, &resolution.chosen.rule) {
        _ if resolution.policy_overridden => "--policy".to_owned(),
        (Some(branch), Some(rule)) => format!("branch {branch}, rule {rule}"),
        (Some(branch), None) => format!("branch {branch}, the default"),
        (None, _) => "no branch, the default".to_owned(),
    };
    format!("kind v{}, policy {} ({why})", resolution.plan.kind, resolution.plan.policy)
}

fn node_image_text(out: &mut dyn Write, images: &[NodeImage]) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = images
        .iter()
        .map(|image| {
            let source = match (&image.source, &image.locked_source) {
                (Source::Lock, Some(origin)) => format!("lock ({origin})"),
                (source, _) => source.as_str().to_owned(),
            };
            vec![
                image.entry.clone(),
                image.kubernetes.clone().unwrap_or_else(|| "-".into()),
                image.arch.clone(),
                source,
                image.image.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    output::table(out, &["ENTRY", "KUBERNETES", "ARCH", "SOURCE", "IMAGE"], &rows)?;
    for image in images {
        let subject = format!("{} ({}, {})", image.entry, image.kubernetes.as_deref().unwrap_or("?"), image.arch);
        if let Some(reason) = &image.reason {
            writeln!(out, "missing: {subject}: {reason}")?;
        }
        for note in &image.notes {
            writeln!(out, "note: {subject}: {note}")?;
        }
    }
    let missing = images.iter().filter(|image| image.source == Source::Missing).count();
    if missing > 0 {
        writeln!(out, "{missing} of {} node images missing", images.len())?;
    }
    Ok(())
}

/// What `--locked` finds the lock would need: entries of the configured matrix it lacks, and
/// entries it has that nothing asks for.
fn locked_changes(settings: &EnvSettings, resolution: &Resolution, lock: &LockFile, given: bool) -> Vec<String> {
    let kind = format!("v{}", resolution.plan.kind);
    let mut changes = Vec::new();
    for entry in &resolution.plan.entries {
        for arch in &resolution.plan.arches {
            if lock.find(entry, &kind, arch).is_none() {
                changes.push(format!("+ {entry} (kind {kind}, {arch}): not in the lock"));
            }
        }
    }
    if !given {
        let arches = settings.configured_arches();
        for image in &lock.node_images {
            let wanted =
                settings.configured.contains(&image.entry) && image.kind == kind && arches.contains(&image.arch);
            if !wanted {
                changes.push(format!(
                    "- {} (kind {}, {}): locked, but the configuration no longer asks for it",
                    image.entry, image.kind, image.arch
                ));
            }
        }
    }
    changes
}

/// Writes the lock when every configured entry resolved and something changed; returns
/// whether it was written.
fn write_lock(
    settings: &EnvSettings,
    resolution: &Resolution,
    lock: &LockFile,
    images: &[NodeImage],
    lock_name: &str,
    notes: &mut Vec<String>,
) -> anyhow::Result<bool> {
    let arches = settings.configured_arches();
    let configured: Vec<&NodeImage> = images
        .iter()
        .filter(|image| settings.configured.contains(&image.entry) && arches.contains(&image.arch))
        .collect();
    if configured.is_empty() {
        return Ok(false);
    }
    let missing = configured.iter().filter(|image| image.source == Source::Missing).count();
    if missing > 0 {
        notes.push(format!("{lock_name} is unchanged: {missing} node images of the matrix are missing"));
        return Ok(false);
    }
    if settings.config.kind.as_ref().is_some_and(|kind| kind != &resolution.plan.kind) {
        notes.push(format!("{lock_name} follows env.kind; it is not written for --kind v{}", resolution.plan.kind));
        return Ok(false);
    }
    let kind = format!("v{}", resolution.plan.kind);
    let next = node_image::next_lock(lock, images, &settings.configured, &kind, &settings.configured_arches());
    if &next == lock || next.node_images.is_empty() {
        return Ok(false);
    }
    let changes = node_image::lock_changes(lock, &next);
    next.write(&settings.lock_path)?;
    notes.push(format!("wrote {lock_name} ({} changes)", changes.len()));
    Ok(true)
}

/// Builds the images that are missing with a build to do, telling stderr as they go.
async fn build_missing(
    settings: &EnvSettings,
    sources: &Sources,
    resolution: &Resolution,
    images: &mut [NodeImage],
) -> anyhow::Result<()> {
    let wanted = images.iter().filter(|image| image.build.is_some()).count();
    if wanted == 0 {
        return Ok(());
    }
    let Some(registry) = resolution.plan.registry.clone() else {
        return Ok(());
    };
    let kind_program = slipway_env::tools::kind_program();
    let tools = async {
        slipway_env::tools::check_kind(&kind_program, &resolution.plan.kind).await?;
        slipway_env::tools::engine().await
    };
    let engine = match tools.await {
        Ok(engine) => engine,
        Err(error) => {
            for image in images.iter_mut().filter(|image| image.build.is_some()) {
                image.reason = Some(format!("{}; {error}", image.reason.clone().unwrap_or_default()));
                image.exit_code = error.exit_code();
                image.build = None;
            }
            return Ok(());
        }
    };
    let plain_http = sources.registry.is_plain_http(registry.resolved_registry());
    let builder = Builder {
        kind_program,
        kind: resolution.plan.kind.clone(),
        engine,
        base_image: settings.config.base_image.clone(),
        logs: settings.state.join("builds"),
        parallel: settings.config.parallel,
        registry,
        plain_http,
    };
    let _ = writeln!(
        output::stderr(),
        "building {wanted} node {} with kind v{} on {} ({} at a time; logs in {})",
        if wanted == 1 { "image" } else { "images" },
        resolution.plan.kind,
        engine.program(),
        settings.config.parallel,
        settings.state.join("builds").display()
    );
    let progress = crate::progress::for_stderr();
    builder.build_all(sources, images, progress.as_ref()).await;
    Ok(())
}

fn verify_command(args: EnvVerifyArgs, globals: &Globals) -> anyhow::Result<u8> {
    let EnvVerifyArgs { image, kubernetes, arches, registry, format } = args;
    let settings = settings_env::env(globals)?;
    super::warn(&settings.warnings);
    let reference = slipway_core::ImageReference::parse(&image).map_err(|error| UsageError(error.to_string()))?;
    let arches = if arches.is_empty() { settings.config.arches.clone() } else { arches };
    for arch in &arches {
        slipway_env::config::check_arch(arch).map_err(UsageError)?;
    }
    let registry = settings.registry(registry);
    let check = NodeImageCheck { image: reference, arches, kubernetes };
    let report = super::runtime()?.block_on(verify::verify(&registry, &check))?;
    let mut stdout = output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, verify::SCHEMA, &report)?,
        Format::Text => {
            writeln!(stdout, "{}", report.image)?;
            if let Some(digest) = &report.digest {
                writeln!(stdout, "  digest: {digest}")?;
            }
            for platform in &report.platforms {
                writeln!(
                    stdout,
                    "  linux/{}: {} /kind/version {}",
                    platform.arch,
                    platform.digest,
                    platform.kubernetes.as_deref().unwrap_or("(none)")
                )?;
                for (path, binary) in &platform.binaries {
                    writeln!(stdout, "    {path}: {binary}")?;
                }
            }
            for finding in &report.findings {
                output::finding(&mut stdout, finding)?;
            }
            let verdict = if report.passed() { "ok" } else { "FAIL" };
            writeln!(stdout, "\nverdict: {verdict} {}", report.image)?;
        }
    }
    Ok(if report.passed() { exit::SUCCESS } else { exit::CHECK_FAILED })
}
