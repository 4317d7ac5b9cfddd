//! The Docker engine the tests use: Debian's `docker.io` daemon, started by
//! `scripts/test-services.sh` with its socket under the services directory and the test
//! registry (127.0.0.1:5000) as an insecure registry. It runs unprivileged containers only.

use std::path::PathBuf;

/// The variables that point the docker CLI at the test daemon.
///
/// # Panics
///
/// When the daemon's socket is missing, with instructions.
pub fn environment() -> [(&'static str, String); 1] {
    let state =
        PathBuf::from(std::env::var("SLIPWAY_SERVICES_DIR").unwrap_or_else(|_| "/tmp/slipway-services".to_owned()));
    let socket = state.join("dockerd/docker.sock");
    assert!(
        socket.exists(),
        "the Docker daemon is not running (no {}): run `scripts/test-services.sh start`",
        socket.display()
    );
    [("DOCKER_HOST", format!("unix://{}", socket.display()))]
}
