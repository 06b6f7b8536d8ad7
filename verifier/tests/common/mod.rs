//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The project's shared reference data: `$TESSERA_SHARED`, else `../shared` beside the
/// workspace root.
pub(crate) fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("TESSERA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("vectors").is_dir(),
        "reference data not found at {}: set TESSERA_SHARED to the shared/ folder",
        dir.display()
    );
    dir
}
