//! `GET /leases` (and `/api/v1/leases`): the lease server's resources by type, state and owner,
//! with how long each has been in its state. Userdata is never shown: it can hold credentials.

use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::html::{self, escape};
use crate::{Shared, store_error};

/// The schema of `/api/v1/leases`.
pub const LEASES_SCHEMA: &str = "slipway.api.leases/v1";

/// One resource as shown: no userdata.
#[derive(Debug, Serialize)]
struct Resource {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    state: String,
    owner: String,
    /// Seconds since its last change (acquired, released, heartbeated).
    held_seconds: i64,
    dynamic: bool,
}

async fn resources(shared: &Shared) -> Result<Vec<Resource>, slipway_store::Error> {
    let now = jiff::Timestamp::now().as_nanosecond();
    let mut leases = shared.store.leases(None).await?;
    leases.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.state.cmp(&b.state)).then_with(|| a.name.cmp(&b.name)));
    Ok(leases
        .into_iter()
        .map(|lease| Resource {
            held_seconds: i64::try_from((now - i128::from(lease.last_update)).max(0) / 1_000_000_000).unwrap_or(0),
            name: lease.name,
            kind: lease.kind,
            state: lease.state,
            owner: lease.owner,
            dynamic: lease.dynamic,
        })
        .collect())
}

/// `GET /leases`.
pub(crate) async fn page(State(shared): State<Shared>) -> Response {
    let resources = match resources(&shared).await {
        Ok(resources) => resources,
        Err(error) => return store_error(&error),
    };
    let mut body = String::from("<h1>Leases</h1>\n");
    if resources.is_empty() {
        body.push_str(
            "<p class=\"note\">No resources: <code>slipway lease serve</code> manages them from resources.yaml.</p>\n",
        );
    } else {
        body.push_str(
            "<div class=\"scroll\"><table class=\"leases\"><thead><tr><th>Type</th><th>Name</th><th>State</th>\
             <th>Owner</th><th>For</th></tr></thead><tbody>\n",
        );
        for resource in &resources {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}{}</td><td class=\"state\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(&resource.kind),
                escape(&resource.name),
                if resource.dynamic { " <span class=\"note\">(dynamic)</span>" } else { "" },
                escape(&resource.state),
                if resource.owner.is_empty() { "–".to_owned() } else { escape(&resource.owner) },
                html::duration(resource.held_seconds),
            );
        }
        body.push_str("</tbody></table></div>\n");
    }
    html::page("Leases", &body, None)
}

/// `GET /api/v1/leases`.
pub(crate) async fn api(State(shared): State<Shared>) -> Response {
    match resources(&shared).await {
        Ok(resources) => Json(json!({ "schema": LEASES_SCHEMA, "resources": resources })).into_response(),
        Err(error) => store_error(&error),
    }
}
