//! SHA-256 of content, for everyone who names or checks bytes by it: model files (named by
//! their SHA-256 on the relay and checked by nodes on every load), request bodies (the relay's
//! signed message covers the body's SHA-256), and LLM result files (a text score is their
//! SHA-256, [`crate::score::text_score`]).

use sha2::{Digest as _, Sha256};

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The digest of a task's result files, which each seat commits to beside its score and
/// the uploader's of which the relay and every browser check the served bytes against:
/// SHA-256 of the files' SHA-256s (`file_hashes`, in result order: `0.png`, `1.png`, …)
/// concatenated. It binds the exact bytes; the score (a perceptual hash) only binds what
/// seats compare.
pub fn files_digest(file_hashes: &[[u8; 32]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for hash in file_hashes {
        hasher.update(hash);
    }
    hasher.finalize().into()
}

/// [`files_digest`] of the files themselves (hashing each).
pub fn files_digest_of<B: AsRef<[u8]>>(files: impl IntoIterator<Item = B>) -> [u8; 32] {
    let hashes: Vec<[u8; 32]> = files.into_iter().map(|f| sha256(f.as_ref())).collect();
    files_digest(&hashes)
}

/// SHA-256 over bytes that arrive in pieces (a download, a streamed upload).
#[derive(Clone, Default)]
pub struct Sha256Stream(Sha256);

impl Sha256Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash of everything added.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hash_as_the_whole() {
        let mut stream = Sha256Stream::new();
        stream.update(b"te");
        stream.update(b"st");
        assert_eq!(stream.finish(), sha256(b"test"));
        assert_eq!(
            crate::hex::encode(sha256(b"")),
            "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
