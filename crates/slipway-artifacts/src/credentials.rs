//! Cloud credentials: which variables provide them, and one error that says so when a store
//! found none or refused the ones it was given.
//!
//! object_store resolves each backend's credential chain itself (keys from the environment, web
//! identity, then the cloud's instance metadata service). slipway wraps whatever chain it resolved
//! in [`Labelled`], so a failure to obtain credentials is recognised by its type, not by the text
//! of an HTTP error, and the message can name the variables that would have provided them. A
//! store that answers 401 or 403 refused the credentials; object_store keeps its HTTP error type
//! private, so that status is read from the variants it does expose, else from the error's text.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use object_store::CredentialProvider;

/// A cloud backend of [`crate::Storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// Amazon S3 and S3-compatible stores (`s3://`).
    S3,
    /// Google Cloud Storage (`gs://`).
    Gcs,
    /// Azure Blob Storage (`az://`, `azure://`).
    Azure,
}

impl Cloud {
    /// How people call it.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::S3 => "S3",
            Cloud::Gcs => "GCS",
            Cloud::Azure => "Azure",
        }
    }

    /// The variables that give slipway (object_store) credentials for this cloud, as the end of
    /// a sentence starting "set".
    pub fn credential_variables(self) -> &'static str {
        match self {
            Cloud::S3 => {
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), \
                 or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
            }
            Cloud::Gcs => {
                "GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT) to a service account key file, \
                 or GOOGLE_SERVICE_ACCOUNT_KEY to the key itself"
            }
            Cloud::Azure => {
                "AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_TOKEN), \
                 or AZURE_STORAGE_ACCOUNT_NAME, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID"
            }
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was wrong with the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// None were configured, and none could be obtained (no instance metadata service, a web
    /// identity token the cloud would not exchange).
    Missing,
    /// The store answered with this HTTP status (401 or 403).
    Rejected(u16),
}

/// The store found no credentials, or refused the ones it was given.
#[derive(Debug, thiserror::Error)]
#[error("{}; set {}", describe(*cloud, *problem), cloud.credential_variables())]
pub struct CredentialsError {
    cloud: Cloud,
    problem: Problem,
    /// What object_store said: the credential provider's failure, or the refused request.
    #[source]
    source: Arc<object_store::Error>,
}

fn describe(cloud: Cloud, problem: Problem) -> String {
    match problem {
        Problem::Missing => format!("found no credentials for {cloud}"),
        Problem::Rejected(status) => {
            format!("{cloud} refused the credentials (HTTP {status}: wrong, expired, or without access to this bucket)")
        }
    }
}

impl CredentialsError {
    pub(crate) fn new(cloud: Cloud, problem: Problem, source: Arc<object_store::Error>) -> CredentialsError {
        CredentialsError { cloud, problem, source }
    }

    /// The cloud whose credentials are at fault.
    pub fn cloud(&self) -> Cloud {
        self.cloud
    }

    /// Missing, or rejected with which status.
    pub fn problem(&self) -> Problem {
        self.problem
    }
}

/// Whether `error` is a credentials problem of `cloud`: a credential provider wrapped by
/// [`Labelled`] failed, or the store answered 401 or 403.
pub(crate) fn diagnose(cloud: Cloud, error: object_store::Error) -> Result<CredentialsError, object_store::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(failure) = current.downcast_ref::<Unobtainable>() {
            // A token service that refuses what it was given (a web identity token, a key)
            // rejected credentials; one that cannot be reached, or has none, means none were set.
            let problem = match http_status(&failure.0) {
                Some(status @ (401 | 403)) => Problem::Rejected(status),
                _ => Problem::Missing,
            };
            return Ok(CredentialsError::new(cloud, problem, Arc::clone(&failure.0)));
        }
        cause = current.source();
    }
    match http_status(&error) {
        Some(status @ (401 | 403)) => Ok(CredentialsError::new(cloud, Problem::Rejected(status), Arc::new(error))),
        _ => Err(error),
    }
}

/// The HTTP status a store answered, when the error says.
pub(crate) fn http_status(error: &object_store::Error) -> Option<u16> {
    match error {
        object_store::Error::NotFound { .. } => return Some(404),
        object_store::Error::Unauthenticated { .. } => return Some(401),
        object_store::Error::PermissionDenied { .. } => return Some(403),
        _ => {}
    }
    // Listings and credential exchanges surface as `Generic`, with the status only in the text
    // of object_store's private retry error: "... status code: 403 Forbidden: ...".
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        let text = current.to_string();
        if let Some((_, after)) = text.split_once("status code: ") {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(status) = digits.parse() {
                return Some(status);
            }
        }
        cause = current.source();
    }
    None
}

/// A credential provider that marks its failures as [`Unobtainable`], so they can be told apart
/// from a store's other errors.
#[derive(Debug)]
pub(crate) struct Labelled<T> {
    inner: Arc<dyn CredentialProvider<Credential = T>>,
}

impl<T> Labelled<T> {
    pub(crate) fn wrap(inner: Arc<dyn CredentialProvider<Credential = T>>) -> Arc<Labelled<T>> {
        Arc::new(Labelled { inner })
    }
}

#[async_trait]
impl<T: fmt::Debug + Send + Sync> CredentialProvider for Labelled<T> {
    type Credential = T;

    async fn get_credential(&self) -> object_store::Result<Arc<T>> {
        self.inner.get_credential().await.map_err(|error| object_store::Error::Generic {
            store: "credentials",
            source: Box::new(Unobtainable(Arc::new(error))),
        })
    }
}

/// A credential provider's failure; its text is the provider's own.
#[derive(Debug)]
struct Unobtainable(Arc<object_store::Error>);

impl fmt::Display for Unobtainable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Unobtainable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic { store: "S3", source: text.into() }
    }

    #[test]
    fn statuses_come_from_variants_or_text() {
        let denied = object_store::Error::PermissionDenied { path: "x".to_owned(), source: "no".into() };
        assert_eq!(http_status(&denied), Some(403));
        let listing =
            generic("Error performing GET http://h/b in 4ms - Server returned non-2xx status code: 401 Unauthorized: ");
        assert_eq!(http_status(&listing), Some(401));
        assert_eq!(http_status(&generic("Connection refused")), None);
    }

    #[test]
    fn refusals_and_provider_failures_are_credentials_problems() {
        let refused = diagnose(Cloud::Azure, generic("non-2xx status code: 403 Forbidden")).expect("a refusal");
        assert_eq!((refused.cloud(), refused.problem()), (Cloud::Azure, Problem::Rejected(403)));
        assert!(refused.to_string().starts_with("Azure refused the credentials (HTTP 403"), "{refused}");
        assert!(refused.to_string().contains("AZURE_STORAGE_ACCOUNT_KEY"), "{refused}");

        let failed = object_store::Error::Generic {
            store: "credentials",
            source: Box::new(Unobtainable(Arc::new(generic("metadata service unreachable")))),
        };
        let missing = diagnose(Cloud::S3, failed).expect("a missing credential");
        assert_eq!(missing.problem(), Problem::Missing);
        assert_eq!(
            missing.to_string(),
            "found no credentials for S3; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN \
             for temporary keys), or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
        );
        let cause = std::error::Error::source(&missing).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("Generic S3 error: metadata service unreachable"));

        let exchange = object_store::Error::Generic {
            store: "credentials",
            source: Box::new(Unobtainable(Arc::new(generic("non-2xx status code: 403 Forbidden: AccessDenied")))),
        };
        assert_eq!(diagnose(Cloud::S3, exchange).map(|error| error.problem()).ok(), Some(Problem::Rejected(403)));

        let other = diagnose(Cloud::Gcs, generic("non-2xx status code: 400 Bad Request")).expect_err("not credentials");
        assert_eq!(http_status(&other), Some(400));
    }
}
