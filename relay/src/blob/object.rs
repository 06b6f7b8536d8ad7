//! Blobs in any `object_store` backend (S3 and compatible stores, local files, memory).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::B256;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use verifier::digest::Sha256Stream;

use super::{BlobError, BlobStore, ByteStream, blob_path, check_expected};

/// Blobs at `<prefix>/ab/cd/<hash>`; streamed uploads go to `<prefix>/tmp/` first and are
/// copied to their content name once hashed.
#[derive(Debug)]
pub struct ObjectStoreBlobs {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// Random per store: instances on other machines may share a process id.
    tmp_prefix: String,
    next_tmp: AtomicU64,
}

impl ObjectStoreBlobs {
    /// Wraps a store; blobs live under `prefix`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        Self {
            store,
            prefix,
            tmp_prefix: super::unique_prefix(),
            next_tmp: AtomicU64::new(0),
        }
    }

    /// Opens the store a URL names (`s3://bucket/prefix`, `file:///dir`, `memory:///`).
    /// S3 credentials and region come from the usual `AWS_*` environment variables.
    pub fn from_url(url: &str) -> Result<Self, BlobError> {
        let parsed = url.parse().map_err(|e| {
            BlobError::ObjectStore(object_store::Error::Generic {
                store: "url",
                source: format!("object store URL `{url}`: {e}").into(),
            })
        })?;
        let options = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v));
        let (store, prefix) = object_store::parse_url_opts(&parsed, options)?;
        Ok(Self::new(Arc::from(store), prefix))
    }

    fn location(&self, hash: B256) -> Path {
        blob_path(hash)
            .split('/')
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    fn tmp_location(&self) -> Path {
        let n = self.next_tmp.fetch_add(1, Ordering::Relaxed);
        self.prefix
            .clone()
            .join("tmp")
            .join(format!("{}-{n}", self.tmp_prefix))
    }
}

fn not_found(hash: B256) -> impl FnOnce(object_store::Error) -> BlobError {
    move |e| match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound(hash),
        e => BlobError::ObjectStore(e),
    }
}

#[async_trait]
impl BlobStore for ObjectStoreBlobs {
    async fn put(&self, hash: B256, bytes: Bytes) -> Result<(), BlobError> {
        // A single put is atomic in every object store backend.
        self.store
            .put(&self.location(hash), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    async fn put_stream(
        &self,
        mut stream: ByteStream,
        limit: u64,
        expected: Option<B256>,
    ) -> Result<(B256, u64), BlobError> {
        let tmp = self.tmp_location();
        let mut upload = WriteMultipart::new(self.store.put_multipart(&tmp).await?);
        let mut hasher = Sha256Stream::new();
        let mut size = 0u64;
        let streamed: Result<(), BlobError> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(BlobError::TooLarge { limit });
                }
                hasher.update(&chunk);
                upload.wait_for_capacity(8).await?;
                upload.put(chunk);
            }
            Ok(())
        }
        .await;
        if let Err(e) = streamed {
            let _ = upload.abort().await;
            return Err(e);
        }
        upload.finish().await?;
        let hash = B256::from(hasher.finish());
        let result = match check_expected(expected, hash) {
            Ok(()) => self
                .store
                .copy(&tmp, &self.location(hash))
                .await
                .map_err(BlobError::from),
            Err(e) => Err(e),
        };
        let _ = self.store.delete(&tmp).await;
        result.map(|()| (hash, size))
    }

    async fn get(&self, hash: B256) -> Result<Bytes, BlobError> {
        let result = self
            .store
            .get(&self.location(hash))
            .await
            .map_err(not_found(hash))?;
        Ok(result.bytes().await?)
    }

    async fn get_range(&self, hash: B256, range: Range<u64>) -> Result<ByteStream, BlobError> {
        let options = GetOptions::default().with_range(Some(range));
        let result = self
            .store
            .get_opts(&self.location(hash), options)
            .await
            .map_err(not_found(hash))?;
        Ok(result.into_stream().map_err(BlobError::from).boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn in_memory_object_store_meets_the_contract() {
        let store = ObjectStoreBlobs::from_url("memory:///blobs").unwrap();
        super::super::tests::contract(&store).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn local_file_object_store_meets_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        let store = ObjectStoreBlobs::from_url(&url).unwrap();
        super::super::tests::contract(&store).await;
    }
}
