//! Recomputing a task's score from its uploaded result files, through `verifier`.
//!
//! Stable Diffusion: each file must be a PNG within the size limit; its score block is the
//! network's 8-byte perceptual hash. LLM: each file's block is its SHA-256. The score is
//! the blocks concatenated in file order.

use crate::chain::TaskType;

/// Why a result file cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    /// The file is not a readable PNG.
    #[error("{name} is not a valid PNG: {reason}")]
    CorruptPng {
        /// The file.
        name: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// The image is larger than allowed.
    #[error("{name} is {width}x{height} pixels; the limit is {max}x{max}")]
    ImageTooLarge {
        /// The file.
        name: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The largest accepted side.
        max: u32,
    },
}

/// Recomputes the score of `files` (name and bytes, in order) for a task of `kind`.
pub fn recompute(
    kind: TaskType,
    files: &[(String, bytes::Bytes)],
    max_image_side: u32,
) -> Result<Vec<u8>, ScoreError> {
    match kind {
        TaskType::StableDiffusion => {
            let hashes = files
                .iter()
                .map(|(name, png)| image_hash(name, png, max_image_side))
                .collect::<Result<Vec<u64>, _>>()?;
            Ok(verifier::score::image_score(hashes))
        }
        TaskType::Llm => Ok(verifier::score::text_score(
            files.iter().map(|(_, bytes)| bytes.as_ref()),
        )),
    }
}

/// One image's perceptual hash, after checking from its header alone that it is a PNG of
/// acceptable size (so an oversized image is refused before it is decoded).
fn image_hash(name: &str, png: &[u8], max_side: u32) -> Result<u64, ScoreError> {
    let corrupt = |reason: String| ScoreError::CorruptPng {
        name: name.to_owned(),
        reason,
    };
    let reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .map_err(|e| corrupt(e.to_string()))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width > max_side || height > max_side {
        return Err(ScoreError::ImageTooLarge {
            name: name.to_owned(),
            width,
            height,
            max: max_side,
        });
    }
    verifier::phash::phash_bytes(png)
        .map(|hash| hash.0)
        .map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The reference worker's images and their goimagehash pHashes.
    #[test]
    fn sd_scores_match_the_reference_phashes() {
        let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/sd-cases");
        let mut checked = 0;
        for case in std::fs::read_dir(&cases).expect("shared/reference/sd-cases") {
            let case = case.unwrap().path();
            let tsv = std::fs::read_to_string(case.join("phash.tsv")).unwrap();
            let mut files = Vec::new();
            let mut expected = Vec::new();
            for line in tsv.lines().filter(|l| l.ends_with(char::is_alphanumeric)) {
                let mut fields = line.split_whitespace();
                let (Some(file), Some(hash)) = (fields.next(), fields.next()) else {
                    continue;
                };
                let Ok(hash) = u64::from_str_radix(hash.trim_start_matches("0x"), 16) else {
                    continue;
                };
                files.push((
                    file.to_owned(),
                    std::fs::read(case.join(file)).unwrap().into(),
                ));
                expected.extend_from_slice(&hash.to_be_bytes());
            }
            assert!(!files.is_empty(), "no hashes read from {}", case.display());
            let score = recompute(TaskType::StableDiffusion, &files, 2048).unwrap();
            assert_eq!(score, expected, "{}", case.display());
            checked += files.len();
        }
        assert!(checked >= 4, "only {checked} reference images");
    }

    #[test]
    fn llm_scores_are_file_sha256s() {
        let files = [("0.json".to_owned(), bytes::Bytes::from_static(b"abc"))];
        let score = recompute(TaskType::Llm, &files, 0).unwrap();
        assert_eq!(
            alloy_primitives::hex::encode(score),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bad_images_are_named() {
        let files = [("3.png".to_owned(), bytes::Bytes::from_static(b"GIF89a"))];
        let err = recompute(TaskType::StableDiffusion, &files, 2048).unwrap_err();
        assert!(
            matches!(err, ScoreError::CorruptPng { ref name, .. } if name == "3.png"),
            "{err}"
        );
    }
}
