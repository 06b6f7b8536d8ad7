//! Scores: the fingerprints nodes commit to, and the rule that says whether two agree.
//!
//! - A Stable Diffusion score is one 8-byte perceptual hash per image, big-endian, in image
//!   order. Two SD scores agree when they have the same length and every 8-byte block (one
//!   image) differs in fewer than `threshold` bits.
//! - An LLM score is the SHA-256 of each result file's exact bytes, 32 bytes per file. Two LLM
//!   scores agree only when they are equal.
//!
//! A node must never submit an empty, ragged or all-zero score ([`validate`]): a black,
//! safety-filtered image hashes to zero and says nothing about the work done.

/// Bytes per image in a Stable Diffusion score.
pub const IMAGE_HASH_LEN: usize = 8;
/// Bytes per result file in an LLM score.
pub const FILE_DIGEST_LEN: usize = 32;
/// The Hamming threshold of the first reference contracts. Blocks must differ in *fewer*
/// than this many bits.
pub const DEFAULT_SD_THRESHOLD: u32 = 5;

/// The kind of score, which fixes its block size and comparison rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScoreKind {
    /// Stable Diffusion: 8-byte perceptual hashes compared by Hamming distance.
    Image,
    /// LLM: 32-byte SHA-256 digests compared for equality.
    Text,
}

impl ScoreKind {
    /// Bytes per block (one image or one file).
    pub const fn block_len(self) -> usize {
        match self {
            Self::Image => IMAGE_HASH_LEN,
            Self::Text => FILE_DIGEST_LEN,
        }
    }
}

/// Why a score is unusable or two scores cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    /// No bytes at all.
    #[error("score is empty")]
    Empty,
    /// The length is not a whole number of blocks.
    #[error("score is {len} bytes, not a multiple of {block} bytes")]
    Ragged {
        /// Score length in bytes.
        len: usize,
        /// Required block size in bytes.
        block: usize,
    },
    /// Every byte is zero (for example, only black, safety-filtered images).
    #[error("score is all zero")]
    AllZero,
    /// Two scores of different lengths (different numbers of images or files).
    #[error("length mismatch: {a} bytes against {b} bytes")]
    LengthMismatch {
        /// Length of the first score.
        a: usize,
        /// Length of the second score.
        b: usize,
    },
}

/// Checks that a score may be committed: non-empty, whole blocks, not all zero.
pub fn validate(score: &[u8], kind: ScoreKind) -> Result<(), ScoreError> {
    check_shape(score, kind.block_len())?;
    if score.iter().all(|&b| b == 0) {
        return Err(ScoreError::AllZero);
    }
    Ok(())
}

fn check_shape(score: &[u8], block: usize) -> Result<(), ScoreError> {
    if score.is_empty() {
        return Err(ScoreError::Empty);
    }
    if !score.len().is_multiple_of(block) {
        return Err(ScoreError::Ragged {
            len: score.len(),
            block,
        });
    }
    Ok(())
}

/// The score of a list of images' perceptual hashes, in image order.
pub fn image_score(hashes: impl IntoIterator<Item = u64>) -> Vec<u8> {
    hashes.into_iter().flat_map(u64::to_be_bytes).collect()
}

/// Splits an SD score back into its per-image hashes.
pub fn image_hashes(score: &[u8]) -> Result<Vec<u64>, ScoreError> {
    check_shape(score, IMAGE_HASH_LEN)?;
    Ok(score
        .chunks_exact(IMAGE_HASH_LEN)
        .map(|block| u64::from_be_bytes(block.try_into().expect("exact chunk")))
        .collect())
}

/// SHA-256 of one LLM result file's exact bytes.
pub fn file_digest(file: &[u8]) -> [u8; FILE_DIGEST_LEN] {
    crate::digest::sha256(file)
}

/// The score of a list of LLM result files, in file order.
pub fn text_score<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    files.into_iter().flat_map(file_digest).collect()
}

/// The result of comparing two SD scores block by block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Hamming distance of each 8-byte block (image), in order.
    pub block_distances: Vec<u32>,
    /// The largest of `block_distances`.
    pub max_distance: u32,
    /// The threshold the comparison used.
    pub threshold: u32,
}

impl Comparison {
    /// Whether the scores agree: every block differs in fewer than `threshold` bits.
    pub fn agrees(&self) -> bool {
        self.max_distance < self.threshold
    }
}

/// Compares two SD scores with the network's per-block Hamming rule.
///
/// Errors when the lengths differ or are not whole 8-byte blocks, as the contract does.
pub fn compare_images(a: &[u8], b: &[u8], threshold: u32) -> Result<Comparison, ScoreError> {
    if a.len() != b.len() {
        return Err(ScoreError::LengthMismatch {
            a: a.len(),
            b: b.len(),
        });
    }
    check_shape(a, IMAGE_HASH_LEN)?;
    let block_distances: Vec<u32> = image_hashes(a)?
        .into_iter()
        .zip(image_hashes(b)?)
        .map(|(x, y)| (x ^ y).count_ones())
        .collect();
    let max_distance = block_distances.iter().copied().max().unwrap_or(0);
    Ok(Comparison {
        block_distances,
        max_distance,
        threshold,
    })
}

/// Compares two LLM scores: they agree only when byte-for-byte equal.
pub fn compare_texts(a: &[u8], b: &[u8]) -> Result<bool, ScoreError> {
    if a.len() != b.len() {
        return Err(ScoreError::LengthMismatch {
            a: a.len(),
            b: b.len(),
        });
    }
    check_shape(a, FILE_DIGEST_LEN)?;
    Ok(a == b)
}

/// Compares two scores of the given kind with the network's rule for it.
pub fn agree(kind: ScoreKind, a: &[u8], b: &[u8], threshold: u32) -> Result<bool, ScoreError> {
    match kind {
        ScoreKind::Image => compare_images(a, b, threshold).map(|c| c.agrees()),
        ScoreKind::Text => compare_texts(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_refuses_useless_scores() {
        assert_eq!(validate(&[], ScoreKind::Image), Err(ScoreError::Empty));
        assert_eq!(
            validate(&[1; 12], ScoreKind::Image),
            Err(ScoreError::Ragged { len: 12, block: 8 })
        );
        assert_eq!(
            validate(&[0; 16], ScoreKind::Image),
            Err(ScoreError::AllZero)
        );
        assert_eq!(
            validate(&[1; 16], ScoreKind::Text),
            Err(ScoreError::Ragged { len: 16, block: 32 })
        );
        // One black image among others is a legitimate score.
        let mut score = vec![0u8; 16];
        score[15] = 1;
        assert_eq!(validate(&score, ScoreKind::Image), Ok(()));
    }

    #[test]
    fn image_score_round_trips() {
        let hashes = [0x0123_4567_89ab_cdef, 0x8000_0000_0000_0000];
        let score = image_score(hashes);
        assert_eq!(score[..8], [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(image_hashes(&score).unwrap(), hashes);
    }

    #[test]
    fn the_worst_image_decides() {
        let a = image_score([0, 0]);
        let b = image_score([0b1, 0b1111]);
        let c = compare_images(&a, &b, 5).unwrap();
        assert_eq!(c.block_distances, [1, 4]);
        assert!(c.agrees());
        let c = compare_images(&a, &image_score([0, 0b11111]), 5).unwrap();
        assert_eq!(c.max_distance, 5);
        assert!(!c.agrees(), "a distance equal to the threshold disagrees");
    }

    #[test]
    fn texts_agree_only_when_equal() {
        let a = text_score([b"x".as_slice()]);
        let b = text_score([b"y".as_slice()]);
        assert_eq!(compare_texts(&a, &a), Ok(true));
        assert_eq!(compare_texts(&a, &b), Ok(false));
        assert_eq!(
            compare_texts(&a, &[a.clone(), b].concat()),
            Err(ScoreError::LengthMismatch { a: 32, b: 64 })
        );
    }
}
