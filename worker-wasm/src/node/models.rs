//! The node's model folder: models fetched from the relay by content hash, with resumable
//! downloads, checked before use.
//!
//! A model `name` lives in `<model_dir>/<name with / as +>/`, in its usual layout (so the
//! engine and `node run --task` read it directly), with `.tessera-manifest.json` listing
//! every file's path, SHA-256 and size. The relay is not trusted for integrity:
//!
//! - the manifest's digest must be the one the chain registered for the name
//!   (`NodeRegistry.registerModel`, passed in by the caller), so a relay listing other
//!   files under a name is refused, not followed; an operator's pin (`[pins]` in the
//!   configuration) must agree with it too;
//! - every file is checked against the manifest's SHA-256 before it is used, and a file
//!   that fails is fetched again.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alloy::primitives::B256;
use relay_api::{MAX_NAME_LEN, MAX_PATH_LEN, ModelFile, ModelListing, check_name};
use relay_client::{ClientError, RelayClient};
use serde::{Deserialize, Serialize};
use verifier::digest::Sha256Stream;

use super::fs::{FsError, create_dirs, write_atomic};

const MANIFEST: &str = ".tessera-manifest.json";

/// A model's files as the node trusts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The model's name.
    pub name: String,
    /// Its files.
    pub files: Vec<ModelFile>,
}

impl Manifest {
    /// [`relay_api::manifest_digest`]: the value the chain registers and an operator pins.
    pub fn digest(&self) -> B256 {
        relay_api::manifest_digest(&self.files)
    }

    /// Total bytes.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Why a model could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model name or one of its paths is unsafe.
    #[error("model {0}")]
    Name(#[from] relay_api::NameError),
    /// The relay does not list the model.
    #[error("the relay lists no model named {0:?}")]
    Unknown(String),
    /// The relay's listing does not match the pinned or previously trusted manifest.
    #[error(
        "the relay lists model {name:?} with manifest digest {listed}, but this node trusts \
         {trusted} ({why}); refusing it"
    )]
    ManifestMismatch {
        /// The model.
        name: String,
        /// The digest of the relay's listing.
        listed: B256,
        /// The digest the node trusts.
        trusted: B256,
        /// Where the trusted digest comes from.
        why: &'static str,
    },
    /// A pin in the configuration is not a digest.
    #[error("pin for model {name:?} is not 0x + 64 hex digits: {value:?}")]
    BadPin {
        /// The model.
        name: String,
        /// The configured value.
        value: String,
    },
    /// The relay failed.
    #[error(transparent)]
    Relay(#[from] ClientError),
    /// A downloaded file does not hash to its manifest entry.
    #[error("{path} of model {name:?} downloaded with SHA-256 {actual}, expected {expected}")]
    HashMismatch {
        /// The model.
        name: String,
        /// The file.
        path: String,
        /// The manifest's hash.
        expected: B256,
        /// What the bytes hash to.
        actual: B256,
    },
    /// The local disk failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}

impl ModelError {
    /// Whether trying again later may help (the relay was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Relay(e) if e.is_transient())
    }
}

/// Reports download progress: `(model, bytes done, bytes total)`.
pub type Progress<'a> = &'a mut (dyn FnMut(&str, u64, u64) + Send);

/// The node's model folder.
pub struct ModelStore {
    dir: PathBuf,
    pins: BTreeMap<String, B256>,
    /// Models whose files were hashed and found intact by this process.
    verified: Mutex<HashSet<String>>,
}

impl ModelStore {
    /// A store in `dir` with `pins` (model name → manifest digest in hex).
    pub fn new(dir: PathBuf, pins: &BTreeMap<String, String>) -> Result<Self, ModelError> {
        let pins = pins
            .iter()
            .map(|(name, value)| {
                value
                    .parse::<B256>()
                    .map(|digest| (name.clone(), digest))
                    .map_err(|_| ModelError::BadPin {
                        name: name.clone(),
                        value: value.clone(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            dir,
            pins,
            verified: Mutex::default(),
        })
    }

    /// The folder a model lives in ([`relay_api::model_folder_name`]: one per name).
    pub fn folder(&self, name: &str) -> PathBuf {
        self.dir.join(relay_api::model_folder_name(name))
    }

    /// The trusted manifest of a model held (fully or partly) here.
    pub fn manifest(&self, name: &str) -> Option<Manifest> {
        let text = std::fs::read(self.folder(name).join(MANIFEST)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Names of the models whose every file is present with its listed size.
    pub fn held(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let manifest: Manifest =
                    serde_json::from_slice(&std::fs::read(e.path().join(MANIFEST)).ok()?).ok()?;
                let complete = manifest.files.iter().all(|f| {
                    std::fs::metadata(e.path().join(&f.path)).is_ok_and(|m| m.len() == f.size)
                });
                complete.then_some(manifest.name)
            })
            .collect();
        names.sort();
        names
    }

    /// Makes model `name`, whose manifest digest the chain registered as `registered`,
    /// available and intact in its folder, fetching what is missing or corrupt from
    /// `relay`, and returns the folder.
    pub async fn ensure(
        &self,
        relay: &RelayClient,
        name: &str,
        registered: B256,
        progress: Progress<'_>,
    ) -> Result<PathBuf, ModelError> {
        check_name("model name", name, MAX_NAME_LEN)?;
        let folder = self.folder(name);
        if self.verified.lock().expect("not poisoned").contains(name) {
            return Ok(folder);
        }
        let kept = self.manifest(name);
        if let Some(manifest) = &kept
            && manifest.digest() == registered
            && self.check_pin(manifest).is_ok()
            && self.intact(manifest, &folder)?
        {
            self.verified
                .lock()
                .expect("not poisoned")
                .insert(name.to_owned());
            return Ok(folder);
        }

        let listing: ModelListing = relay
            .models()
            .await?
            .into_iter()
            .find(|m| m.name == name)
            .ok_or_else(|| ModelError::Unknown(name.to_owned()))?;
        let listed = Manifest {
            name: name.to_owned(),
            files: listing.files,
        };
        for file in &listed.files {
            check_name("model file path", &file.path, MAX_PATH_LEN)?;
        }
        if listed.digest() != registered {
            return Err(ModelError::ManifestMismatch {
                name: name.to_owned(),
                listed: listed.digest(),
                trusted: registered,
                why: "registered on chain",
            });
        }
        self.check_pin(&listed)?;
        create_dirs(&folder)?;
        write_atomic(
            &folder.join(MANIFEST),
            &serde_json::to_vec_pretty(&listed).expect("plain data"),
        )?;

        let total = listed.size();
        let mut done = 0;
        for file in &listed.files {
            let path = folder.join(&file.path);
            if file_hash(&path)?
                .is_some_and(|(hash, size)| hash == file.sha256 && size == file.size)
            {
                done += file.size;
                progress(name, done, total);
                continue;
            }
            self.download(relay, name, file, &path, done, total, progress)
                .await?;
            done += file.size;
        }
        self.verified
            .lock()
            .expect("not poisoned")
            .insert(name.to_owned());
        Ok(folder)
    }

    fn check_pin(&self, manifest: &Manifest) -> Result<(), ModelError> {
        match self.pins.get(&manifest.name) {
            Some(pin) if *pin != manifest.digest() => Err(ModelError::ManifestMismatch {
                name: manifest.name.clone(),
                listed: manifest.digest(),
                trusted: *pin,
                why: "pinned in the configuration",
            }),
            _ => Ok(()),
        }
    }

    /// Whether every file is present and hashes to its manifest entry.
    fn intact(&self, manifest: &Manifest, folder: &Path) -> Result<bool, ModelError> {
        for file in &manifest.files {
            match file_hash(&folder.join(&file.path))? {
                Some((hash, size)) if hash == file.sha256 && size == file.size => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Downloads one file into `<path>.part`, resuming what an earlier attempt left, checks
    /// its hash and moves it into place. A part that turns out corrupt is discarded and the
    /// file fetched once more from the start.
    #[allow(clippy::too_many_arguments, reason = "progress bookkeeping")]
    async fn download(
        &self,
        relay: &RelayClient,
        name: &str,
        file: &ModelFile,
        path: &Path,
        done_before: u64,
        total: u64,
        progress: Progress<'_>,
    ) -> Result<(), ModelError> {
        if let Some(parent) = path.parent() {
            create_dirs(parent)?;
        }
        let part = path.with_file_name(format!(
            "{}.part",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
        for attempt in 0..2 {
            let mut hasher = Sha256Stream::new();
            let mut have = 0u64;
            if attempt == 0 && part.exists() {
                let mut existing = std::fs::File::open(&part).map_err(FsError::at(&part))?;
                let mut buf = vec![0; 1 << 20];
                loop {
                    let n = existing.read(&mut buf).map_err(FsError::at(&part))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    have += n as u64;
                }
            }
            if have > file.size {
                have = 0;
                hasher = Sha256Stream::new();
            }
            let mut download = relay.fetch_blob(file.sha256, have).await?;
            let mut out = if download.start == have && have > 0 {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&part)
                    .map_err(FsError::at(&part))?
            } else {
                // The relay sent the whole file (or nothing was kept): start over.
                have = 0;
                hasher = Sha256Stream::new();
                std::fs::File::create(&part).map_err(FsError::at(&part))?
            };
            progress(name, done_before + have, total);
            while let Some(chunk) = download.chunk().await? {
                out.write_all(&chunk).map_err(FsError::at(&part))?;
                hasher.update(&chunk);
                have += chunk.len() as u64;
                progress(name, done_before + have, total);
            }
            out.sync_all().map_err(FsError::at(&part))?;
            drop(out);
            let actual = B256::from(hasher.finish());
            if actual == file.sha256 && have == file.size {
                durable::rename(&part, path).map_err(FsError::at(path))?;
                return Ok(());
            }
            std::fs::remove_file(&part).map_err(FsError::at(&part))?;
            if attempt == 1 {
                return Err(ModelError::HashMismatch {
                    name: name.to_owned(),
                    path: file.path.clone(),
                    expected: file.sha256,
                    actual,
                });
            }
            tracing::warn!(
                model = name,
                path = file.path,
                "download did not match its hash; fetching it again"
            );
        }
        unreachable!("the loop returns on its second attempt")
    }
}

/// SHA-256 and size of a file, or `None` if it does not exist.
fn file_hash(path: &Path) -> Result<Option<(B256, u64)>, ModelError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FsError::at(path)(e).into()),
    };
    let mut hasher = Sha256Stream::new();
    let mut buf = vec![0; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(FsError::at(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Some((B256::from(hasher.finish()), size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_digest_ignores_listing_order() {
        let a = ModelFile {
            path: "a".into(),
            sha256: B256::repeat_byte(1),
            size: 1,
        };
        let b = ModelFile {
            path: "b/c".into(),
            sha256: B256::repeat_byte(2),
            size: 2,
        };
        let one = Manifest {
            name: "m".into(),
            files: vec![a.clone(), b.clone()],
        };
        let two = Manifest {
            name: "m".into(),
            files: vec![b, a],
        };
        assert_eq!(one.digest(), two.digest());
        assert_eq!(one.size(), 3);
    }

    #[test]
    fn pins_must_be_digests() {
        let pins = BTreeMap::from([("m".to_owned(), "nope".to_owned())]);
        assert!(matches!(
            ModelStore::new(PathBuf::from("/tmp"), &pins),
            Err(ModelError::BadPin { .. })
        ));
    }
}
