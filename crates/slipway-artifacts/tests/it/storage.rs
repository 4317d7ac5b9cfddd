//! Opening storage, and what an unreachable or missing bucket and missing or refused credentials
//! look like, on each cloud.

use slipway_artifacts::{Cloud, Error, Markers, Problem, Storage, allocate_build_id};
use slipway_core::exit;

use crate::support::Backend;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

/// Nothing listens at `environment`'s endpoint: every operation is an infrastructure error that
/// names the storage URL.
async fn unreachable(url: &str, environment: Vec<(String, String)>) {
    let storage = Storage::open_with(url, environment).expect("a valid URL");
    let error = Markers::new(storage.clone()).get("stable").await.expect_err("unreachable");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    assert!(error.to_string().starts_with(&format!("could not read `stable.txt` in `{url}`")), "{error}");
    assert!(error.credentials().is_none(), "not a credentials problem: {error:?}");
    let error = allocate_build_id(&storage, "periodic", 1_760_000_000_000).await.expect_err("unreachable");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
}

#[tokio::test]
async fn an_unreachable_s3_endpoint_is_an_infrastructure_error_naming_the_url() {
    unreachable("s3://ci-bucket/release", slipway_test::s3::environment_for(&slipway_test::s3::closed_endpoint()))
        .await;
}

#[tokio::test]
async fn an_unreachable_gcs_endpoint_is_an_infrastructure_error_naming_the_url() {
    let environment = slipway_test::gcs::environment_for(&slipway_test::s3::closed_endpoint());
    unreachable("gs://ci-bucket/release", environment).await;
}

#[tokio::test]
async fn an_unreachable_azure_endpoint_is_an_infrastructure_error_naming_the_url() {
    let endpoint = format!("{}/{}", slipway_test::s3::closed_endpoint(), slipway_test::azure::ACCOUNT);
    unreachable("az://ci-container/release", slipway_test::azure::environment_for(&endpoint)).await;
}

/// A bucket (container) that does not exist is named as such, for reads and writes.
async fn a_missing_bucket_is_an_infrastructure_error(scheme: &str, bucket: &str, environment: Vec<(String, String)>) {
    let url = format!("{scheme}://{bucket}-never-created");
    let markers = Markers::new(Storage::open_with(&url, environment).expect("a valid URL"));
    let error = markers.get("stable").await.expect_err("no bucket");
    assert!(matches!(&error, Error::NoBucket { url: named } if *named == url), "{error:?}");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    let error = markers.publish("stable", "v1.31.2", false).await.expect_err("no bucket");
    assert_eq!(error.to_string(), format!("the bucket of `{url}` does not exist"));
}

#[tokio::test]
async fn a_missing_s3_bucket_is_an_infrastructure_error() {
    let bucket = slipway_test::s3::unique_bucket("missing");
    a_missing_bucket_is_an_infrastructure_error("s3", &bucket, slipway_test::s3::environment()).await;
}

#[tokio::test]
async fn a_missing_azure_container_is_an_infrastructure_error() {
    let container = slipway_test::azure::unique_container("missing");
    a_missing_bucket_is_an_infrastructure_error("az", &container, slipway_test::azure::environment()).await;
}

#[tokio::test]
#[ignore = "needs real GCS (fake-gcs-server answers 500, not 404, for a bucket that does not exist): set SLIPWAY_TEST_GCS=gs://BUCKET/PREFIX and GOOGLE_APPLICATION_CREDENTIALS, then `cargo test -p slipway-artifacts --test it -- --ignored gcs`"]
async fn a_missing_gcs_bucket_is_an_infrastructure_error() {
    let url = std::env::var("SLIPWAY_TEST_GCS").expect("SLIPWAY_TEST_GCS=gs://BUCKET/PREFIX");
    let bucket = url.trim_start_matches("gs://").split('/').next().expect("a bucket").to_owned();
    let environment = std::env::vars().collect();
    a_missing_bucket_is_an_infrastructure_error("gs", &format!("{bucket}-{}", std::process::id()), environment).await;
}

/// The emulator's gap, checked so it is noticed when it closes: fake-gcs-server answers
/// object_store's XML-API upload with 400 "invalid uploadType", so no scenario that writes can
/// run on it (docs/design/storage.md). slipway reports that as a failed write, naming the object.
#[tokio::test]
async fn the_gcs_emulator_refuses_object_store_uploads() {
    let fixture = Backend::Gcs.fresh("uploads");
    let error = Markers::new(fixture.storage.clone()).publish("stable", "v1.31.2", false).await.expect_err("refused");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    let url = fixture.storage.url();
    assert!(error.to_string().starts_with(&format!("could not write `stable.txt` in `{url}`")), "{error}");
    let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(cause.contains("status code: 400"), "{cause}");
    assert_eq!(Markers::new(fixture.storage).get("stable").await.expect("get"), None, "nothing was written");
}

#[tokio::test]
async fn s3_without_credentials_says_which_variables_to_set() {
    // Without keys object_store asks the instance metadata service; here one that is not there.
    let mut environment = slipway_test::s3::environment();
    environment.retain(|(name, _)| name != "AWS_ACCESS_KEY_ID" && name != "AWS_SECRET_ACCESS_KEY");
    environment.push(("AWS_METADATA_ENDPOINT".to_owned(), slipway_test::s3::closed_endpoint()));
    let storage = Storage::open_with("s3://ci-bucket/release", environment).expect("a valid URL");
    let error = Markers::new(storage).get("stable").await.expect_err("no credentials");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    let credentials = error.credentials().expect("a credentials problem");
    assert_eq!((credentials.cloud(), credentials.problem()), (Cloud::S3, Problem::Missing));
    assert!(credentials.to_string().contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{credentials}");

    let half = pairs(&[("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
    let error = Storage::open_with("s3://ci-bucket", half).expect_err("a secret is missing");
    assert!(matches!(error, Error::Configure { .. }), "{error:?}");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE, "credentials are never a usage error");
    assert_eq!(error.credentials().map(|credentials| credentials.problem()), Some(Problem::Missing));
}

#[tokio::test]
async fn azure_without_credentials_says_which_variables_to_set() {
    let error = Storage::open_with("az://artifacts", pairs(&[])).expect_err("no account");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    let credentials = error.credentials().expect("a credentials problem");
    assert_eq!((credentials.cloud(), credentials.problem()), (Cloud::Azure, Problem::Missing));
    assert!(credentials.to_string().contains("set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY"));

    // An account without a key: object_store asks the managed identity endpoint (not there).
    let container = slipway_test::azure::unique_container("no-key");
    let mut environment = slipway_test::azure::environment();
    environment.retain(|(name, _)| name != "AZURE_STORAGE_ACCOUNT_KEY");
    environment.push(("AZURE_MSI_ENDPOINT".to_owned(), format!("{}/token", slipway_test::s3::closed_endpoint())));
    let storage = Storage::open_with(&format!("az://{container}"), environment).expect("a valid URL");
    let error = Markers::new(storage).get("stable").await.expect_err("no credentials");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    assert_eq!(error.credentials().map(|credentials| credentials.problem()), Some(Problem::Missing), "{error:?}");
}

#[tokio::test]
async fn azure_refusing_a_key_says_which_variables_to_set() {
    let container = slipway_test::azure::unique_container("wrong-key");
    // A well-formed key that is not the account's: Azurite checks every signature.
    let environment = slipway_test::azure::environment_with_key(&slipway_test::azure::endpoint(), "d3Jvbmcta2V5");
    let storage = Storage::open_with(&format!("az://{container}/release"), environment).expect("a valid URL");
    let markers = Markers::new(storage);
    for error in [
        markers.get("stable").await.expect_err("refused"),
        markers.publish("stable", "v1.31.2", false).await.expect_err("refused"),
    ] {
        assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
        let credentials = error.credentials().unwrap_or_else(|| panic!("a credentials problem: {error:?}"));
        assert_eq!((credentials.cloud(), credentials.problem()), (Cloud::Azure, Problem::Rejected(403)));
    }
}

#[test]
fn bad_urls_are_usage_errors() {
    for url in ["ftp://host/dir", "s3://", "gs://bucket/a//b", "file://relative"] {
        let error = Storage::open(url).expect_err(url);
        assert_eq!(error.exit_code(), exit::USAGE, "{url}");
        assert!(error.to_string().starts_with(&format!("invalid storage URL `{url}`")), "{error}");
    }
}

#[test]
fn gcs_and_azure_urls_open_without_contacting_anything() {
    let gcs = Storage::open_with("gs://kubernetes-ci-logs/logs", [("GOOGLE_SERVICE_ACCOUNT_KEY", "")]).expect("gs://");
    assert_eq!(gcs.object_url("x.txt"), "gs://kubernetes-ci-logs/logs/x.txt");
    let azure = Storage::open_with(
        "az://artifacts/ci",
        [("AZURE_STORAGE_USE_EMULATOR", "true"), ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1")],
    )
    .expect("az://");
    assert_eq!(azure.url(), "az://artifacts/ci");
    assert!(Storage::open_with("azure://artifacts", [("AZURE_STORAGE_USE_EMULATOR", "true")]).is_ok());
}
