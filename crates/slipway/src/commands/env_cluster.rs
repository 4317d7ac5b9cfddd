//! `slipway env up`, `env down` and `env list`: kind clusters on resolved node images.

use std::io::Write;

use serde::Serialize;
use slipway_core::exit;
use slipway_env::cluster::{self, ClusterRecord, ClusterSpec, Clusters};
use slipway_env::lock::LockFile;
use slipway_env::node_image::{self, Source};

use crate::cli::Format;
use crate::cli_env::{EnvDownArgs, EnvListArgs, EnvUpArgs};
use crate::config_file::Globals;
use crate::output;
use crate::settings_env::{self, EnvSettings};

#[derive(Serialize)]
struct Report<'a> {
    schema: &'a str,
    clusters: &'a [ClusterRecord],
}

async fn clusters(settings: &EnvSettings) -> anyhow::Result<Clusters> {
    Ok(Clusters {
        root: settings.state.clone(),
        kind_program: slipway_env::tools::kind_program(),
        engine: slipway_env::tools::engine().await?,
        wait: settings.wait(),
    })
}

pub(super) fn up(args: EnvUpArgs, globals: &Globals) -> anyhow::Result<u8> {
    let EnvUpArgs { entries, matrix, name, mut resolve, format } = args;
    let settings = settings_env::env(globals)?;
    super::warn(&settings.warnings);
    let given = !entries.is_empty();
    let mut entries = settings.entries(entries)?;
    if !matrix && !given {
        entries.truncate(1);
    }
    // Clusters run on this machine, so their nodes are of its architecture.
    resolve.arches = vec![slipway_core::platform::host_architecture().to_owned()];
    let registry = settings.registry(resolve.registry.clone());
    let resolution = settings.resolution(entries, &resolve, false)?;
    let mut stderr = output::stderr();
    for note in &resolution.notes {
        writeln!(stderr, "note: {note}")?;
    }
    let lock = LockFile::read(&settings.lock_path)?;
    let sources = settings.sources(registry);
    let runtime = super::runtime()?;
    let images = runtime.block_on(node_image::resolve(&sources, &resolution.plan, &lock));
    let missing: Vec<_> = images.iter().filter(|image| image.source == Source::Missing).collect();
    if !missing.is_empty() {
        for image in &missing {
            writeln!(stderr, "error: no node image for {}: {}", image.entry, image.reason.as_deref().unwrap_or(""))?;
        }
        writeln!(stderr, "resolve them first: slipway env node-image --build")?;
        return Ok(node_image::exit_code(&images));
    }
    let prefix = name.unwrap_or_else(|| "slipway".to_owned());
    let several = images.len() > 1;
    let specs: Vec<ClusterSpec> = images
        .iter()
        .map(|image| {
            let kubernetes = image.kubernetes.clone().unwrap_or_default();
            ClusterSpec {
                name: cluster::cluster_name(&prefix, several.then_some(kubernetes.as_str())),
                entry: image.entry.clone(),
                kubernetes,
                kind: image.kind.clone(),
                image: image.image.clone().unwrap_or_default(),
            }
        })
        .collect();
    let clusters = runtime.block_on(clusters(&settings))?;
    for spec in &specs {
        writeln!(stderr, "creating kind cluster {} (Kubernetes {}, {})", spec.name, spec.kubernetes, spec.image)?;
    }
    let section = settings.config.cluster;
    let results =
        runtime.block_on(futures_util::future::join_all(specs.iter().map(|spec| clusters.up(spec, &section))));
    let mut created = Vec::new();
    let mut code = exit::SUCCESS;
    for result in results {
        match result {
            Ok(record) => created.push(record),
            Err(error) => {
                writeln!(stderr, "error: {error}")?;
                code = error.exit_code();
            }
        }
    }
    let mut stdout = output::stdout();
    match format {
        Format::Json => output::json(&mut stdout, &Report { schema: cluster::SCHEMA, clusters: &created })?,
        Format::Text => {
            for record in &created {
                writeln!(stderr, "cluster {} is ready: KUBECONFIG={}", record.name, record.kubeconfig.display())?;
                writeln!(stdout, "{}", record.kubeconfig.display())?;
            }
        }
    }
    Ok(code)
}

pub(super) fn down(args: EnvDownArgs, globals: &Globals) -> anyhow::Result<u8> {
    let EnvDownArgs { names, all } = args;
    let settings = settings_env::env(globals)?;
    super::warn(&settings.warnings);
    let runtime = super::runtime()?;
    let clusters = runtime.block_on(clusters(&settings))?;
    let names =
        if all { runtime.block_on(clusters.list()).into_iter().map(|record| record.name).collect() } else { names };
    let mut stderr = output::stderr();
    if names.is_empty() {
        writeln!(stderr, "no clusters to delete")?;
        return Ok(exit::SUCCESS);
    }
    let mut code = exit::SUCCESS;
    for name in names {
        match runtime.block_on(clusters.down(&name)) {
            Ok(()) => writeln!(stderr, "deleted kind cluster {name}")?,
            Err(error) => {
                writeln!(stderr, "error: {error}")?;
                code = error.exit_code();
            }
        }
    }
    Ok(code)
}

pub(super) fn list(args: EnvListArgs, globals: &Globals) -> anyhow::Result<u8> {
    let EnvListArgs { format } = args;
    let settings = settings_env::env(globals)?;
    super::warn(&settings.warnings);
    let records = super::runtime()?.block_on(async {
        // Listing needs no engine; kind is asked which clusters exist when it can answer.
        let clusters = Clusters {
            root: settings.state.clone(),
            kind_program: slipway_env::tools::kind_program(),
            engine: slipway_env::tools::engine().await.unwrap_or(slipway_env::tools::Engine::Docker),
            wait: settings.wait(),
        };
        clusters.list().await
    });
    let mut stdout = output::stdout();
    match format {
        Format::Json => output::json(&mut stdout, &Report { schema: cluster::SCHEMA, clusters: &records })?,
        Format::Text => {
            if records.is_empty() {
                writeln!(output::stderr(), "no clusters (slipway env up creates one)")?;
            }
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|record| {
                    let state = match record.exists {
                        Some(true) => "running",
                        Some(false) => "gone",
                        None => "unknown",
                    };
                    vec![
                        record.name.clone(),
                        record.kubernetes.clone(),
                        state.to_owned(),
                        record.kubeconfig.display().to_string(),
                        record.image.clone(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                output::table(&mut stdout, &["NAME", "KUBERNETES", "STATE", "KUBECONFIG", "IMAGE"], &rows)?;
            }
        }
    }
    Ok(exit::SUCCESS)
}
