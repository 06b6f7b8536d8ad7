//! Blobs as files on local disk, written durably: temporary name, `fsync`, `rename`,
//! `fsync` of the directory.

use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::B256;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;
use verifier::digest::Sha256Stream;

use super::{BlobError, BlobStore, ByteStream, blob_path, check_expected};

/// Blobs under `<root>/ab/cd/<hash>`, in-flight uploads under `<root>/tmp/`.
///
/// A directory belongs to one relay process: opening it discards every temporary file in
/// it. Instances that share their files share an object store ([`super::ObjectStoreBlobs`]).
#[derive(Debug)]
pub struct DiskStore {
    root: PathBuf,
    /// Random per store, so two stores never name a temporary file alike.
    tmp_prefix: String,
    next_tmp: AtomicU64,
}

impl DiskStore {
    /// Opens (creating if needed) a store rooted at `root`, discarding the temporary files
    /// of uploads that were interrupted.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        let tmp = root.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        durable::create_dirs(&tmp)?;
        Ok(Self {
            root,
            tmp_prefix: super::unique_prefix(),
            next_tmp: AtomicU64::new(0),
        })
    }

    fn final_path(&self, hash: B256) -> PathBuf {
        final_path(&self.root, hash)
    }

    fn tmp_path(&self) -> PathBuf {
        let n = self.next_tmp.fetch_add(1, Ordering::Relaxed);
        self.root
            .join("tmp")
            .join(format!("{}-{n}", self.tmp_prefix))
    }
}

fn final_path(root: &Path, hash: B256) -> PathBuf {
    root.join(blob_path(hash))
}

/// Moves a synced temporary file to its final name and makes the rename durable.
fn commit(root: &Path, tmp: &Path, hash: B256) -> Result<(), BlobError> {
    let target = final_path(root, hash);
    let dir = target.parent().expect("blob paths have a parent");
    durable::create_dirs(dir)?;
    durable::rename(tmp, &target)?;
    Ok(())
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
}

fn not_found(hash: B256) -> impl FnOnce(std::io::Error) -> BlobError {
    move |e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            BlobError::NotFound(hash)
        } else {
            BlobError::Io(e)
        }
    }
}

#[async_trait]
impl BlobStore for DiskStore {
    async fn put(&self, hash: B256, bytes: Bytes) -> Result<(), BlobError> {
        if tokio::fs::try_exists(self.final_path(hash)).await? {
            return Ok(());
        }
        let (root, tmp) = (self.root.clone(), self.tmp_path());
        blocking(move || {
            let written = (|| {
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(&bytes)?;
                file.sync_all()?;
                drop(file);
                commit(&root, &tmp, hash)
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written
        })
        .await
    }

    async fn put_stream(
        &self,
        mut stream: ByteStream,
        limit: u64,
        expected: Option<B256>,
    ) -> Result<(B256, u64), BlobError> {
        let tmp = self.tmp_path();
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            let mut hasher = Sha256Stream::new();
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(BlobError::TooLarge { limit });
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await?;
            }
            let hash = B256::from(hasher.finish());
            check_expected(expected, hash)?;
            file.sync_all().await?;
            drop(file);
            let (root, synced) = (self.root.clone(), tmp.clone());
            blocking(move || commit(&root, &synced, hash)).await?;
            Ok((hash, size))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn get(&self, hash: B256) -> Result<Bytes, BlobError> {
        let bytes = tokio::fs::read(self.final_path(hash))
            .await
            .map_err(not_found(hash))?;
        Ok(bytes.into())
    }

    async fn get_range(&self, hash: B256, range: Range<u64>) -> Result<ByteStream, BlobError> {
        let mut file = tokio::fs::File::open(self.final_path(hash))
            .await
            .map_err(not_found(hash))?;
        file.seek(std::io::SeekFrom::Start(range.start)).await?;
        let reader = file.take(range.end.saturating_sub(range.start));
        Ok(ReaderStream::with_capacity(reader, 64 * 1024)
            .map_err(BlobError::Io)
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disk_store_meets_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::open(dir.path()).unwrap();
        super::super::tests::contract(&store).await;
        // Failed uploads left no temporary file behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn reopening_discards_interrupted_uploads() {
        let dir = tempfile::tempdir().unwrap();
        drop(DiskStore::open(dir.path()).unwrap());
        std::fs::write(dir.path().join("tmp/123-0"), b"half an upload").unwrap();
        DiskStore::open(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }
}
