//! The init process of a container job: something must be PID 1 that forwards SIGTERM to the
//! job and reaps its exited children, or a timeout's SIGTERM is ignored and zombies pile up.
//!
//! `--init` makes the engine mount its init binary. docker's daemon brings its own
//! (`docker-init`). podman looks for the file its `init_path` names (catatonit by default), and
//! fails every container when it is not there, as on a Debian machine where `docker.io` pulled in
//! tini and that satisfied podman's "catatonit | tini | dumb-init". So for podman slipway looks
//! for itself: the configured or default catatonit, else a statically linked catatonit, tini or
//! dumb-init on the host, given with `--init-path` (a dynamically linked one would not run in an
//! image without the host's libc), else no init at all, which the run's log says.
//!
//! `SLIPWAY_CONTAINER_INIT` overrides the choice: `auto` (the default), `none`, or the path of
//! an init binary.

use std::path::{Path, PathBuf};

/// How a container gets its init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Init {
    /// `--init`: the engine's own.
    Engine,
    /// `--init --init-path PATH`.
    Path(PathBuf),
    /// No init: the job is PID 1.
    None,
}

impl Init {
    /// The arguments of `create` that give the init.
    pub(crate) fn arguments(&self) -> Vec<std::ffi::OsString> {
        match self {
            Init::Engine => vec!["--init".into()],
            Init::Path(path) => vec!["--init".into(), "--init-path".into(), path.clone().into_os_string()],
            Init::None => Vec::new(),
        }
    }

    /// A line for the run's log when the job runs without an init.
    pub(crate) fn note(&self) -> Option<String> {
        matches!(self, Init::None).then(|| {
            "slipway: no init for the container (no catatonit, tini or dumb-init on this host; set SLIPWAY_CONTAINER_INIT to one): the job is PID 1, so it must handle SIGTERM itself, and its exited children are not reaped".to_owned()
        })
    }
}

/// Where podman looks for catatonit when `init_path` is not set.
const PODMAN_DEFAULTS: &[&str] = &[
    "/usr/libexec/podman/catatonit",
    "/usr/local/libexec/podman/catatonit",
    "/usr/local/lib/podman/catatonit",
    "/usr/lib/podman/catatonit",
];

/// Inits slipway can hand to podman, best first.
const CANDIDATES: &[&str] = &[
    "/usr/bin/catatonit",
    "/usr/local/bin/catatonit",
    "/usr/bin/tini-static",
    "/usr/bin/docker-init",
    "/usr/libexec/docker/docker-init",
    "/usr/bin/tini",
    "/usr/local/bin/tini",
    "/usr/bin/dumb-init",
    "/usr/local/bin/dumb-init",
    "/sbin/tini",
];

/// What the host offers, for [`choose`]: injected so the choice is tested without the files.
pub trait Host {
    /// Whether `path` is an executable file.
    fn exists(&self, path: &Path) -> bool;
    /// Whether `path` is a statically linked ELF binary.
    fn is_static(&self, path: &Path) -> bool;
}

/// The real file system.
pub struct RealHost;

impl Host for RealHost {
    fn exists(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn is_static(&self, path: &Path) -> bool {
        let Ok(mut file) = std::fs::File::open(path) else {
            return false;
        };
        let mut bytes = Vec::new();
        // Program headers sit near the start; an init is small anyway.
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, 64 * 1024), &mut bytes);
        slipway_core::elf::is_static(&bytes) == Some(true)
    }
}

/// The init podman should use, given the `init_path` its configuration sets (if any) and the
/// `SLIPWAY_CONTAINER_INIT` override (if any).
pub fn choose(configured: Option<&Path>, overridden: Option<&str>, host: &dyn Host) -> Init {
    match overridden.map(str::trim) {
        Some("none") => return Init::None,
        Some(path) if !path.is_empty() && path != "auto" => return Init::Path(PathBuf::from(path)),
        _ => {}
    }
    match configured {
        Some(path) if host.exists(path) => return Init::Engine,
        Some(_) => {}
        None if PODMAN_DEFAULTS.iter().any(|path| host.exists(Path::new(path))) => return Init::Engine,
        None => {}
    }
    CANDIDATES
        .iter()
        .map(Path::new)
        .find(|path| host.exists(path) && host.is_static(path))
        .map_or(Init::None, |path| Init::Path(path.to_path_buf()))
}

/// The `init_path` podman's configuration sets: `$CONTAINERS_CONF` alone when it is set, else the
/// system, admin and user files, later ones winning.
pub fn configured_init_path(containers_conf: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let files: Vec<PathBuf> = match containers_conf {
        Some(file) => vec![file.to_path_buf()],
        None => {
            let mut files = vec![
                PathBuf::from("/usr/share/containers/containers.conf"),
                PathBuf::from("/etc/containers/containers.conf"),
            ];
            files.extend(home.map(|home| home.join(".config/containers/containers.conf")));
            files
        }
    };
    files.iter().filter_map(|file| std::fs::File::open(file).ok()).fold(None, |found, file| {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::Read::take(file, 1024 * 1024), &mut text);
        init_path_in(&text).or(found)
    })
}

/// `init_path = "..."` in a containers.conf text (comments and other tables ignored).
fn init_path_in(text: &str) -> Option<PathBuf> {
    let mut table = "";
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            table = line;
            continue;
        }
        if table != "[containers]" || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "init_path"
        {
            let value = value.trim().trim_matches(['"', '\'']);
            if !value.is_empty() {
                found = Some(PathBuf::from(value));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeHost {
        files: Vec<(&'static str, bool)>,
    }

    impl Host for FakeHost {
        fn exists(&self, path: &Path) -> bool {
            self.files.iter().any(|(file, _)| Path::new(file) == path)
        }
        fn is_static(&self, path: &Path) -> bool {
            self.files.iter().any(|(file, linked)| Path::new(file) == path && *linked)
        }
    }

    #[test]
    fn podman_gets_an_init_that_exists() {
        let catatonit = FakeHost { files: vec![("/usr/libexec/podman/catatonit", true), ("/usr/bin/catatonit", true)] };
        assert_eq!(choose(None, None, &catatonit), Init::Engine);
        // Debian with docker.io: tini (dynamic) and tini-static, no catatonit.
        let tini = FakeHost { files: vec![("/usr/bin/tini", false), ("/usr/bin/tini-static", true)] };
        assert_eq!(choose(None, None, &tini), Init::Path("/usr/bin/tini-static".into()));
        let dynamic_only = FakeHost { files: vec![("/usr/bin/tini", false)] };
        assert_eq!(choose(None, None, &dynamic_only), Init::None);
        let dumb = FakeHost { files: vec![("/usr/bin/dumb-init", true)] };
        assert_eq!(choose(None, Some("auto"), &dumb), Init::Path("/usr/bin/dumb-init".into()));
        // A configured init_path that is missing makes podman fail: look for another.
        let configured = Path::new("/opt/init");
        assert_eq!(choose(Some(configured), None, &dumb), Init::Path("/usr/bin/dumb-init".into()));
        let present = FakeHost { files: vec![("/opt/init", true)] };
        assert_eq!(choose(Some(configured), None, &present), Init::Engine);
        assert_eq!(choose(None, Some("none"), &catatonit), Init::None);
        assert_eq!(choose(None, Some("/srv/my-init"), &catatonit), Init::Path("/srv/my-init".into()));
        assert!(Init::None.note().is_some() && Init::Engine.note().is_none());
        assert_eq!(Init::Path("/x".into()).arguments(), ["--init", "--init-path", "/x"].map(std::ffi::OsString::from));
    }

    #[test]
    fn the_configured_init_path_is_read() {
        let text = "[engine]\ninit_path = \"/not/here\"\n[containers]\n# init_path = \"/commented\"\ninit_path = \"/usr/bin/tini-static\"\n";
        assert_eq!(init_path_in(text), Some("/usr/bin/tini-static".into()));
        assert_eq!(init_path_in("[containers]\ndefault_ulimits = []\n"), None);
    }

    #[test]
    fn this_host_is_read_for_real() {
        // Whatever the machine has, the choice is one podman can start.
        match choose(configured_init_path(None, None).as_deref(), None, &RealHost) {
            Init::Engine | Init::None => {}
            Init::Path(path) => assert!(RealHost.is_static(&path), "{}", path.display()),
        }
    }
}
