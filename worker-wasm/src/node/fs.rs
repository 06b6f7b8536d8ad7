//! Files the node writes: errors that name the path, and durable writes.

use std::io::Write as _;
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

/// Writes `bytes` to `path` through a synced temporary file and a rename, so a crash leaves
/// either the old content or the new, never a part.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(FsError::at(&tmp))?;
    file.write_all(bytes).map_err(FsError::at(&tmp))?;
    file.sync_all().map_err(FsError::at(&tmp))?;
    std::fs::rename(&tmp, path).map_err(FsError::at(path))
}
