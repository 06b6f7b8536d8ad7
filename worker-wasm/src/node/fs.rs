//! Files the node writes: errors that name the path, and durable writes.

use std::path::Path;

/// A file operation that failed, with the path.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FsError {
    /// The file or folder.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl FsError {
    /// A `map_err` adapter naming `path`.
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
        move |source| FsError {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Writes `bytes` to `path` durably ([`durable::write`]): a crash leaves the old content or
/// the new, never a part, and once written it survives a power cut.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    durable::write(path, bytes).map_err(FsError::at(path))
}

/// Creates `dir` and its missing parents durably ([`durable::create_dirs`]).
pub(super) fn create_dirs(dir: &Path) -> Result<(), FsError> {
    durable::create_dirs(dir).map_err(FsError::at(dir))
}
