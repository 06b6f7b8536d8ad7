//! Content-addressed file storage: every stored file is named by its SHA-256.
//!
//! A blob store only holds bytes; whether a blob is *accepted* is decided by the database,
//! which records it only after [`BlobStore::put`] returned (so after the bytes are durable).
//! A blob present in the store but not in the database is an orphan from an interrupted
//! upload and is never served.

mod disk;
mod object;

use std::ops::Range;
use std::pin::Pin;

use alloy_primitives::B256;
use bytes::Bytes;
use futures_util::Stream;

pub use disk::DiskStore;
pub use object::ObjectStoreBlobs;

/// A stream of file chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BlobError>> + Send>>;

/// A blob store failure.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob with this hash.
    #[error("blob {0} is not stored")]
    NotFound(B256),
    /// The bytes streamed in do not hash to the expected value.
    #[error("content hashes to {actual}, expected {expected}")]
    HashMismatch {
        /// The hash the caller promised.
        expected: B256,
        /// The hash of what arrived.
        actual: B256,
    },
    /// A streamed upload was larger than allowed.
    #[error("content is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The client's stream failed.
    #[error("upload stream failed: {0}")]
    Source(String),
    /// Local file system error.
    #[error("file store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Object store error.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
}

/// Where file contents live.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under their SHA-256 `hash` (which the caller computed) and returns
    /// once they are durable. Storing a blob that exists is a no-op.
    async fn put(&self, hash: B256, bytes: Bytes) -> Result<(), BlobError>;

    /// Streams a blob of unknown size into the store, hashing it on the way, and returns
    /// its hash and size once durable. Fails with [`BlobError::TooLarge`] past `limit`
    /// bytes and with [`BlobError::HashMismatch`] if `expected` is given and differs;
    /// nothing is kept then.
    async fn put_stream(
        &self,
        stream: ByteStream,
        limit: u64,
        expected: Option<B256>,
    ) -> Result<(B256, u64), BlobError>;

    /// The whole blob.
    async fn get(&self, hash: B256) -> Result<Bytes, BlobError>;

    /// A byte range of the blob, as a stream (the range must lie within the blob).
    async fn get_range(&self, hash: B256, range: Range<u64>) -> Result<ByteStream, BlobError>;
}

/// The relative location of a blob: `ab/cd/abcd…` (fans out 65,536 ways).
pub(crate) fn blob_path(hash: B256) -> String {
    let hex = hex::encode(hash);
    format!("{}/{}/{}", &hex[..2], &hex[2..4], hex)
}

/// Checks a streamed upload's hash against the promised one.
pub(crate) fn check_expected(expected: Option<B256>, actual: B256) -> Result<(), BlobError> {
    match expected {
        Some(expected) if expected != actual => Err(BlobError::HashMismatch { expected, actual }),
        _ => Ok(()),
    }
}

/// A name prefix no other store will draw: the process id and 64 random bits.
fn unique_prefix() -> String {
    let random = alloy_primitives::B64::random();
    format!("{}-{}", std::process::id(), hex::encode(random))
}

#[cfg(test)]
pub(crate) mod tests {
    //! The contract every [`BlobStore`] must meet, run against each implementation.
    use super::*;
    use crate::hashes::sha256;
    use futures_util::{StreamExt, TryStreamExt, stream};

    pub(crate) async fn contract(store: &dyn BlobStore) {
        let data = Bytes::from((0..100_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let hash = sha256(&data);
        assert!(matches!(store.get(hash).await, Err(BlobError::NotFound(h)) if h == hash));

        store.put(hash, data.clone()).await.unwrap();
        store.put(hash, data.clone()).await.unwrap();
        assert_eq!(store.get(hash).await.unwrap(), data);

        let part: Vec<Bytes> = store
            .get_range(hash, 1000..1010)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(part.concat(), &data[1000..1010]);

        // Streamed upload in small chunks.
        let chunks = || {
            let parts: Vec<Result<Bytes, BlobError>> = data
                .chunks(7000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            stream::iter(parts).boxed()
        };
        let (h, n) = store
            .put_stream(chunks(), 1 << 20, Some(hash))
            .await
            .unwrap();
        assert_eq!((h, n), (hash, data.len() as u64));

        // Over the limit: refused.
        let err = store.put_stream(chunks(), 50_000, None).await.unwrap_err();
        assert!(
            matches!(err, BlobError::TooLarge { limit: 50_000 }),
            "{err}"
        );

        // Wrong promised hash: refused, and not stored under either name.
        let other = Bytes::from_static(b"other content");
        let err = store
            .put_stream(
                stream::iter([Ok(other.clone())]).boxed(),
                1 << 20,
                Some(hash),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, BlobError::HashMismatch { .. }), "{err}");
        assert!(matches!(
            store.get(sha256(&other)).await,
            Err(BlobError::NotFound(_))
        ));

        // A failing source stream leaves nothing behind.
        let failing = stream::iter([
            Ok(Bytes::from_static(b"partial")),
            Err(BlobError::Source("client went away".into())),
        ]);
        assert!(
            store
                .put_stream(failing.boxed(), 1 << 20, None)
                .await
                .is_err()
        );
        assert!(matches!(
            store.get(sha256(b"partial")).await,
            Err(BlobError::NotFound(_))
        ));
    }
}
