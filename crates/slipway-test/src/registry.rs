//! The local OCI registry the tests push to (Debian's `docker-registry`, started by
//! `scripts/test-services.sh`).

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use slipway_oci::{Registry, RegistryOptions};

/// `host:port` of the test registry: `$SLIPWAY_TEST_REGISTRY`, else `127.0.0.1:5000`.
///
/// # Panics
///
/// When nothing listens there, with instructions to start it.
pub fn address() -> String {
    service_address("SLIPWAY_TEST_REGISTRY", "127.0.0.1:5000", "OCI registry")
}

/// The `host:port` in `variable`, else `default`, once something listens there.
///
/// # Panics
///
/// When nothing listens there, with instructions to start the test services.
pub(crate) fn service_address(variable: &str, default: &str, what: &str) -> String {
    let address = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    let reachable = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|socket| TcpStream::connect_timeout(&socket, Duration::from_secs(2)).is_ok());
    assert!(reachable, "no {what} at {address}: start it with `scripts/test-services.sh start` (or set {variable})");
    address
}

/// A repository name no other test (or earlier run) uses.
pub fn unique_repository(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
    format!("slipway-test/{name}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A client for the test registry, without credentials.
pub fn client() -> Registry {
    Registry::new(RegistryOptions { docker_config: None, ..RegistryOptions::default() })
}

/// A registry of its own, empty, on a fresh port, stopped and deleted on drop: for measurements
/// that must not find any blob already there.
pub struct Ephemeral {
    child: std::process::Child,
    address: String,
    _storage: tempfile::TempDir,
}

impl Ephemeral {
    /// Starts Debian's `docker-registry` on a free loopback port.
    ///
    /// # Panics
    ///
    /// When it is not installed or does not come up.
    pub fn start() -> Ephemeral {
        Ephemeral::serve(None, false)
    }

    /// [`Ephemeral::start`] in read-only mode: reads answer (nothing is there), every push is
    /// refused.
    ///
    /// # Panics
    ///
    /// When it is not installed or does not come up.
    pub fn start_read_only() -> Ephemeral {
        Ephemeral::serve(None, true)
    }

    /// [`Ephemeral::start`], refusing anyone who does not log in as `user` with `password`
    /// (htpasswd authentication; `htpasswd` comes from apache2-utils).
    ///
    /// # Panics
    ///
    /// When `htpasswd` or `docker-registry` is missing or the registry does not come up.
    pub fn start_with_credentials(user: &str, password: &str) -> Ephemeral {
        Ephemeral::serve(Some((user, password)), false)
    }

    fn serve(credentials: Option<(&str, &str)>, read_only: bool) -> Ephemeral {
        let storage = tempfile::tempdir().expect("temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let address = format!("127.0.0.1:{port}");
        let config = storage.path().join("config.yml");
        let mut text = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
            storage.path().join("data").display()
        );
        if read_only {
            text = text.replace("storage:\n", "storage:\n  maintenance:\n    readonly:\n      enabled: true\n");
        }
        if let Some((user, password)) = credentials {
            let htpasswd = storage.path().join("htpasswd");
            let output = std::process::Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd is installed by scripts/test-services.sh");
            assert!(output.status.success(), "htpasswd failed: {}", String::from_utf8_lossy(&output.stderr));
            fs_err::write(&htpasswd, &output.stdout).expect("write htpasswd");
            text.push_str(&format!("auth:\n  htpasswd:\n    realm: slipway-test\n    path: {}\n", htpasswd.display()));
        }
        fs_err::write(&config, text).expect("write registry config");
        let child = std::process::Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry is installed by scripts/test-services.sh");
        let socket: std::net::SocketAddr = address.parse().expect("an address");
        let started = std::time::Instant::now();
        while TcpStream::connect_timeout(&socket, Duration::from_millis(100)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "docker-registry did not start on {address}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ephemeral { child, address, _storage: storage }
    }

    /// `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
