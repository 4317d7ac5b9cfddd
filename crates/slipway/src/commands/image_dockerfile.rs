//! `slipway image dockerfile` and `slipway image cloudbuild`.

use std::io::Write;
use std::path::Path;

use slipway_oci::dockerfile;

use crate::cli::{ImageCloudbuildArgs, ImageDockerfileArgs};
use crate::errors::UsageError;
use crate::{config_file, settings};

pub(super) fn dockerfile(args: ImageDockerfileArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let ImageDockerfileArgs { repo, image } = args;
    let loaded = config_file::load(config, &repo)?;
    super::warn(&loaded.warnings);
    let selected: Vec<String> = image.into_iter().collect();
    let (specs, _) = settings::images(&loaded, &selected)?;
    let [spec] = specs.as_slice() else {
        let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
        return Err(UsageError(format!(
            "slipway.yaml has several images ({}); choose one with --image",
            names.join(", ")
        ))
        .into());
    };
    write!(std::io::stdout().lock(), "{}", dockerfile::dockerfile(spec)?)?;
    Ok(slipway_core::exit::SUCCESS)
}

pub(super) fn cloudbuild(args: ImageCloudbuildArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let ImageCloudbuildArgs { repo, dockerfile: pattern } = args;
    let loaded = config_file::load(config, &repo)?;
    super::warn(&loaded.warnings);
    let (specs, _) = settings::images(&loaded, &[])?;
    for spec in &specs {
        // The Dockerfile each step names must be one slipway can generate.
        dockerfile::dockerfile(spec)?;
    }
    let text = dockerfile::cloudbuild(&specs, |spec| pattern.replace("{name}", &spec.name));
    write!(std::io::stdout().lock(), "{text}")?;
    Ok(slipway_core::exit::SUCCESS)
}
