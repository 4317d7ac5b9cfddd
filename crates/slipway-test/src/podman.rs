//! podman, configured by `scripts/test-services.sh` for this kind of machine (runc, vfs storage,
//! fixed rlimits).

use std::path::PathBuf;
use std::process::Command;

/// The variables that point podman at the test configuration, for code that runs podman itself.
///
/// # Panics
///
/// When the configuration is missing, with instructions.
pub fn environment() -> [(&'static str, PathBuf); 2] {
    let state =
        PathBuf::from(std::env::var("SLIPWAY_SERVICES_DIR").unwrap_or_else(|_| "/tmp/slipway-services".to_owned()));
    let containers = state.join("podman/containers.conf");
    let storage = state.join("podman/storage.conf");
    assert!(
        containers.is_file() && storage.is_file(),
        "podman is not configured at {}: run `scripts/test-services.sh start`",
        state.display()
    );
    [("CONTAINERS_CONF", containers), ("CONTAINERS_STORAGE_CONF", storage)]
}

/// `podman` with the test configuration.
///
/// # Panics
///
/// When podman or its configuration is missing, with instructions.
pub fn command() -> Command {
    let mut command = Command::new("podman");
    command.envs(environment());
    command
}

/// Runs `podman run --rm --network=none IMAGE ARGS...` and returns stdout.
///
/// # Panics
///
/// When the container fails.
pub fn run(image: &str, args: &[&str]) -> String {
    let output = command()
        .args(["run", "--rm", "--network=none", "--tls-verify=false", image])
        .args(args)
        .output()
        .expect("podman is installed by scripts/test-services.sh");
    assert!(output.status.success(), "podman run {image} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
