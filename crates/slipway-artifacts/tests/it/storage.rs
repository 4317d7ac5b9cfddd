//! Opening storage, and what an unreachable or missing bucket looks like.

use slipway_artifacts::{Error, Markers, Storage, allocate_build_id};
use slipway_core::exit;

#[tokio::test]
async fn an_unreachable_endpoint_is_an_infrastructure_error_naming_the_url() {
    let environment = slipway_test::s3::environment_for(&slipway_test::s3::closed_endpoint());
    let storage = Storage::open_with("s3://ci-bucket/release", environment).expect("a valid URL");
    let error = Markers::new(storage.clone()).get("stable").await.expect_err("unreachable");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    assert!(error.to_string().starts_with("could not read `stable.txt` in `s3://ci-bucket/release`"), "{error}");
    let error = allocate_build_id(&storage, "periodic", 1_760_000_000_000).await.expect_err("unreachable");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
}

#[tokio::test]
async fn a_missing_bucket_is_an_infrastructure_error() {
    let environment = slipway_test::s3::environment();
    let url = format!("s3://{}-never-created", slipway_test::s3::unique_bucket("missing"));
    let markers = Markers::new(Storage::open_with(&url, environment).expect("a valid URL"));
    let error = markers.get("stable").await.expect_err("no bucket");
    assert!(matches!(&error, Error::NoBucket { url: named } if *named == url), "{error:?}");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    let error = markers.publish("stable", "v1.31.2", false).await.expect_err("no bucket");
    assert_eq!(error.to_string(), format!("the bucket of `{url}` does not exist"));
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
