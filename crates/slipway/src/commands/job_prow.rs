//! `slipway job import-prow` and `slipway job lint`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;
use slipway_core::exit;
use slipway_jobs::JobSpec;

use crate::cli::Format;
use crate::config_file::ConfigError;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::output;
use crate::warnings::Warning;

const IMPORT_SCHEMA: &str = slipway_prow::import::SCHEMA;
const LINT_SCHEMA: &str = slipway_prow::lint::SCHEMA;

#[derive(Debug, Args)]
pub(crate) struct ImportProwArgs {
    /// Prow job files, or directories searched for *.yaml and *.yml; give Prow's config.yaml
    /// too for its presets.
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<PathBuf>,

    /// yaml: a `jobs:` section to paste into slipway.yaml; json: for scripts.
    #[arg(long, value_enum, default_value_t = ImportFormat::Yaml)]
    pub(crate) format: ImportFormat,
}

/// Output formats of `job import-prow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ImportFormat {
    /// A `jobs:` section for slipway.yaml.
    Yaml,
    /// `{"schema": "slipway.job.import/v1", "jobs": [...], "notes": [...], "errors": [...]}`.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct JobLintArgs {
    /// Lint Prow job config instead of slipway.yaml: files or directories (comma-separated or
    /// repeated); give Prow's config.yaml too so presets are checked.
    #[arg(long, value_name = "PATH[,PATH]", value_delimiter = ',')]
    pub(crate) prow_config: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

/// Something said about one job, at its place in a file.
#[derive(Debug, Serialize)]
struct Located {
    file: PathBuf,
    line: usize,
    job: Option<String>,
    /// The rule id (lint) or absent (import notes).
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    message: String,
}

impl Located {
    fn text(&self) -> String {
        let job = self.job.as_ref().map(|job| format!("job {job}: ")).unwrap_or_default();
        let rule = self.rule.as_ref().map(|rule| format!("[{rule}] ")).unwrap_or_default();
        format!("{}:{}: {job}{rule}{}", self.file.display(), self.line, self.message)
    }
}

/// `job import-prow`: every job, presets applied, as slipway jobs on stdout; what could not be
/// carried over on stderr.
pub(super) fn import(args: ImportProwArgs) -> anyhow::Result<u8> {
    let ImportProwArgs { paths, format } = args;
    let config = slipway_prow::load(&paths)?;
    super::warn(&crate::warnings::duplicate_keys(&config));
    let mut jobs: Vec<JobSpec> = Vec::new();
    let mut notes = Vec::new();
    let mut failed = Vec::new();
    for job in &config.jobs {
        let at = |message: String| Located {
            file: job.location.file.clone(),
            line: job.location.line,
            job: Some(job.name.clone()),
            rule: None,
            message,
        };
        match slipway_prow::apply_presets(job, &config.presets) {
            Ok(merged) => {
                let imported = slipway_prow::to_slipway(&merged);
                // What slipway cannot run (an interval longer than Go can hold) Prow rejects too.
                if let Err(problems) = slipway_jobs::job::resolve(&imported.spec, &job.name) {
                    let reasons: Vec<String> = problems
                        .iter()
                        .map(|problem| {
                            let field = problem.key.strip_prefix(&format!("{}.", job.name)).unwrap_or(&problem.key);
                            format!("`{field}`: {}", problem.message)
                        })
                        .collect();
                    failed.push(at(format!("not imported: {}", reasons.join("; "))));
                    continue;
                }
                notes.extend(imported.notes.into_iter().map(at));
                jobs.push(imported.spec);
            }
            Err(clash) => failed.push(at(format!("not imported: {}; Prow rejects this job too", clash.reason()))),
        }
    }

    let mut stdout = crate::output::stdout();
    match format {
        ImportFormat::Yaml => {
            #[derive(Serialize)]
            struct Section<'a> {
                jobs: &'a [JobSpec],
            }
            // Long lines (args with regexes) stay as written; only multi-line strings become blocks.
            let mut options = serde_saphyr::SerializerOptions::default();
            options.folded_wrap_chars = usize::MAX;
            let yaml = serde_saphyr::to_string_with_options(&Section { jobs: &jobs }, options)?;
            stdout.write_all(yaml.as_bytes())?;
        }
        ImportFormat::Json => {
            #[derive(Serialize)]
            struct Report<'a> {
                jobs: &'a [JobSpec],
                /// What could not be carried over, job by job.
                notes: &'a [Located],
                /// Jobs that could not be imported.
                errors: &'a [Located],
            }
            output::json_with_schema(
                &mut stdout,
                IMPORT_SCHEMA,
                &Report { jobs: &jobs, notes: &notes, errors: &failed },
            )?;
        }
    }
    let mut stderr = crate::output::stderr();
    for note in &notes {
        writeln!(stderr, "note: {}", note.text())?;
    }
    for error in &failed {
        writeln!(stderr, "error: {}", error.text())?;
    }
    writeln!(stderr, "imported {} of {} Prow jobs from {} files", jobs.len(), config.jobs.len(), config.files.len())?;
    Ok(if failed.is_empty() { exit::SUCCESS } else { exit::CHECK_FAILED })
}

/// `job lint`: Prow job config with --prow-config, else the jobs of slipway.yaml.
pub(super) fn lint(args: JobLintArgs, globals: &Globals) -> anyhow::Result<u8> {
    let JobLintArgs { prow_config, format } = args;
    let findings = if prow_config.is_empty() { lint_slipway(globals)? } else { lint_prow(&prow_config)? };
    let mut stdout = crate::output::stdout();
    match format {
        Format::Text => {
            for finding in &findings {
                writeln!(stdout, "{}", finding.text())?;
            }
        }
        Format::Json => {
            #[derive(Serialize)]
            struct Report<'a> {
                findings: &'a [Located],
            }
            output::json_with_schema(&mut stdout, LINT_SCHEMA, &Report { findings: &findings })?;
        }
    }
    Ok(if findings.is_empty() { exit::SUCCESS } else { exit::CHECK_FAILED })
}

fn lint_prow(paths: &[PathBuf]) -> anyhow::Result<Vec<Located>> {
    let config = slipway_prow::load(paths)?;
    let findings = slipway_prow::lint(&config);
    let mut stderr = crate::output::stderr();
    let presets = if config.presets.is_empty() && !config.files.iter().any(|file| file.core) {
        " (no presets: give Prow's config.yaml too to check them)"
    } else {
        ""
    };
    writeln!(
        stderr,
        "linted {} Prow jobs in {} files{presets}: {} {}",
        config.jobs.len(),
        config.files.len(),
        findings.len(),
        if findings.len() == 1 { "finding" } else { "findings" }
    )?;
    Ok(findings
        .into_iter()
        .map(|finding| Located {
            file: finding.file,
            line: finding.line,
            job: finding.job,
            rule: Some(finding.rule.id().to_owned()),
            message: finding.message,
        })
        .collect())
}

/// The problems `slipway_jobs::resolve_all` finds in slipway.yaml's jobs, each at its line; the
/// rule is the field at fault (`cron`, `timeout`, `matrix`).
fn lint_slipway(globals: &Globals) -> anyhow::Result<Vec<Located>> {
    let loaded = crate::settings_jobs::lint(globals)?;
    super::warn(&loaded.warnings);
    let Some(path) = loaded.path.clone() else {
        return Err(UsageError(
            "no slipway.yaml here or in a parent directory; to lint Prow job config, pass --prow-config PATH"
                .to_owned(),
        )
        .into());
    };
    let (_, problems) = slipway_jobs::resolve_all(&loaded.file.jobs);
    // A misspelt key in a job (`minimal_interval`) is ignored by the loader with a warning;
    // for lint it is a finding.
    let unknown = loaded.warnings.iter().filter_map(|warning| {
        let Warning::UnknownKey { line: Some(line), key, .. } = warning else {
            return None;
        };
        let line = *line;
        let key = key.strip_prefix("jobs.")?;
        let index: usize = key.split('.').next()?.parse().ok()?;
        let job = loaded.file.jobs.get(index).map(|job| job.name.clone());
        Some(Located {
            file: path.clone(),
            line,
            job,
            rule: Some("unknown-key".to_owned()),
            message: format!("unknown key `{}` is ignored", key.split_once('.').map_or(key, |(_, field)| field)),
        })
    });
    let unknown: Vec<Located> = unknown.collect();
    Ok(unknown
        .into_iter()
        .chain(problems.into_iter().map(|problem| {
            let job_key = problem.key.split('.').next().unwrap_or_default().to_owned();
            let line = [problem.key.as_str(), job_key.as_str()]
                .into_iter()
                .find_map(|key| match loaded.invalid_key(key, &problem.message) {
                    Some(ConfigError::InvalidKey { line, .. }) => usize::try_from(line).ok(),
                    _ => None,
                })
                .unwrap_or(1);
            let field = problem.key.strip_prefix(&job_key).unwrap_or_default().trim_start_matches('.');
            let rule = field.split(['.', '[']).next().filter(|rule| !rule.is_empty()).unwrap_or("job").to_owned();
            Located { file: path.clone(), line, job: Some(problem.job), rule: Some(rule), message: problem.message }
        }))
        .collect())
}
