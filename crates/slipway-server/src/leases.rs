//! `GET /leases` (and `/api/v1/leases`): the lease server's resources by type, state and owner,
//! with how long each has been in its state. Userdata is never shown: it can hold credentials.

use std::fmt::Write;

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::html::{self, escape, url_component};
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
pub(crate) async fn page(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let resources = match resources(&shared).await {
        Ok(resources) => resources,
        Err(error) => return store_error(&error),
    };
    let csrf = shared.auth.csrf_for(&headers, crate::jobs::now());
    let mut body = String::from("<h1>Leases</h1>\n");
    if resources.is_empty() {
        body.push_str(
            "<p class=\"note\">No resources: <code>slipway lease serve</code> manages them from resources.yaml.</p>\n",
        );
    } else {
        body.push_str(
            "<div class=\"scroll\"><table class=\"leases\"><thead><tr><th>Type</th><th>Name</th><th>State</th>\
             <th>Owner</th><th>For</th><th></th></tr></thead><tbody>\n",
        );
        for resource in &resources {
            // A held resource can be taken back by hand (a job that died without releasing
            // it): to dirty, for the janitor, or straight to free.
            let release = match &csrf {
                Some(csrf) if !resource.owner.is_empty() => format!(
                    "<form method=\"post\" action=\"/leases/{}/release\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                     <input type=\"hidden\" name=\"owner\" value=\"{}\"><select name=\"dest\"><option>dirty</option>\
                     <option>free</option></select> <button>Release</button></form>",
                    escape(&url_component(&resource.name)),
                    escape(csrf),
                    escape(&resource.owner)
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}{}</td><td class=\"state\">{}</td><td>{}</td><td>{}</td><td>{release}</td></tr>",
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

#[derive(Debug, Deserialize)]
pub(crate) struct ReleaseForm {
    #[serde(default)]
    csrf: String,
    /// The owner the page showed: a lease taken by someone else since is not released.
    #[serde(default)]
    owner: String,
    #[serde(default)]
    dest: String,
}

/// `POST /leases/{name}/release`: a person takes a held resource back.
pub(crate) async fn release(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ReleaseForm>,
) -> Response {
    if let Err(message) = shared.auth.check_form(&headers, &form.csrf, crate::jobs::now()) {
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    if !matches!(form.dest.as_str(), "dirty" | "free") {
        return (StatusCode::BAD_REQUEST, "a resource is released to `dirty` or `free`").into_response();
    }
    let now = i64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX);
    let lifespans = slipway_store::leases::Lifespans::default();
    match shared.store.lease_release(&name, &form.dest, &form.owner, now, &lifespans).await {
        Ok(Ok(())) => Redirect::to("/leases").into_response(),
        Ok(Err(slipway_store::leases::Refused::NotFound)) => {
            crate::pages::not_found_of(&format!("no resource `{name}`"))
        }
        Ok(Err(slipway_store::leases::Refused::OwnerMismatch { current })) => {
            (StatusCode::CONFLICT, format!("`{name}` was not released: it is held by `{current}` now; reload the page"))
                .into_response()
        }
        Ok(Err(slipway_store::leases::Refused::StateMismatch { current })) => {
            (StatusCode::CONFLICT, format!("`{name}` was not released: it is {current} now; reload the page"))
                .into_response()
        }
        Err(error) => store_error(&error),
    }
}
