//! Missing or refused cloud credentials: exit 3, and one message that says so once and names
//! the variables to set. Nothing here leaves the machine: the instance metadata services
//! object_store falls back to are pointed at a loopback port where nothing listens.

use crate::support::{Run, slipway_with_env};

fn run(args: &[&str], environment: &[(&str, &str)]) -> Run {
    let directory = tempfile::tempdir().expect("temporary directory");
    slipway_with_env(directory.path(), args, environment)
}

/// object_store's errors say how long a request took ("in 642.3ms") and Azure's carry a request
/// id and a time: replaced, so the snapshot holds the rest.
fn redact_variable_parts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" in ") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let number = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let unit = rest[number..].find(|c: char| !c.is_alphabetic()).map_or(rest.len(), |end| number + end);
        if number > 0 && unit > number {
            out.push_str("[ELAPSED]");
            rest = &rest[unit..];
        }
    }
    out.push_str(rest);
    out.lines()
        .map(|line| {
            let markup = line.find('<').map_or("", |at| &line[at..]);
            if line.starts_with("RequestId:") {
                format!("RequestId:[ID]{markup}")
            } else if line.starts_with("Time:") {
                format!("Time:[TIME]{markup}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The run failed with exit 3, saying once which variable to set.
fn assert_said_once(run: &Run, variable: &str) {
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.lines().filter(|line| line.starts_with("error:")).count(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.matches(variable).count(), 1, "{}", run.stderr);
}

#[test]
fn s3_without_credentials_exits_3_naming_the_variables() {
    let metadata = slipway_test::s3::closed_endpoint();
    let endpoint = slipway_test::s3::endpoint();
    let environment = [("AWS_ENDPOINT_URL", endpoint.as_str()), ("AWS_METADATA_ENDPOINT", metadata.as_str())];
    let run = run(&["marker", "get", "stable", "--storage", "s3://ci-bucket/release"], &environment);
    assert_said_once(&run, "AWS_SECRET_ACCESS_KEY");
    let port = metadata.rsplit(':').next().expect("a port");
    insta::assert_snapshot!(redact_variable_parts(&run.render(&[(port, "[PORT]")])));
}

#[test]
fn gcs_without_credentials_exits_3_naming_the_variables() {
    // object_store asks the GCE metadata server, at these addresses, when nothing else is set.
    let metadata = slipway_test::s3::closed_endpoint().replace("http://", "");
    let endpoint = slipway_test::gcs::endpoint();
    let environment = [
        ("GOOGLE_BASE_URL", endpoint.as_str()),
        ("GCE_METADATA_HOST", metadata.as_str()),
        ("GCE_METADATA_IP", metadata.as_str()),
    ];
    let run = run(&["results", "ingest", "gs://ci-logs/logs/ci-e2e"], &environment);
    assert_said_once(&run, "GOOGLE_APPLICATION_CREDENTIALS");
    insta::assert_snapshot!(redact_variable_parts(&run.render(&[(&metadata, "127.0.0.1:[PORT]")])));
}

#[test]
fn azure_without_an_account_exits_3_naming_the_variables() {
    let run = run(&["marker", "publish", "stable", "v1.31.2", "--storage", "az://artifacts/release"], &[]);
    assert_said_once(&run, "AZURE_STORAGE_ACCOUNT_KEY (");
    insta::assert_snapshot!(run.render(&[]));
}

#[test]
fn azure_refusing_the_key_exits_3_naming_the_variables() {
    let container = slipway_test::azure::unique_container("cli-wrong-key");
    let endpoint = slipway_test::azure::endpoint();
    // Well-formed, but not the account's key: Azurite checks every signature.
    let environment = slipway_test::azure::environment_with_key(&endpoint, "d3Jvbmcta2V5");
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let storage = format!("az://{container}/release");
    let run = run(&["marker", "publish", "stable", "v1.31.2", "--storage", &storage], &pairs);
    assert_said_once(&run, "AZURE_STORAGE_ACCOUNT_KEY (");
    let redactions = [(container.as_str(), "[CONTAINER]"), (endpoint.as_str(), "[ENDPOINT]")];
    insta::assert_snapshot!(redact_variable_parts(&run.render(&redactions)));
}
