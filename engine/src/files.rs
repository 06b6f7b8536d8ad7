//! Where a model's files come from: a folder on disk (the native node) or bytes in memory
//! (the browser node, which reads them from its cache). The engine's loaders
//! ([`crate::sd::SdFiles::read`], [`crate::llm::LlmFiles::read`]) take either.

use std::collections::BTreeMap;

use crate::error::{EngineError, Result};

/// A model's files by their path inside the model (`unet/config.json`).
pub trait ModelFiles {
    /// The file at `path`, or `None` when the model has no such file.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>>;

    /// How error messages name `path`.
    fn describe(&self, path: &str) -> String {
        path.to_owned()
    }

    /// The file at `path`, which the model must have.
    fn required(&self, path: &str) -> Result<Vec<u8>> {
        self.read(path)?
            .ok_or_else(|| EngineError::InvalidModel(format!("{} is missing", self.describe(path))))
    }

    /// The text file at `path`, if present.
    fn text(&self, path: &str) -> Result<Option<String>> {
        self.read(path)?
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    EngineError::InvalidModel(format!("{}: not UTF-8", self.describe(path)))
                })
            })
            .transpose()
    }

    /// The text file at `path`, which the model must have.
    fn required_text(&self, path: &str) -> Result<String> {
        self.text(path)?
            .ok_or_else(|| EngineError::InvalidModel(format!("{} is missing", self.describe(path))))
    }
}

impl ModelFiles for std::path::Path {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let full = self.join(path);
        match std::fs::read(&full) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(EngineError::Io {
                path: full.display().to_string(),
                source,
            }),
        }
    }

    fn describe(&self, path: &str) -> String {
        self.join(path).display().to_string()
    }
}

/// Files held in memory, by path.
impl ModelFiles for BTreeMap<String, Vec<u8>> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get(path).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_folder_read_alike() {
        let dir = std::env::temp_dir().join(format!("tessera-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("unet")).unwrap();
        std::fs::write(dir.join("unet/config.json"), b"{}").unwrap();
        let memory = BTreeMap::from([("unet/config.json".to_owned(), b"{}".to_vec())]);
        fn check(files: &(impl ModelFiles + ?Sized)) {
            assert_eq!(files.required_text("unet/config.json").unwrap(), "{}");
            assert_eq!(files.text("vae/config.json").unwrap(), None);
            let missing = files.required("vae/config.json").unwrap_err().to_string();
            assert!(missing.contains("vae/config.json is missing"), "{missing}");
        }
        check(dir.as_path());
        check(&memory);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
