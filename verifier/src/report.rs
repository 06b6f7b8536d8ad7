//! The verification report: a task's returned files checked against what its nodes
//! committed to and revealed on chain.
//!
//! The requester trusts neither the relay that served the files nor any single node. What
//! it checks, file by file and seat by seat:
//!
//! 1. each file's fingerprint, recomputed here ([`fingerprint`]: the network's pHash of an
//!    image, the SHA-256 of an LLM result file);
//! 2. that the recomputed score equals the result the contract settled on, exactly (the
//!    relay must have refused anything else, so a difference means it served other files);
//! 3. that the files' bytes are the ones the uploader committed to: the digest of their
//!    SHA-256s equals the settled `filesDigest` (other pixels with the same perceptual
//!    hash fail here);
//! 4. for each seat that revealed: that `keccak256(score || filesDigest || nonce)` equals
//!    its on-chain commitment, and how far its score is from the recomputed one, block by
//!    block, against the task's threshold;
//! 5. that at least two seats with valid commitments agree with the files.
//!
//! Hashing is the slow part, so it is separate: compute [`fingerprint`]s wherever suits
//! (a web worker, in parallel) and [`assemble`] the report from them.

use serde::Serialize;

use crate::commitment::{Bytes32, result_commitment};
use crate::score::{self, ScoreKind};
use crate::similarity::{self, SimilarityHash};

/// One seat of the task as the chain records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatRecord {
    /// The node, `0x` + 40 hex digits.
    pub node: String,
    /// Its commitment, if it committed.
    pub commitment: Option<Bytes32>,
    /// The nonce it committed with, if it committed.
    pub nonce: Option<Bytes32>,
    /// The score it revealed, if it revealed.
    pub revealed: Option<Vec<u8>>,
    /// The digest of its files it revealed with the score.
    pub files_digest: Option<Bytes32>,
}

/// What the chain says about a task, as far as verification needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainRecord {
    /// Image (SD) or text (LLM) scores.
    #[serde(serialize_with = "kind_name")]
    pub kind: ScoreKind,
    /// The contract's similarity threshold for SD scores.
    pub threshold: u32,
    /// The result the contract settled on, once validated.
    pub agreed: Option<Vec<u8>>,
    /// The digest of the files the uploader committed to, once validated.
    pub files_digest: Option<Bytes32>,
    /// The task's seats.
    pub seats: Vec<SeatRecord>,
    /// A jury, on the outvoted seat's appeal, found the settled result wrong: the files
    /// are the outvoted majority's and the report fails whatever they hash to.
    pub overturned: bool,
}

fn kind_name<S: serde::Serializer>(kind: &ScoreKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match kind {
        ScoreKind::Image => "image",
        ScoreKind::Text => "text",
    })
}

/// A file's recomputed fingerprint, or why it has none.
pub type Fingerprint = Result<Vec<u8>, String>;

/// A returned file as the report needs it: its name, fingerprint and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedFile {
    /// Its name as served.
    pub name: String,
    /// Its [`fingerprint`].
    pub fingerprint: Fingerprint,
    /// SHA-256 of its bytes.
    pub sha256: Bytes32,
}

impl ReturnedFile {
    /// Hashes a file both ways (the slow part: run it where it suits).
    pub fn hash(kind: ScoreKind, name: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            name: name.into(),
            fingerprint: fingerprint(kind, bytes),
            sha256: crate::digest::sha256(bytes),
        }
    }
}

/// The block of a score that stands for one file: the network's 8-byte pHash of an image
/// (PNG or JPEG), or the 32-byte SHA-256 of an LLM result file.
pub fn fingerprint(kind: ScoreKind, bytes: &[u8]) -> Fingerprint {
    match kind {
        ScoreKind::Image => crate::phash::phash_bytes(bytes)
            .map(|hash| hash.0.to_be_bytes().to_vec())
            .map_err(|e| e.to_string()),
        ScoreKind::Text => Ok(score::file_digest(bytes).to_vec()),
    }
}

/// The independent similarity hash of an image (never part of a score), for display.
pub fn similarity(bytes: &[u8]) -> Result<SimilarityHash, String> {
    similarity::similarity_hash_bytes(bytes, &crate::phash::Limits::default())
        .map_err(|e| e.to_string())
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every file matches the settled result, and at least two seats with valid
    /// commitments agree with the files.
    Verified,
    /// Something does not match: a file, a commitment, or too few agreeing seats. The
    /// report's `problems` say what.
    Failed,
    /// Not decidable yet: the task has no settled result, or files are missing.
    Incomplete,
}

/// One returned file, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// Its name as served.
    pub name: String,
    /// SHA-256 of its bytes (`0x` hex).
    pub sha256: String,
    /// Its recomputed fingerprint (`0x` hex), if it could be computed.
    pub fingerprint: Option<String>,
    /// Why it could not be, otherwise.
    pub error: Option<String>,
    /// The settled result's block for this file (`0x` hex).
    pub settled: Option<String>,
    /// Whether the recomputed fingerprint equals the settled block.
    pub matches_settled: bool,
    /// Per seat, in seat order: Hamming distance in bits between the seat's revealed
    /// block and the recomputed one (SD), or 0/256 for equal/different digests (LLM);
    /// `None` where the seat revealed nothing usable.
    pub distances: Vec<Option<u32>>,
}

/// One seat, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatCheck {
    /// The node.
    pub node: String,
    /// Whether `keccak256(revealed || filesDigest || nonce)` equals its commitment
    /// (`None`: it did not reveal).
    pub commitment_valid: Option<bool>,
    /// Whether its revealed score agrees with the files under the network's rule.
    pub agrees_with_files: Option<bool>,
    /// Its largest per-file distance to the files.
    pub max_distance: Option<u32>,
}

/// Everything the requester checked, and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The threshold SD blocks were compared against (blocks agree below it).
    pub threshold: u32,
    /// Each file.
    pub files: Vec<FileCheck>,
    /// Each seat.
    pub seats: Vec<SeatCheck>,
    /// The recomputed score (`0x` hex), when every file could be fingerprinted.
    pub recomputed: Option<String>,
    /// Whether the files' bytes are those the uploader committed to (`None`: nothing
    /// settled yet).
    pub bytes_match: Option<bool>,
    /// The verdict.
    pub verdict: Verdict,
    /// What is wrong or missing, in words; empty when verified.
    pub problems: Vec<String>,
}

/// Builds the report from the chain's record and the returned files, hashed
/// ([`ReturnedFile::hash`]), in the order served.
pub fn assemble(chain: &ChainRecord, files: &[ReturnedFile]) -> Report {
    let kind = chain.kind;
    let block = kind.block_len();
    let extension = match kind {
        ScoreKind::Image => "png",
        ScoreKind::Text => "json",
    };
    let mut problems = Vec::new();
    let settled_blocks: Option<Vec<&[u8]>> = chain
        .agreed
        .as_deref()
        .map(|agreed| agreed.chunks(block).collect());
    match &settled_blocks {
        None => problems.push("the task has no settled result on chain yet".to_owned()),
        Some(blocks) if blocks.len() != files.len() => problems.push(format!(
            "the chain settled on {} {}, but {} file(s) were returned",
            blocks.len(),
            if kind == ScoreKind::Image {
                "images"
            } else {
                "files"
            },
            files.len()
        )),
        Some(_) => {}
    }
    if files.is_empty() {
        problems.push("no result files were returned".to_owned());
    }
    if chain.overturned {
        problems.push(
            "an appeal's jury reran the task and sided with the outvoted seat: the settled \
             result is the one the jury found wrong"
                .to_owned(),
        );
    }

    let mut checks = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        let (name, print) = (&file.name, &file.fingerprint);
        let expected = format!("{i}.{extension}");
        if *name != expected {
            problems.push(format!("file {i} is named `{name}`, expected `{expected}`"));
        }
        let settled = settled_blocks
            .as_ref()
            .and_then(|blocks| blocks.get(i).copied());
        let (fingerprint, error) = match print {
            Ok(bytes) => (Some(bytes.as_slice()), None),
            Err(e) => {
                problems.push(format!("{name} could not be hashed: {e}"));
                (None, Some(e.clone()))
            }
        };
        let matches_settled = matches!((fingerprint, settled), (Some(f), Some(s)) if f == s);
        if let (Some(f), Some(s)) = (fingerprint, settled)
            && f != s
        {
            problems.push(format!(
                "{name} hashes to {} but the chain settled on {} for it: the relay served \
                 another file than the nodes produced",
                crate::hex::encode(f),
                crate::hex::encode(s)
            ));
        }
        let distances = chain
            .seats
            .iter()
            .map(|seat| {
                let revealed = seat.revealed.as_deref()?;
                let theirs = revealed.chunks(block).nth(i)?;
                let ours = fingerprint?;
                (theirs.len() == ours.len()).then(|| distance(kind, theirs, ours))
            })
            .collect();
        checks.push(FileCheck {
            name: name.clone(),
            sha256: crate::hex::encode(file.sha256),
            fingerprint: fingerprint.map(crate::hex::encode),
            error,
            settled: settled.map(crate::hex::encode),
            matches_settled,
            distances,
        });
    }

    let hashes: Vec<Bytes32> = files.iter().map(|f| f.sha256).collect();
    let bytes_match = chain
        .files_digest
        .map(|digest| crate::digest::files_digest(&hashes) == digest);
    if bytes_match == Some(false) {
        problems.push(
            "the files' bytes are not the ones the uploader committed to (their SHA-256 \
             digest differs from the settled one): the relay or the uploader served other \
             files"
                .to_owned(),
        );
    }
    if chain.agreed.is_some() && chain.files_digest.is_none() {
        problems.push("the chain records no digest of the settled files".to_owned());
    }

    let recomputed: Option<Vec<u8>> = files
        .iter()
        .map(|f| f.fingerprint.as_ref().ok().cloned())
        .collect::<Option<Vec<_>>>()
        .map(|blocks| blocks.concat());

    let mut agreeing = 0;
    let seats = chain
        .seats
        .iter()
        .enumerate()
        .map(|(index, seat)| {
            let commitment_valid = match (
                &seat.revealed,
                &seat.files_digest,
                &seat.commitment,
                &seat.nonce,
            ) {
                (Some(score), Some(digest), Some(commitment), Some(nonce)) => {
                    Some(result_commitment(score, digest, nonce) == *commitment)
                }
                (Some(_), _, _, _) => Some(false),
                _ => None,
            };
            if commitment_valid == Some(false) {
                problems.push(format!(
                    "{}'s revealed score does not open its commitment",
                    seat.node
                ));
            }
            let agrees_with_files = match (&seat.revealed, &recomputed) {
                (Some(theirs), Some(ours)) => {
                    Some(score::agree(kind, theirs, ours, chain.threshold).unwrap_or(false))
                }
                _ => None,
            };
            if commitment_valid == Some(true) && agrees_with_files == Some(true) {
                agreeing += 1;
            }
            let max_distance = checks
                .iter()
                .filter_map(|c| c.distances.get(index).copied().flatten())
                .max();
            SeatCheck {
                node: seat.node.clone(),
                commitment_valid,
                agrees_with_files,
                max_distance,
            }
        })
        .collect();
    if settled_blocks.is_some() && recomputed.is_some() && agreeing < 2 {
        problems.push(format!(
            "only {agreeing} node(s) with a valid commitment agree with the returned files; \
             at least 2 must"
        ));
    }

    let complete = settled_blocks.is_some() && !files.is_empty();
    let verdict = if !complete {
        Verdict::Incomplete
    } else if problems.is_empty() {
        Verdict::Verified
    } else {
        Verdict::Failed
    };
    Report {
        threshold: chain.threshold,
        files: checks,
        seats,
        recomputed: recomputed.map(crate::hex::encode),
        bytes_match,
        verdict,
        problems,
    }
}

fn distance(kind: ScoreKind, a: &[u8], b: &[u8]) -> u32 {
    match kind {
        ScoreKind::Image => a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum(),
        ScoreKind::Text => {
            if a == b {
                0
            } else {
                256
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{files_digest, sha256};

    /// The bytes every test's single file has (the fingerprints are set directly).
    const BYTES: &[u8] = b"the uploader's 0.png";

    fn digest() -> Bytes32 {
        files_digest(&[sha256(BYTES)])
    }

    fn file(name: &str, fingerprint: Fingerprint) -> ReturnedFile {
        ReturnedFile {
            name: name.into(),
            fingerprint,
            sha256: sha256(BYTES),
        }
    }

    fn seat(n: u8, score: &[u8]) -> SeatRecord {
        let nonce = [n; 32];
        SeatRecord {
            node: format!("0x{}", "0".repeat(39) + &n.to_string()),
            commitment: Some(result_commitment(score, &digest(), &nonce)),
            nonce: Some(nonce),
            revealed: Some(score.to_vec()),
            files_digest: Some(digest()),
        }
    }

    fn image_chain(seats: Vec<SeatRecord>, agreed: &[u8]) -> ChainRecord {
        ChainRecord {
            kind: ScoreKind::Image,
            threshold: 5,
            agreed: Some(agreed.to_vec()),
            files_digest: Some(digest()),
            seats,
            overturned: false,
        }
    }

    const A: [u8; 8] = [0x81, 0x42, 0x24, 0x18, 0x18, 0x24, 0x42, 0x81];

    fn flipped(bits: u32) -> [u8; 8] {
        let mut out = A;
        for b in 0..bits {
            out[(b / 8) as usize] ^= 1 << (b % 8);
        }
        out
    }

    #[test]
    fn files_matching_two_valid_seats_are_verified() {
        let chain = image_chain(
            vec![seat(1, &A), seat(2, &flipped(3)), seat(3, &flipped(20))],
            &A,
        );
        let report = assemble(&chain, &[file("0.png", Ok(A.to_vec()))]);
        assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
        assert_eq!(report.files[0].distances, vec![Some(0), Some(3), Some(20)]);
        assert_eq!(
            report
                .seats
                .iter()
                .map(|s| s.agrees_with_files)
                .collect::<Vec<_>>(),
            vec![Some(true), Some(true), Some(false)]
        );
        assert_eq!(report.seats[2].max_distance, Some(20));
    }

    #[test]
    fn a_swapped_file_fails() {
        let chain = image_chain(vec![seat(1, &A), seat(2, &A), seat(3, &A)], &A);
        let report = assemble(&chain, &[file("0.png", Ok(flipped(1).to_vec()))]);
        assert_eq!(report.verdict, Verdict::Failed);
        assert!(!report.files[0].matches_settled);
        assert!(
            report.problems[0].contains("relay served another file"),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn a_forged_reveal_fails_its_commitment() {
        let mut forged = seat(2, &A);
        forged.revealed = Some(flipped(2).to_vec());
        let chain = image_chain(vec![seat(1, &A), forged, seat(3, &flipped(30))], &A);
        let report = assemble(&chain, &[file("0.png", Ok(A.to_vec()))]);
        assert_eq!(report.verdict, Verdict::Failed);
        assert_eq!(report.seats[1].commitment_valid, Some(false));
        assert!(report.problems.iter().any(|p| p.contains("at least 2")));
    }

    #[test]
    fn missing_settlement_or_files_is_incomplete() {
        let mut chain = image_chain(vec![seat(1, &A)], &A);
        chain.agreed = None;
        let report = assemble(&chain, &[file("0.png", Ok(A.to_vec()))]);
        assert_eq!(report.verdict, Verdict::Incomplete);
        let chain = image_chain(vec![seat(1, &A), seat(2, &A)], &A);
        assert_eq!(assemble(&chain, &[]).verdict, Verdict::Incomplete);
    }

    #[test]
    fn unhashable_and_misnamed_files_fail() {
        let chain = image_chain(vec![seat(1, &A), seat(2, &A)], &A);
        let report = assemble(&chain, &[file("0.png", Err("not a PNG".into()))]);
        assert_eq!(report.verdict, Verdict::Failed);
        assert_eq!(report.recomputed, None);
        let report = assemble(&chain, &[file("1.png", Ok(A.to_vec()))]);
        assert_eq!(report.verdict, Verdict::Failed);
    }

    /// The review's attack 5: other pixels with the same perceptual hash (here: the same
    /// fingerprint, other bytes) pass the score check but not the bytes check.
    #[test]
    fn other_bytes_with_the_same_score_fail() {
        let chain = image_chain(vec![seat(1, &A), seat(2, &A), seat(3, &A)], &A);
        let mut lookalike = file("0.png", Ok(A.to_vec()));
        lookalike.sha256 = sha256(b"other pixels, same pHash");
        let report = assemble(&chain, &[lookalike]);
        assert_eq!(report.verdict, Verdict::Failed);
        assert!(report.files[0].matches_settled, "the score alone matches");
        assert_eq!(report.bytes_match, Some(false));
        assert!(
            report.problems.iter().any(|p| p.contains("bytes")),
            "{:?}",
            report.problems
        );
        // A seat whose reveal names other files' digest does not open its commitment.
        let mut other = seat(2, &A);
        other.files_digest = Some([7; 32]);
        let chain = image_chain(vec![seat(1, &A), other, seat(3, &A)], &A);
        let report = assemble(&chain, &[file("0.png", Ok(A.to_vec()))]);
        assert_eq!(report.seats[1].commitment_valid, Some(false));
    }

    #[test]
    fn text_scores_compare_for_equality() {
        let text = br#"{"model": "gpt2"}"#;
        let digest = fingerprint(ScoreKind::Text, text).unwrap();
        let other = fingerprint(ScoreKind::Text, b"{}").unwrap();
        let chain = ChainRecord {
            kind: ScoreKind::Text,
            threshold: 5,
            agreed: Some(digest.clone()),
            files_digest: Some(self::digest()),
            seats: vec![seat(1, &digest), seat(2, &digest), seat(3, &other)],
            overturned: false,
        };
        let report = assemble(&chain, &[file("0.json", Ok(digest.clone()))]);
        assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
        assert_eq!(report.files[0].distances, vec![Some(0), Some(0), Some(256)]);

        // The same files fail once a jury has overturned the result.
        let overturned = ChainRecord {
            overturned: true,
            ..chain
        };
        let report = assemble(&overturned, &[file("0.json", Ok(digest))]);
        assert_eq!(report.verdict, Verdict::Failed);
        assert!(report.problems[0].contains("jury"), "{:?}", report.problems);
    }
}
