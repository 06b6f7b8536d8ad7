//! Where things are, found at run time: the checkout, the tools it installs, and the shared
//! reference data (the vectors and checkpoints that goimagehash, PyTorch, diffusers and
//! transformers produced, which tests, benchmarks and the devnet read).
//!
//! Never from a path fixed at compile time (`env!("CARGO_MANIFEST_DIR")`): with a shared
//! `CARGO_TARGET_DIR`, a binary built in one clone can be reused by another, and must still
//! act on the clone it runs in.
//!
//! - [`workspace_root`]: the checkout: the nearest ancestor of the package cargo runs
//!   (`$CARGO_MANIFEST_DIR` at run time) or of the current directory whose `Cargo.toml`
//!   declares `[workspace]`.
//! - [`shared`]: `$TESSERA_SHARED`, or `shared/` beside the checkout.
//! - [`anvil`]: the anvil binary npm installed in `contracts/node_modules`.

use std::path::{Path, PathBuf};

/// The variable that names the shared folder.
pub const SHARED_ENV: &str = "TESSERA_SHARED";

/// Something that was not where it was looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// What was looked for.
    pub what: &'static str,
    /// Where, and what to do about it.
    pub detail: String,
}

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} not found: {}", self.what, self.detail)
    }
}

impl std::error::Error for NotFound {}

/// The checkout's root: the nearest ancestor of `$CARGO_MANIFEST_DIR` (set by cargo for the
/// programs it runs) or of the current directory whose `Cargo.toml` has a `[workspace]`.
pub fn workspace_root() -> Result<PathBuf, NotFound> {
    let start = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().map_err(|e| NotFound {
            what: "the Tessera checkout",
            detail: format!("the current directory is unreadable: {e}"),
        })?,
    };
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
        .ok_or_else(|| NotFound {
            what: "the Tessera checkout",
            detail: format!(
                "no Cargo.toml with [workspace] in {} or above: run from inside the checkout",
                start.display()
            ),
        })
}

/// The shared reference data: `$TESSERA_SHARED`, or `shared/` beside the checkout.
pub fn try_shared() -> Result<PathBuf, NotFound> {
    let dir = match std::env::var_os(SHARED_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root()?.join("../shared"),
    };
    if dir.join("reference").is_dir() && dir.join("vectors").is_dir() {
        Ok(dir)
    } else {
        Err(NotFound {
            what: "the shared reference data",
            detail: format!(
                "{} has no reference/ and vectors/: set {SHARED_ENV} to the shared folder",
                dir.display()
            ),
        })
    }
}

/// The shared reference data, for tests and benchmarks: panics with [`NotFound`]'s words.
pub fn shared() -> PathBuf {
    try_shared().unwrap_or_else(|e| panic!("{e}"))
}

/// `shared/reference/<name>`: checkpoints and the outputs made from them.
pub fn reference(name: &str) -> PathBuf {
    shared().join("reference").join(name)
}

/// `shared/vectors/<name>`: pHash images and protocol vectors.
pub fn vectors(name: &str) -> PathBuf {
    shared().join("vectors").join(name)
}

/// Reads `path`; panics naming the file (for tests).
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Reads and parses `shared/reference/<name>` as JSON; panics naming the file (for tests).
pub fn json(name: &str) -> serde_json::Value {
    let path = reference(name);
    serde_json::from_slice(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The native anvil binary npm installed in `contracts/node_modules` (the platform package
/// `@foundry-rs/anvil-<os>-<arch>` holds it; the `.bin/anvil` shim is a node script that
/// would outlive a kill).
pub fn anvil() -> Result<PathBuf, NotFound> {
    let scope = workspace_root()?.join("contracts/node_modules/@foundry-rs");
    let missing = || NotFound {
        what: "anvil",
        detail: format!(
            "no anvil-<platform>/bin/anvil under {}: `cargo xtask install` (or `npm ci` in \
             contracts/) installs it",
            scope.display()
        ),
    };
    std::fs::read_dir(&scope)
        .map_err(|_| missing())?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("anvil-"))
        .map(|e| e.path().join("bin/anvil"))
        .find(|p| p.is_file())
        .ok_or_else(missing)
}
