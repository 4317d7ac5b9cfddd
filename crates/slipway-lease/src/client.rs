//! A client of the Boskos API, for slipway's server or a real Boskos: the calls Boskos's Go
//! client makes, with its status meanings (404: nothing available; 401: held by someone else)
//! and its way of waiting (one request id, a poll every 3 seconds, so the place in the queue
//! is kept).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::resource::Resource;

/// How often a waiting acquire polls (Boskos's Go client: 3 s, well inside the 30 s TTL).
pub const POLL: Duration = Duration::from_secs(3);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid lease server address `{server}`: give host:port or http(s)://host:port")]
    Address { server: String },
    #[error("could not reach the lease server at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// 404 from an acquire: nothing of the type is free (or the type does not exist).
    #[error("{message}")]
    NotAvailable { message: String },
    /// 404 from release or update.
    #[error("{message}")]
    NotFound { message: String },
    /// 401: someone else holds it, or the server wants a token.
    #[error("{message}")]
    Refused { message: String },
    #[error("the lease server answered {status}: {message}")]
    Failed { status: u16, message: String },
    #[error("the lease server's answer is not what the Boskos API returns: {message}")]
    Malformed { message: String },
    #[error("no {kind} resource was free in {}", slipway_job_model::duration::format(*waited))]
    TimedOut { kind: String, waited: Duration },
}

impl ClientError {
    /// The exit code of DESIGN.md: 4 when nothing was available in time, 3 when the server
    /// could not be used, 2 for a bad address, 1 when it refused.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Address { .. } => 2,
            ClientError::NotAvailable { .. } | ClientError::TimedOut { .. } => 4,
            ClientError::NotFound { .. } | ClientError::Refused { .. } => 1,
            ClientError::Unreachable { .. } | ClientError::Failed { .. } | ClientError::Malformed { .. } => 3,
        }
    }
}

/// Counts of one type, from `/metric`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Metric {
    #[serde(rename = "type")]
    pub kind: String,
    pub current: BTreeMap<String, u64>,
    pub owner: BTreeMap<String, u64>,
}

/// A client acting as one owner.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    owner: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// `server` is `host:port` (as `BOSKOS_HOST` holds it) or a URL.
    pub fn new(server: &str, owner: &str, token: Option<String>) -> Result<Client, ClientError> {
        let server = server.trim().trim_end_matches('/');
        if server.is_empty() || server.contains(char::is_whitespace) {
            return Err(ClientError::Address { server: server.to_owned() });
        }
        let base = if server.starts_with("http://") || server.starts_with("https://") {
            server.to_owned()
        } else if server.contains("://") {
            return Err(ClientError::Address { server: server.to_owned() });
        } else {
            format!("http://{server}")
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| ClientError::Unreachable { url: base.clone(), source })?;
        Ok(Client { base, owner: owner.to_owned(), token, http })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The owner it acts as.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<(u16, String), ClientError> {
        let url = format!("{}{path}", self.base);
        let target = reqwest::Url::parse_with_params(&url, query)
            .map_err(|_| ClientError::Address { server: self.base.clone() })?;
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(method.clone(), target.clone());
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.header("content-type", "application/json").body(body.clone());
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response
                        .text()
                        .await
                        .map_err(|source| ClientError::Unreachable { url: url.clone(), source })?;
                    // A server that is restarting answers 5xx for a moment: try again, as Boskos's client does.
                    if status >= 500 && attempt < 3 {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(250 * (1 << attempt))).await;
                        continue;
                    }
                    return Ok((status, text.trim_end().to_owned()));
                }
                Err(source) if attempt < 3 && (source.is_connect() || source.is_timeout()) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(250 * (1 << attempt))).await;
                }
                Err(source) => {
                    return Err(ClientError::Unreachable { url: self.base.clone(), source: source.without_url() });
                }
            }
        }
    }

    /// One acquire of a `kind` resource in `state`, moved to `dest`; `request_id` keeps a place
    /// in the queue across calls.
    pub async fn acquire(
        &self,
        kind: &str,
        state: &str,
        dest: &str,
        request_id: Option<&str>,
    ) -> Result<Resource, ClientError> {
        let mut query = vec![("type", kind), ("state", state), ("dest", dest), ("owner", self.owner.as_str())];
        if let Some(id) = request_id {
            query.push(("request_id", id));
        }
        let (status, text) = self.call(reqwest::Method::POST, "/acquire", &query, None).await?;
        match status {
            200 => {
                let resource: Resource = serde_json::from_str(&text)
                    .map_err(|error| ClientError::Malformed { message: error.to_string() })?;
                if resource.name.is_empty() {
                    return Err(ClientError::Malformed { message: "the resource has no name".to_owned() });
                }
                Ok(resource)
            }
            404 => Err(ClientError::NotAvailable { message: text }),
            401 => Err(ClientError::Refused { message: text }),
            status => Err(ClientError::Failed { status, message: text }),
        }
    }

    /// Acquires, polling every [`POLL`] with one request id until a resource is free or
    /// `wait` has passed. `waiting` hears each unanswered poll.
    pub async fn acquire_wait(
        &self,
        kind: &str,
        state: &str,
        dest: &str,
        wait: Duration,
        mut waiting: impl FnMut(&str),
    ) -> Result<Resource, ClientError> {
        let id = request_id();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match self.acquire(kind, state, dest, Some(&id)).await {
                Err(ClientError::NotAvailable { message }) => {
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        return Err(ClientError::TimedOut { kind: kind.to_owned(), waited: wait });
                    }
                    waiting(&message);
                    tokio::time::sleep(POLL.min(deadline - now)).await;
                }
                other => return other,
            }
        }
    }

    /// Gives `name` back in `dest`.
    pub async fn release(&self, name: &str, dest: &str) -> Result<(), ClientError> {
        let query = [("name", name), ("dest", dest), ("owner", self.owner.as_str())];
        let (status, text) = self.call(reqwest::Method::POST, "/release", &query, None).await?;
        ok_or(status, text)
    }

    /// A heartbeat for `name` (held in `state`), merging `userdata` (an empty value removes a key).
    pub async fn update(
        &self,
        name: &str,
        state: &str,
        userdata: &BTreeMap<String, String>,
    ) -> Result<(), ClientError> {
        let query = [("name", name), ("owner", self.owner.as_str()), ("state", state)];
        let body = (!userdata.is_empty()).then(|| serde_json::to_string(userdata).unwrap_or_default());
        let (status, text) = self.call(reqwest::Method::POST, "/update", &query, body).await?;
        ok_or(status, text)
    }

    /// Counts of `kind` by state and owner.
    pub async fn metric(&self, kind: &str) -> Result<Metric, ClientError> {
        let (status, text) = self.call(reqwest::Method::GET, "/metric", &[("type", kind)], None).await?;
        match status {
            200 => serde_json::from_str(&text).map_err(|error| ClientError::Malformed { message: error.to_string() }),
            404 => Err(ClientError::NotFound { message: text }),
            status => Err(ClientError::Failed { status, message: text }),
        }
    }

    /// Every resource (or those of `kind`), from slipway's listing endpoint. `None` when the
    /// server does not have it (a Boskos answers its catch-all: 200 and nothing).
    pub async fn list(&self, kind: Option<&str>) -> Result<Option<Vec<Listed>>, ClientError> {
        let query: Vec<(&str, &str)> = kind.map(|kind| ("type", kind)).into_iter().collect();
        let (status, text) = self.call(reqwest::Method::GET, crate::LIST_PATH, &query, None).await?;
        match status {
            200 if text.is_empty() => Ok(None),
            200 => {
                let listing: Listing = serde_json::from_str(&text)
                    .map_err(|error| ClientError::Malformed { message: error.to_string() })?;
                Ok(Some(listing.resources))
            }
            status => Err(ClientError::Failed { status, message: text }),
        }
    }
}

fn ok_or(status: u16, text: String) -> Result<(), ClientError> {
    match status {
        200 => Ok(()),
        404 => Err(ClientError::NotFound { message: text }),
        401 | 409 => Err(ClientError::Refused { message: text }),
        status => Err(ClientError::Failed { status, message: text }),
    }
}

/// slipway's listing: resources without their userdata's values.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Listing {
    pub resources: Vec<Listed>,
}

/// One resource as listed: userdata keys only (values may be credentials).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Listed {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub state: String,
    pub owner: String,
    pub lastupdate: String,
    pub userdata_keys: Vec<String>,
}

/// A fresh request id: UUID-shaped, as Boskos's Go client makes them.
pub fn request_id() -> String {
    crate::server::dynamic_name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_hosts_or_urls() {
        assert_eq!(Client::new("boskos.test-pods.svc", "o", None).expect("host").base(), "http://boskos.test-pods.svc");
        assert_eq!(Client::new("https://leases.example/", "o", None).expect("url").base(), "https://leases.example");
        assert!(matches!(Client::new("ftp://x", "o", None), Err(ClientError::Address { .. })));
        assert!(matches!(Client::new("", "o", None), Err(ClientError::Address { .. })));
    }

    #[test]
    fn statuses_mean_what_boskos_clients_take_them_to_mean() {
        assert!(matches!(ok_or(200, String::new()), Ok(())));
        assert_eq!(ok_or(404, "gone".into()).expect_err("404").exit_code(), 1);
        assert!(matches!(ok_or(401, "mine".into()), Err(ClientError::Refused { .. })));
        assert!(matches!(ok_or(409, "state".into()), Err(ClientError::Refused { .. })));
        assert_eq!(ok_or(500, "db".into()).expect_err("500").exit_code(), 3);
        assert_eq!(ClientError::TimedOut { kind: "t".into(), waited: Duration::from_secs(1) }.exit_code(), 4);
        assert_eq!(ClientError::NotAvailable { message: String::new() }.exit_code(), 4);
    }
}
