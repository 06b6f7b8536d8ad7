//! File writes that survive a power cut or an OS crash, not only a process crash.
//!
//! A rename is atomic but not durable: until the directory holding the new name is synced,
//! the kernel may lose the rename (and a new directory's entry in its parent) on a crash,
//! leaving the old content or no file at all even though the data itself was synced.
//! Every function here syncs what it changed: the file's data before the rename, then the
//! directory the rename (or `mkdir`) wrote into.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path`: a temporary file beside it (`<path>.tmp`), synced, renamed
/// into place, then the directory synced. A crash at any moment leaves the old content or
/// the new, never a part, and once this returns the new content survives a power cut.
/// Missing parent directories are created durably.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = parent(path) {
        create_dirs(dir)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    {
        let mut file = std::fs::File::create(tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    rename(tmp, path)
}

/// Renames a synced file `from` to `to` and syncs the directories that changed (both, when
/// they differ).
pub fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    let to_dir = parent(to).unwrap_or(Path::new("."));
    sync_dir(to_dir)?;
    match parent(from) {
        Some(from_dir) if from_dir != to_dir => sync_dir(from_dir),
        _ => Ok(()),
    }
}

/// Creates `dir` and any missing parents, syncing each parent that gained an entry.
pub fn create_dirs(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(up) = parent(dir) {
        create_dirs(up)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => sync_dir(parent(dir).unwrap_or(Path::new("."))),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Syncs a directory, making the entries created, renamed or removed in it durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The parent directory, `None` for a bare name (the current directory) or the root.
fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}
