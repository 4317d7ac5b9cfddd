//! `slipway image dockerfile` and `slipway image cloudbuild`.

use std::io::Write;

use slipway_oci::dockerfile;

use crate::cli::{ImageCloudbuildArgs, ImageDockerfileArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::{config_file, settings};

pub(super) fn dockerfile(args: ImageDockerfileArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ImageDockerfileArgs { image } = args;
    let loaded = config_file::load(globals)?;
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
    write!(crate::output::stdout(), "{}", dockerfile::dockerfile(spec)?)?;
    Ok(slipway_core::exit::SUCCESS)
}

pub(super) fn cloudbuild(args: ImageCloudbuildArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ImageCloudbuildArgs { dockerfile: pattern } = args;
    let loaded = config_file::load(globals)?;
    super::warn(&loaded.warnings);
    let (specs, _) = settings::images(&loaded, &[])?;
    for spec in &specs {
        // The Dockerfile each step names must be one slipway can generate.
        dockerfile::dockerfile(spec)?;
    }
    let text = dockerfile::cloudbuild(&specs, |spec| pattern.replace("{name}", &spec.name));
    write!(crate::output::stdout(), "{text}")?;
    Ok(slipway_core::exit::SUCCESS)
}
