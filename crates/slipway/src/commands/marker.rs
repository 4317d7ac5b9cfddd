//! `slipway marker get` and `slipway marker publish`: version markers in the artifact storage.

use std::io::Write;

use serde::Serialize;
use slipway_artifacts::{Markers, Published, Storage};
use slipway_core::exit;

use crate::cli::{Format, MarkerGetArgs, MarkerPublishArgs};
use crate::cli_jobs::StorageArgs;
use crate::config_file::Globals;
use crate::{output, settings_jobs};

/// The JSON output of both marker commands: `schema` is `slipway.marker/v1`; `value` is what
/// the marker holds (`null`: no such marker); a publish adds `outcome` (`created`, `updated`,
/// `unchanged`, `kept`) and `previous` (updated) or `current` (kept).
#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    name: &'a str,
    value: Option<&'a str>,
    url: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    published: Option<&'a Published>,
}

const SCHEMA: &str = slipway_artifacts::MARKER_SCHEMA;

fn markers(globals: &Globals, storage: StorageArgs) -> anyhow::Result<Markers> {
    let (url, warnings) = settings_jobs::storage(globals, storage)?;
    super::warn(&warnings);
    Ok(Markers::new(Storage::open(&url)?))
}

pub(super) fn get(args: MarkerGetArgs, globals: &Globals) -> anyhow::Result<u8> {
    let MarkerGetArgs { name, storage, format } = args;
    let name = Markers::normalize(&name)?;
    let markers = markers(globals, storage)?;
    let value = super::runtime()?.block_on(markers.get(&name))?;
    let url = markers.url(&name)?;
    let mut stdout = crate::output::stdout();
    match (format, &value) {
        (Format::Json, _) => {
            let report = Report { schema: SCHEMA, name: &name, value: value.as_deref(), url: &url, published: None };
            output::json(&mut stdout, &report)?;
        }
        (Format::Text, Some(value)) => writeln!(stdout, "{value}")?,
        (Format::Text, None) => {}
    }
    if value.is_none() {
        let _ =
            writeln!(crate::output::stderr(), "error: there is no marker `{name}` in `{}`", markers.storage().url());
        return Ok(exit::CHECK_FAILED);
    }
    Ok(exit::SUCCESS)
}

pub(super) fn publish(args: MarkerPublishArgs, globals: &Globals) -> anyhow::Result<u8> {
    let MarkerPublishArgs { name, value, if_newer, expect, storage, format } = args;
    let name = Markers::normalize(&name)?;
    let markers = markers(globals, storage)?;
    let result = super::runtime()?.block_on(async {
        match &expect {
            Some(expected) => markers.publish_expecting(&name, Some(expected), &value, if_newer).await,
            None => markers.publish(&name, &value, if_newer).await,
        }
    });
    // A marker that is not what the publisher expected is a result, not only an error: scripts
    // reading JSON get the expected, found and requested values too.
    let refused = match &result {
        Err(slipway_artifacts::Error::NotExpected { expected, found, requested, .. }) => {
            Some(("not_expected", expected.clone(), found.clone(), requested.clone()))
        }
        Err(slipway_artifacts::Error::MarkerMoved { from, to, .. }) => {
            Some(("moved", from.clone(), to.clone(), value.clone()))
        }
        _ => None,
    };
    if let (Some((outcome, expected, found, requested)), Format::Json) = (refused, format) {
        let url = markers.url(&name)?;
        output::json(
            &mut crate::output::stdout(),
            &serde_json::json!({
                "schema": SCHEMA,
                "name": name,
                "value": found,
                "url": url,
                "outcome": outcome,
                "expected": expected,
                "requested": requested,
            }),
        )?;
    }
    let published = result?;
    let url = markers.url(&name)?;
    let (now, story) = match &published {
        Published::Created => (value.as_str(), format!("created with `{value}`")),
        Published::Updated { previous } => (value.as_str(), format!("moved from `{previous}` to `{value}`")),
        Published::Unchanged => (value.as_str(), format!("already `{value}`; nothing written")),
        Published::Kept { current } => {
            (current.as_str(), format!("kept `{current}`, which is newer than `{value}`; nothing written"))
        }
    };
    match format {
        Format::Json => {
            let report =
                Report { schema: SCHEMA, name: &name, value: Some(now), url: &url, published: Some(&published) };
            output::json(&mut crate::output::stdout(), &report)?;
        }
        Format::Text => {
            let _ = writeln!(crate::output::stderr(), "marker `{name}` {story} ({url})");
        }
    }
    Ok(exit::SUCCESS)
}
