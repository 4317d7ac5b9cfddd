//! From a cloud URL and the environment to an object_store, one builder per cloud.
//!
//! Each builder takes the variables of its cloud's own tools (`AWS_*`, `GOOGLE_*` and
//! `SERVICE_ACCOUNT`, `AZURE_*`) from the `(name, value)` pairs it is given, never from the
//! process environment, so tests and servers can open several stores side by side. (object_store
//! itself still reads a few from the process: the instance metadata hosts `GCE_METADATA_HOST`
//! and `GCE_METADATA_IP`, gcloud's default credentials file under `$HOME`, and Azurite's
//! `AZURITE_BLOB_STORAGE_URL`.) Whatever credential chain object_store resolves is wrapped by
//! [`Labelled`], so a failure to obtain credentials can be reported as such.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};

use crate::credentials::{Cloud, CredentialsError, Labelled, Problem};

/// Why a store could not be built.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// The settings are invalid (a malformed endpoint, an unreadable key file).
    Settings(object_store::Error),
    /// The settings lack credentials the builder needs before any request.
    Credentials(CredentialsError),
}

/// The store of `cloud` for `bucket` (a container for Azure); `url` is `scheme://bucket`.
pub(crate) fn build(
    cloud: Cloud,
    url: &str,
    bucket: &str,
    variables: &[(String, String)],
) -> Result<Arc<dyn ObjectStore>, BuildError> {
    let built: object_store::Result<Arc<dyn ObjectStore>> = match cloud {
        Cloud::S3 => s3(bucket, variables).map(|store| Arc::new(store) as _),
        Cloud::Gcs => gcs(bucket, variables).map(|store| Arc::new(store) as _),
        Cloud::Azure => azure(url, variables).map(|store| Arc::new(store) as _),
    };
    built.map_err(|error| {
        if lacks_credentials(cloud, variables) {
            BuildError::Credentials(CredentialsError::new(cloud, Problem::Missing, Arc::new(error)))
        } else {
            BuildError::Settings(error)
        }
    })
}

/// Whether the builder failed for want of credentials it needs up front: half of an S3 key
/// pair, or an Azure account name (outside the emulator).
fn lacks_credentials(cloud: Cloud, variables: &[(String, String)]) -> bool {
    let set = |name: &str| variables.iter().any(|(key, value)| key == name && !value.is_empty());
    match cloud {
        Cloud::S3 => set("AWS_ACCESS_KEY_ID") != set("AWS_SECRET_ACCESS_KEY"),
        Cloud::Gcs => false,
        Cloud::Azure => {
            let emulator = variables.iter().any(|(key, value)| {
                key == "AZURE_STORAGE_USE_EMULATOR" && matches!(value.to_ascii_lowercase().as_str(), "true" | "1")
            });
            !emulator && !set("AZURE_STORAGE_ACCOUNT_NAME")
        }
    }
}

/// Retries that give up in seconds, not object_store's default three minutes: a CLI reporting
/// an unreachable bucket should say so promptly.
fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
    }
}

/// `(name, value)` pairs whose name starts with `prefix`, empty values left out.
fn with_prefix<'a>(variables: &'a [(String, String)], prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
    variables
        .iter()
        .filter(move |(name, value)| name.starts_with(prefix) && !value.is_empty())
        .map(|(name, value)| (name.as_str(), value.as_str()))
}

fn s3(bucket: &str, variables: &[(String, String)]) -> object_store::Result<object_store::aws::AmazonS3> {
    // ETag conditions (If-None-Match: * and If-Match) are what S3, MinIO, R2 and moto support;
    // set explicitly so a change of object_store's default cannot turn compare-and-swap off.
    let mut builder = AmazonS3Builder::new().with_conditional_put(S3ConditionalPut::ETagMatch).with_region("us-east-1");
    for (name, value) in with_prefix(variables, "AWS_") {
        if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    let explicit_http = variables.iter().any(|(name, _)| name == "AWS_ALLOW_HTTP");
    if !explicit_http
        && let Some(endpoint) = builder.get_config_value(&AmazonS3ConfigKey::Endpoint)
        && is_loopback_http(&endpoint)
    {
        builder = builder.with_allow_http(true);
    }
    let builder = builder.with_bucket_name(bucket).with_retry(retry());
    let resolved = builder.clone().build()?;
    builder.with_credentials(Labelled::wrap(Arc::clone(resolved.credentials()))).build()
}

fn gcs(bucket: &str, variables: &[(String, String)]) -> object_store::Result<object_store::gcp::GoogleCloudStorage> {
    let mut builder = GoogleCloudStorageBuilder::new();
    for (name, value) in variables {
        if value.is_empty() {
            continue;
        }
        if name == "SERVICE_ACCOUNT" {
            builder = builder.with_service_account_path(value.clone());
        } else if name.starts_with("GOOGLE_")
            && let Ok(key) = name.to_ascii_lowercase().parse()
        {
            builder = builder.with_config(key, value.clone());
        }
    }
    let builder = builder.with_bucket_name(bucket).with_retry(retry());
    let resolved = builder.clone().build()?;
    builder.with_credentials(Labelled::wrap(Arc::clone(resolved.credentials()))).build()
}

fn azure(url: &str, variables: &[(String, String)]) -> object_store::Result<object_store::azure::MicrosoftAzure> {
    let mut builder = MicrosoftAzureBuilder::new();
    for (name, value) in with_prefix(variables, "AZURE_") {
        if let Ok(key) = name.to_ascii_lowercase().parse() {
            builder = builder.with_config(key, value);
        }
    }
    let explicit_http = variables.iter().any(|(name, _)| name == "AZURE_ALLOW_HTTP");
    if !explicit_http
        && let Some(endpoint) = builder.get_config_value(&AzureConfigKey::Endpoint)
        && is_loopback_http(&endpoint)
    {
        builder = builder.with_allow_http(true);
    }
    let builder = builder.with_url(url).with_retry(retry());
    let resolved = builder.clone().build()?;
    // With AZURE_STORAGE_USE_EMULATOR the builder uses its fixed emulator key and ignores
    // these; they never fail.
    builder.with_credentials(Labelled::wrap(Arc::clone(resolved.credentials()))).build()
}

/// `http://127.0.0.1:5001`, `http://localhost`, `http://[::1]:9000`: the emulators of tests and
/// laptops, spoken to over plain HTTP as Docker does for local registries.
fn is_loopback_http(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(host, _)| host)
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn loopback_endpoints_speak_plain_http() {
        assert!(is_loopback_http("http://127.0.0.1:5001"));
        assert!(is_loopback_http("http://localhost/"));
        assert!(is_loopback_http("http://[::1]:9000"));
        assert!(is_loopback_http("http://127.0.0.1:10000/devstoreaccount1"));
        assert!(!is_loopback_http("http://minio.example.com:9000"));
        assert!(!is_loopback_http("https://127.0.0.1:5001"));
    }

    #[test]
    fn credentials_needed_up_front() {
        assert!(lacks_credentials(Cloud::S3, &pairs(&[("AWS_ACCESS_KEY_ID", "x")])));
        assert!(!lacks_credentials(Cloud::S3, &pairs(&[("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y")])));
        assert!(!lacks_credentials(Cloud::S3, &[]), "the instance metadata service may have them");
        assert!(lacks_credentials(Cloud::Azure, &pairs(&[("AZURE_STORAGE_ACCOUNT_KEY", "a2V5")])));
        assert!(!lacks_credentials(Cloud::Azure, &pairs(&[("AZURE_STORAGE_USE_EMULATOR", "TRUE")])));
        assert!(!lacks_credentials(Cloud::Azure, &pairs(&[("AZURE_STORAGE_ACCOUNT_NAME", "ci")])));
    }

    #[test]
    fn an_azure_store_without_an_account_lacks_credentials() {
        let error = build(Cloud::Azure, "az://artifacts", "artifacts", &[]).map(|_| ()).expect_err("no account");
        let BuildError::Credentials(error) = error else { panic!("{error:?}") };
        assert_eq!(error.problem(), Problem::Missing);
        let half = pairs(&[("AWS_ACCESS_KEY_ID", "AKIA")]);
        let error = build(Cloud::S3, "s3://ci", "ci", &half).map(|_| ()).expect_err("no secret");
        assert!(matches!(error, BuildError::Credentials(_)), "{error:?}");
    }
}
