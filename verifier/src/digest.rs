//! SHA-256 of content, for everyone who names or checks bytes by it: model files (named by
//! their SHA-256 on the relay and checked by nodes on every load), request bodies (the relay's
//! signed message covers the body's SHA-256), and LLM result files (a text score is their
//! SHA-256, [`crate::score::text_score`]).

use sha2::{Digest as _, Sha256};

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
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
