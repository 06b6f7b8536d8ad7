//! Model files: layouts, and importing a model directory (the naming rules are in
//! [`relay_api`], shared with clients).

use std::path::Path;

use alloy_primitives::B256;
use futures_util::StreamExt as _;
use tokio_util::io::ReaderStream;

use crate::blob::{BlobError, BlobStore};
use crate::db::{Db, DbError, Model, ModelFile};
pub use relay_api::{Layout, MAX_NAME_LEN, MAX_PATH_LEN, ModelListing, NameError, check_name};

/// The layout of a model with these files.
pub fn layout(files: &[ModelFile]) -> Layout {
    let has = |path: &str| files.iter().any(|f| f.path == path);
    let has_under = |dir: &str| files.iter().any(|f| f.path.starts_with(dir));
    if has("model_index.json") && has_under("unet/") && has_under("vae/") {
        Layout::DiffusersPipeline
    } else if has("config.json")
        && files
            .iter()
            .any(|f| !f.path.contains('/') && f.path.ends_with(".safetensors"))
    {
        Layout::Transformers
    } else if !files.is_empty()
        && !has("model_index.json")
        && files
            .iter()
            .all(|f| !f.path.contains('/') && f.path.ends_with(".safetensors"))
    {
        Layout::Lora
    } else {
        Layout::Other
    }
}

impl From<Model> for ModelListing {
    fn from(model: Model) -> Self {
        Self {
            layout: layout(&model.files),
            size: model.files.iter().map(|f| f.size).sum(),
            name: model.name,
            files: model.files,
        }
    }
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A name or path is not acceptable.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Reading the directory failed.
    #[error("reading {path}: {source}")]
    Read {
        /// The file or directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Storing failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Recording failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Imports every file under `dir` as model `name`, each stored by its SHA-256 and
/// recorded under its path relative to `dir`. Returns the files, sorted by path.
pub async fn import_dir(
    db: &dyn Db,
    blobs: &dyn BlobStore,
    name: &str,
    dir: &Path,
    max_file_bytes: u64,
) -> Result<Vec<ModelFile>, ImportError> {
    check_name("model name", name, MAX_NAME_LEN)?;
    let mut paths = Vec::new();
    collect_files(dir, dir, &mut paths)?;
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for relative in paths {
        check_name("model file path", &relative, MAX_PATH_LEN)?;
        let full = dir.join(&relative);
        let read_error = |source| ImportError::Read {
            path: full.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(&full).await.map_err(read_error)?;
        let stream = ReaderStream::with_capacity(file, 1 << 20)
            .map(|chunk| chunk.map_err(BlobError::Io))
            .boxed();
        let (sha256, size) = blobs.put_stream(stream, max_file_bytes, None).await?;
        let record = ModelFile {
            path: relative,
            sha256,
            size,
        };
        db.upsert_model_file(name, &record).await?;
        tracing::info!(model = name, path = %record.path, %sha256, size, "imported model file");
        files.push(record);
    }
    Ok(files)
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), ImportError> {
    let read_error = |source| ImportError::Read {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(read_error)?;
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else if kind.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            out.push(
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
    Ok(())
}

/// Parses a content hash from a URL segment (64 hex digits, optional `0x`).
pub fn parse_sha256(value: &str) -> Option<B256> {
    let digits = value.strip_prefix("0x").unwrap_or(value);
    (digits.len() == 64).then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "gpt2",
            "runwayml/stable-diffusion-v1-5",
            "unet/diffusion_pytorch_model.safetensors",
        ] {
            check_name("x", ok, 200).unwrap();
        }
        for bad in [
            "",
            "../etc/passwd",
            "a//b",
            "/abs",
            "a/./b",
            "sp ace",
            "ü",
            "a/",
        ] {
            assert!(check_name("x", bad, 200).is_err(), "{bad}");
        }
        assert!(check_name("x", &"a".repeat(201), 200).is_err());
    }

    #[test]
    fn sha256_segments() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_sha256(&hex), Some(B256::repeat_byte(0xab)));
        assert_eq!(
            parse_sha256(&format!("0x{hex}")),
            Some(B256::repeat_byte(0xab))
        );
        assert_eq!(parse_sha256("abc"), None);
        assert_eq!(parse_sha256(&"zz".repeat(32)), None);
    }

    #[test]
    fn layouts_follow_the_paths() {
        let files = |paths: &[&str]| -> Vec<ModelFile> {
            paths
                .iter()
                .map(|p| ModelFile {
                    path: (*p).into(),
                    sha256: B256::ZERO,
                    size: 1,
                })
                .collect()
        };
        for (paths, expected) in [
            (
                &[
                    "model_index.json",
                    "unet/diffusion_pytorch_model.safetensors",
                    "vae/diffusion_pytorch_model.safetensors",
                ][..],
                Layout::DiffusersPipeline,
            ),
            (
                &["config.json", "model.safetensors", "tokenizer.json"][..],
                Layout::Transformers,
            ),
            (&["pytorch_lora_weights.safetensors"][..], Layout::Lora),
            (&["a.safetensors", "b.safetensors"][..], Layout::Lora),
            (&["lora/weights.safetensors"][..], Layout::Other),
            (&["README.md", "a.safetensors"][..], Layout::Other),
            (&[][..], Layout::Other),
        ] {
            assert_eq!(layout(&files(paths)), expected, "{paths:?}");
        }
    }
}
