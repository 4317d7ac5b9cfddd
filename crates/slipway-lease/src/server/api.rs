//! The Boskos HTTP API: `/acquire`, `/acquirebystate`, `/release`, `/update`, `/reset`,
//! `/metric` and the catch-all `/`, with Boskos's parameters (all in the query string, even
//! for POST), status codes and texts. Errors are plain text ending in a newline, as Go's
//! `http.Error` writes them; success bodies are compact JSON (an array from `/acquirebystate`
//! ends with a newline, as Go's `json.Encoder` writes it).
//!
//! Deliberate differences, each documented in the README: `/acquirebystate` takes all the
//! names or none; its 405 names itself; the 409 of `/update` says the expected and current
//! states the right way round; an acquire of a dynamic type that has no resource yet says "no
//! available resource" (the type exists), so a client that tells "type does not exist" apart
//! keeps waiting; a storage failure is a 500, never a 404.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_store::leases::{Acquire, Acquired, OnDemand, Refused};

use super::{Shared, now_nanos};
use crate::resource::Resource;

type Params = Query<HashMap<String, String>>;

/// Go's `http.Error`: the message and a newline, as plain text that must not be sniffed.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

/// A body Go would have written with `w.Write`: sniffed as plain text.
fn body(text: String) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn internal(prefix: &str, failure: &slipway_store::Error) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{prefix}: {}", slipway_core::errors::chain(failure)))
}

/// A parameter as Go's `Query().Get` reads it: empty when missing.
fn get<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

/// Go's `%q` for the texts Boskos quotes.
pub(crate) fn go_quote(text: &str) -> String {
    let mut quoted = String::from('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

pub(crate) async fn acquire(State(shared): State<Shared>, method: Method, Query(params): Params) -> Response {
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, &format!("Method {method}, /acquire only accepts POST."));
    }
    let (kind, state, dest, owner) =
        (get(&params, "type"), get(&params, "state"), get(&params, "dest"), get(&params, "owner"));
    if kind.is_empty() || state.is_empty() || dest.is_empty() || owner.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Bad request: Type: {kind}, state: {state}, dest: {dest}, owner: {owner}, all of them must be set in the request."
            ),
        );
    }
    let request_id = get(&params, "request_id");
    let started = Instant::now();
    let config = shared.config();
    let dynamic = config.entries.iter().find(|entry| entry.kind == kind && entry.is_dynamic());
    let name = dynamic.map(|_| super::dynamic_name());
    let on_demand = dynamic.zip(name.as_deref()).map(|(entry, name)| OnDemand {
        max_count: entry.max_count,
        state: &entry.state,
        name,
    });
    let request = Acquire {
        kind,
        state,
        dest,
        owner,
        request_id,
        now: now_nanos(),
        ttl: i64::try_from(shared.request_ttl.as_nanos()).unwrap_or(i64::MAX),
        on_demand,
    };
    let acquired = shared.store.lease_acquire(&request).await;
    shared.metrics.observe_request("/acquire", started);
    match acquired {
        Ok(Acquired::Leased { lease, waited }) => {
            shared.metrics.observe_acquire(kind, state, dest, !request_id.is_empty(), waited);
            body(serde_json::to_string(&Resource::from(&lease)).unwrap_or_default())
        }
        Ok(Acquired::NotAvailable { type_exists, created }) => {
            if created.is_some() {
                shared.resync.notify_one();
            }
            if type_exists || dynamic.is_some() {
                error(StatusCode::NOT_FOUND, &format!("Acquire failed: no available resource {kind}, try again later."))
            } else {
                error(
                    StatusCode::NOT_FOUND,
                    &format!("Acquire failed: resource type {} does not exist", go_quote(kind)),
                )
            }
        }
        Err(failure) => internal("Acquire failed", &failure),
    }
}

pub(crate) async fn acquire_by_state(State(shared): State<Shared>, method: Method, Query(params): Params) -> Response {
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, &format!("Method {method}, /acquirebystate only accepts POST."));
    }
    let (state, dest, owner, names) =
        (get(&params, "state"), get(&params, "dest"), get(&params, "owner"), get(&params, "names"));
    if state.is_empty() || dest.is_empty() || owner.is_empty() || names.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "state: {state}, dest: {dest}, owner: {owner}, names: {names} - all of them must be set in the request."
            ),
        );
    }
    let names: Vec<String> = names.split(',').map(str::to_owned).collect();
    match shared.store.lease_acquire_by_state(state, dest, owner, &names, now_nanos()).await {
        Ok(Some(leases)) => {
            let resources: Vec<Resource> = leases.iter().map(Resource::from).collect();
            body(format!("{}\n", serde_json::to_string(&resources).unwrap_or_default()))
        }
        Ok(None) => {
            error(StatusCode::NOT_FOUND, &format!("AcquireByState: no available resource {state}, try again later."))
        }
        Err(failure) => internal("AcquireByState failed", &failure),
    }
}

pub(crate) async fn release(State(shared): State<Shared>, method: Method, Query(params): Params) -> Response {
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, &format!("Method {method}, /release only accepts POST."));
    }
    let (name, dest, owner) = (get(&params, "name"), get(&params, "dest"), get(&params, "owner"));
    if name.is_empty() || dest.is_empty() || owner.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Name: {name}, dest: {dest}, owner: {owner}, all of them must be set in the request."),
        );
    }
    let prefix = format!("Done failed: {name} - {dest} (from {owner})");
    let lifespans = super::lifespans(&shared.config());
    match shared.store.lease_release(name, dest, owner, now_nanos(), &lifespans).await {
        Ok(Ok(_)) => {
            shared.resync.notify_one();
            StatusCode::OK.into_response()
        }
        Ok(Err(refused)) => refusal(&prefix, name, owner, "", &refused),
        Err(failure) => internal(&prefix, &failure),
    }
}

fn refusal(prefix: &str, name: &str, owner: &str, requested_state: &str, refused: &Refused) -> Response {
    match refused {
        Refused::NotFound => {
            error(StatusCode::NOT_FOUND, &format!("{prefix}: no available resource {name}, try again later."))
        }
        Refused::OwnerMismatch { current } => error(
            StatusCode::UNAUTHORIZED,
            &format!("{prefix}: owner mismatch request by {owner}, currently owned by {current}"),
        ),
        Refused::StateMismatch { current } => error(
            StatusCode::CONFLICT,
            &format!("{prefix}: state mismatch - expected {requested_state}, current {current}"),
        ),
    }
}

pub(crate) async fn update(
    State(shared): State<Shared>,
    method: Method,
    Query(params): Params,
    payload: Bytes,
) -> Response {
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, &format!("Method {method}, /update only accepts POST."));
    }
    let (name, owner, state) = (get(&params, "name"), get(&params, "owner"), get(&params, "state"));
    if name.is_empty() || owner.is_empty() || state.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Name: {name}, owner: {owner}, state : {state}, all of them must be set in the request."),
        );
    }
    let prefix = format!("Update failed: {name} - {state} ({owner})");
    let userdata: BTreeMap<String, String> = if payload.iter().all(u8::is_ascii_whitespace) {
        BTreeMap::new()
    } else {
        match serde_json::from_slice::<Option<BTreeMap<String, String>>>(&payload) {
            Ok(userdata) => userdata.unwrap_or_default(),
            Err(problem) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("{prefix}: userdata must be a JSON object of strings: {problem}"),
                );
            }
        }
    };
    match shared.store.lease_update(name, owner, state, &userdata, now_nanos()).await {
        Ok(Ok(_)) => StatusCode::OK.into_response(),
        Ok(Err(refused)) => refusal(&prefix, name, owner, state, &refused),
        Err(failure) => internal(&prefix, &failure),
    }
}

pub(crate) async fn reset(State(shared): State<Shared>, method: Method, Query(params): Params) -> Response {
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, &format!("Method {method}, /reset only accepts POST."));
    }
    let (kind, state, expire, dest) =
        (get(&params, "type"), get(&params, "state"), get(&params, "expire"), get(&params, "dest"));
    if kind.is_empty() || state.is_empty() || expire.is_empty() || dest.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Type: {kind}, state: {state}, expire: {expire}, dest: {dest}, all of them must be set in the request."
            ),
        );
    }
    let Ok(expire) = slipway_job_model::duration::parse(expire) else {
        return error(StatusCode::BAD_REQUEST, &format!("time: invalid duration {}", go_quote(expire)));
    };
    let now = now_nanos();
    let stale_before = now.saturating_sub(i64::try_from(expire.as_nanos()).unwrap_or(i64::MAX));
    match shared.store.lease_reset(kind, state, stale_before, dest, now).await {
        Ok(reset) => {
            if !reset.is_empty() {
                shared.resync.notify_one();
            }
            body(serde_json::to_string(&reset).unwrap_or_default())
        }
        Err(failure) => internal("could not reset states", &failure),
    }
}

pub(crate) async fn metric(State(shared): State<Shared>, method: Method, Query(params): Params) -> Response {
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "/metric only accepts GET");
    }
    let kind = get(&params, "type");
    if kind.is_empty() {
        return error(StatusCode::BAD_REQUEST, "Type must be set in the request.");
    }
    let leases = match shared.store.leases(Some(kind)).await {
        Ok(leases) => leases,
        Err(failure) => return internal("could not count resources", &failure),
    };
    if leases.is_empty() {
        return error(StatusCode::NOT_FOUND, &format!("no available resource {kind}, try again later."));
    }
    let mut current: BTreeMap<&str, u64> = BTreeMap::new();
    let mut owners: BTreeMap<&str, u64> = BTreeMap::new();
    for lease in &leases {
        *current.entry(&lease.state).or_default() += 1;
        *owners.entry(&lease.owner).or_default() += 1;
    }
    let text = serde_json::json!({"type": kind, "current": current, "owner": owners}).to_string();
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `GET /slipway/v1/resources[?type=T]`: every resource without its userdata's values (they
/// may be credentials), for `slipway lease list`. Not part of the Boskos API.
pub(crate) async fn list(State(shared): State<Shared>, Query(params): Params) -> Response {
    let kind = params.get("type").map(String::as_str).filter(|kind| !kind.is_empty());
    match shared.store.leases(kind).await {
        Ok(leases) => {
            let resources: Vec<crate::client::Listed> = leases
                .iter()
                .map(|lease| crate::client::Listed {
                    kind: lease.kind.clone(),
                    name: lease.name.clone(),
                    state: lease.state.clone(),
                    owner: lease.owner.clone(),
                    lastupdate: crate::resource::rfc3339(lease.last_update),
                    userdata_keys: lease.userdata.keys().cloned().collect(),
                })
                .collect();
            let mut response =
                (StatusCode::OK, serde_json::to_string(&crate::client::Listing { resources }).unwrap_or_default())
                    .into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(failure) => internal("could not list resources", &failure),
    }
}

/// Any other path: 200 with an empty body, as Boskos's catch-all answers.
pub(crate) async fn default() -> Response {
    Response::new(Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("gce-project"), "\"gce-project\"");
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
