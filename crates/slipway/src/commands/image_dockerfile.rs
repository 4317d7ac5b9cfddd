//! `slipway image dockerfile` and `slipway image cloudbuild`.

use std::io::Write;

use slipway_oci::dockerfile;

use crate::cli::{ImageCloudbuildArgs, ImageDockerfileArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::settings_image;

pub(super) fn dockerfile(args: ImageDockerfileArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ImageDockerfileArgs { image } = args;
    let selected: Vec<String> = image.into_iter().collect();
    let settings = settings_image::image_specs(globals, &selected)?;
    super::warn(&settings.warnings);
    let specs = settings.specs;
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
    let settings = settings_image::image_specs(globals, &[])?;
    super::warn(&settings.warnings);
    let specs = settings.specs;
    for spec in &specs {
        // The Dockerfile each step names must be one slipway can generate.
        dockerfile::dockerfile(spec)?;
    }
    let text = dockerfile::cloudbuild(&specs, |spec| pattern.replace("{name}", &spec.name));
    write!(crate::output::stdout(), "{text}")?;
    Ok(slipway_core::exit::SUCCESS)
}
