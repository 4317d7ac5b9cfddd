//! Where the test inputs are: the shared corpus of real files from other projects, and the
//! bundled example project.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bundled example project, `examples/hello-operator`.
pub fn example() -> PathBuf {
    workspace().join("examples/hello-operator")
}

/// `shared/corpus`: `$SLIPWAY_SHARED/corpus` if set, else the first `shared/corpus` beside the
/// checkout or one of its ancestors (developers and CI have `../shared` beside the project).
///
/// # Panics
///
/// When there is none, saying where it was looked for.
pub fn corpus() -> PathBuf {
    if let Some(shared) = std::env::var_os("SLIPWAY_SHARED") {
        let corpus = PathBuf::from(shared).join("corpus");
        assert!(corpus.is_dir(), "SLIPWAY_SHARED is set but {} is not a directory", corpus.display());
        return corpus;
    }
    let root = workspace().canonicalize().unwrap_or_else(|_| workspace());
    root.ancestors()
        .map(|directory| directory.join("shared/corpus"))
        .find(|candidate| candidate.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/corpus beside {} or its ancestors; put the shared directory beside the checkout or set SLIPWAY_SHARED",
                root.display()
            )
        })
}
