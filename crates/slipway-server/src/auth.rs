//! Who may change things, and proof that a form was sent by this server's own page.
//!
//! Reads are open. A change (starting a run) needs:
//! - from a program: the token as a bearer header (`Authorization: Bearer TOKEN`);
//! - from the UI: a session cookie, set by `POST /login` with the token, and the form's CSRF
//!   field. Sessions are stateless (an expiry signed with HMAC-SHA-256 keyed by the token), so
//!   every replica that has the token accepts them, and none keeps state.
//!
//! Without a token (only possible on loopback) no login is needed, but forms still carry a
//! CSRF field (keyed by a secret of this process): another site open in the same browser must
//! not be able to start runs on `127.0.0.1`. Any change whose `Sec-Fetch-Site` says
//! `cross-site`, or whose `Origin` is not this server, is refused either way.

use axum::http::{HeaderMap, header};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "slipway_session";
/// How long a session lasts.
const SESSION_SECONDS: i64 = 12 * 3600;

/// The server's keys.
#[derive(Clone)]
pub(crate) struct Auth {
    /// The token changes need, if any.
    token: Option<String>,
    /// What signs sessions and CSRF fields: the token, else a random secret of this process.
    key: Vec<u8>,
}

impl Auth {
    pub(crate) fn new(token: Option<String>) -> Auth {
        let key = match &token {
            Some(token) => token.as_bytes().to_vec(),
            None => random_key(),
        };
        Auth { token, key }
    }

    /// Whether changes need a login.
    pub(crate) fn needs_login(&self) -> bool {
        self.token.is_some()
    }

    fn sign(&self, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether `presented` is the token (in constant time).
    pub(crate) fn is_token(&self, presented: &str) -> bool {
        self.token.as_deref().is_some_and(|token| constant_time_eq(token.as_bytes(), presented.as_bytes()))
    }

    /// A new session's cookie value.
    pub(crate) fn session(&self, now: i64) -> String {
        let expires = now + SESSION_SECONDS;
        format!("{expires}.{}", self.sign(&format!("session:{expires}")))
    }

    /// The session of a request, when it carries a valid one.
    pub(crate) fn session_of(&self, headers: &HeaderMap, now: i64) -> Option<String> {
        let cookies = headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok());
        let value = cookies
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value.to_owned())?;
        let (expires, signature) = value.split_once('.')?;
        let expires: i64 = expires.parse().ok()?;
        let valid = expires > now
            && constant_time_eq(signature.as_bytes(), self.sign(&format!("session:{expires}")).as_bytes());
        valid.then_some(value)
    }

    /// The CSRF field a page's forms carry for this request's session (or for anyone, without
    /// a token).
    pub(crate) fn csrf_for(&self, headers: &HeaderMap, now: i64) -> Option<String> {
        if !self.needs_login() {
            return Some(self.sign("csrf:anonymous"));
        }
        self.session_of(headers, now).map(|session| self.sign(&format!("csrf:{session}")))
    }

    /// Whether a change sent by a form may go ahead: same site, signed in when a token is
    /// needed, and its CSRF field right.
    pub(crate) fn check_form(&self, headers: &HeaderMap, csrf: &str, now: i64) -> Result<(), &'static str> {
        same_site(headers)?;
        let expected = self.csrf_for(headers, now).ok_or("sign in first: changes need the token")?;
        if constant_time_eq(expected.as_bytes(), csrf.as_bytes()) {
            Ok(())
        } else {
            Err("the form is stale or came from elsewhere: reload the page and try again")
        }
    }

    /// Whether a change sent to the API may go ahead: same site, and the bearer token when one
    /// is needed.
    pub(crate) fn check_api(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        same_site(headers)?;
        if !self.needs_login() {
            return Ok(());
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        if presented.is_some_and(|presented| self.is_token(presented)) { Ok(()) } else { Err(NEEDS_TOKEN) }
    }
}

/// Why an API change without the token is refused.
pub(crate) const NEEDS_TOKEN: &str = "changes need the token: send `Authorization: Bearer TOKEN`";

/// The API's answer to a refused change: 401 with `WWW-Authenticate: Bearer` without the token,
/// 403 for a change from another site.
pub(crate) fn api_refusal(message: &str) -> axum::response::Response {
    if message == NEEDS_TOKEN {
        let mut response = crate::api::error(axum::http::StatusCode::UNAUTHORIZED, message);
        response.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        response
    } else {
        crate::api::error(axum::http::StatusCode::FORBIDDEN, message)
    }
}

/// Refuses what a browser says came from anywhere but this server's own pages.
///
/// A browser's `Sec-Fetch-Site` (which no page can set) decides when it is there: only
/// `same-origin` (a form of this server) and `none` (typed by the user) pass; `same-site` is
/// another port of the same host, another program's pages. Without it, an `Origin` must be
/// this host. A program (curl, a client) sends neither.
pub(crate) fn same_site(headers: &HeaderMap) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return if matches!(site, "same-origin" | "none") {
            Ok(())
        } else {
            Err("a change from another site is refused")
        };
    }
    if let Some(origin) = header("origin") {
        // `null` (a sandboxed frame, a file) has no "://" and is refused too.
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        if origin_host.is_none() || origin_host != header("host") {
            return Err("a change from another site is refused");
        }
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

/// 32 random bytes from the kernel.
fn random_key() -> Vec<u8> {
    use std::io::Read;
    let mut key = vec![0u8; 32];
    if let Ok(mut random) = std::fs::File::open("/dev/urandom") {
        let _ = random.read_exact(&mut key);
    }
    if key.iter().all(|&byte| byte == 0) {
        // No /dev/urandom: the time and the process, which nobody outside can read.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        key = seed.into_bytes();
    }
    key
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        headers
    }

    #[test]
    fn sessions_are_signed_expire_and_carry_the_csrf_field() {
        let auth = Auth::new(Some("s3cret".to_owned()));
        let session = auth.session(1_000);
        let signed_in = headers(&[("cookie", &format!("theme=dark; {COOKIE}={session}"))]);
        assert_eq!(auth.session_of(&signed_in, 1_001), Some(session));
        assert_eq!(auth.session_of(&signed_in, 1_000 + SESSION_SECONDS), None, "expired");
        let forged = headers(&[("cookie", &format!("{COOKIE}=99999999999.{}", "0".repeat(64)))]);
        assert_eq!(auth.session_of(&forged, 1_001), None);
        let csrf = auth.csrf_for(&signed_in, 1_001).expect("a field");
        assert_eq!(auth.check_form(&signed_in, &csrf, 1_001), Ok(()));
        assert!(auth.check_form(&signed_in, "wrong", 1_001).is_err());
        assert!(auth.check_form(&headers(&[]), &csrf, 1_001).is_err(), "not signed in");
        // Another replica with the same token accepts the session.
        assert_eq!(Auth::new(Some("s3cret".to_owned())).check_form(&signed_in, &csrf, 1_001), Ok(()));
        assert!(Auth::new(Some("other".to_owned())).check_form(&signed_in, &csrf, 1_001).is_err());
    }

    #[test]
    fn the_api_needs_the_bearer_token_and_nothing_cross_site_passes() {
        let auth = Auth::new(Some("s3cret".to_owned()));
        assert_eq!(auth.check_api(&headers(&[("authorization", "Bearer s3cret")])), Ok(()));
        assert!(auth.check_api(&headers(&[("authorization", "Bearer nope")])).is_err());
        assert!(auth.check_api(&headers(&[])).is_err());
        let open = Auth::new(None);
        assert_eq!(open.check_api(&headers(&[])), Ok(()), "no token on loopback");
        assert!(open.check_api(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        // Another port of the same host is another program's pages.
        assert!(open.check_api(&headers(&[("sec-fetch-site", "same-site")])).is_err());
        // What Chromium sends for this server's own form: the browser's word decides, even
        // with an opaque Origin.
        assert_eq!(
            open.check_api(&headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "null"),
                ("host", "127.0.0.1:8080")
            ])),
            Ok(())
        );
        assert!(open.check_api(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:8080")])).is_err());
        assert_eq!(
            open.check_api(&headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])),
            Ok(())
        );
        let field = open.csrf_for(&headers(&[]), 0).expect("a field without a token");
        assert_eq!(open.check_form(&headers(&[]), &field, 0), Ok(()));
        assert!(Auth::new(None).check_form(&headers(&[]), &field, 0).is_err(), "another process's secret");
    }
}
