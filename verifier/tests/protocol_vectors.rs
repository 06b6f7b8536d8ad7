//! Every case of `shared/vectors/protocol/vectors.json`: commitments, task hashes, score
//! comparison, LLM result files and GPU ids. Runs natively and, under
//! `wasm-bindgen-test-runner`, in headless Chromium: both must give the same answers.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use serde::Deserialize;
use verifier::{commitment, hex, llm::LlmResult, score};

#[derive(Deserialize)]
struct Vectors {
    commitments: Vec<CommitmentCase>,
    task_hashes: Vec<TaskHashCase>,
    compare: Vec<CompareCase>,
    llm_results: Vec<LlmResultCase>,
    gpu_ids: Vec<GpuIdCase>,
}

#[derive(Deserialize)]
struct CommitmentCase {
    score: String,
    nonce: String,
    commitment: String,
}

#[derive(Deserialize)]
struct TaskHashCase {
    args_json_utf8: String,
    style: String,
    task_hash: String,
}

#[derive(Deserialize)]
struct CompareCase {
    a: String,
    b: String,
    threshold: u32,
    max_block_distance: Option<u32>,
    equal: Option<bool>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct LlmResultCase {
    result: serde_json::Value,
    file_bytes_utf8: String,
    sha256: String,
}

#[derive(Deserialize)]
struct GpuIdCase {
    gpu_name: String,
    gpu_vram: u64,
    gpu_id: String,
}

/// Embedded at compile time so the same test runs in a browser, which has no file system.
const VECTORS: &str = include_str!("../../../shared/vectors/protocol/vectors.json");

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("vectors.json parses")
}

#[test]
fn commitments() {
    let cases = vectors().commitments;
    assert!(!cases.is_empty());
    for case in cases {
        let score = hex::decode(&case.score).unwrap();
        let nonce = hex::decode_array(&case.nonce).unwrap();
        let want = hex::decode_array(&case.commitment).unwrap();
        assert_eq!(
            commitment::commitment(&score, &nonce),
            want,
            "score {}",
            case.score
        );
        assert!(commitment::verify_commitment(&score, &nonce, &want));
    }
}

#[test]
fn task_hashes_are_over_the_exact_bytes() {
    let cases = vectors().task_hashes;
    assert!(cases.iter().any(|c| c.style == "compact"));
    assert!(cases.iter().any(|c| c.style == "python_default"));
    for case in cases {
        let got = commitment::task_hash(case.args_json_utf8.as_bytes());
        assert_eq!(hex::encode(got), case.task_hash, "{} args", case.style);
    }
}

#[test]
fn comparisons() {
    let cases = vectors().compare;
    assert!(cases.iter().any(|c| c.error.is_some()));
    for case in cases {
        let a = hex::decode(&case.a).unwrap();
        let b = hex::decode(&case.b).unwrap();
        let got = score::compare_images(&a, &b, case.threshold);
        let label = format!("{} vs {} at {}", case.a, case.b, case.threshold);
        match (&case.error, got) {
            (Some(expected), Err(err)) => {
                let msg = err.to_string();
                assert!(
                    msg.contains(expected.as_str()),
                    "{label}: error {msg:?}, expected {expected:?}"
                );
            }
            (Some(expected), Ok(c)) => panic!("{label}: expected error {expected:?}, got {c:?}"),
            (None, Ok(c)) => {
                assert_eq!(Some(c.max_distance), case.max_block_distance, "{label}");
                assert_eq!(Some(c.agrees()), case.equal, "{label}");
                assert_eq!(
                    score::agree(score::ScoreKind::Image, &a, &b, case.threshold),
                    Ok(c.agrees())
                );
            }
            (None, Err(err)) => panic!("{label}: unexpected error {err}"),
        }
    }
}

#[test]
fn llm_result_files_match_python_byte_for_byte() {
    let cases = vectors().llm_results;
    assert!(!cases.is_empty());
    for case in cases {
        let result: LlmResult = serde_json::from_value(case.result).expect("result parses");
        let bytes = result.to_file_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            case.file_bytes_utf8
        );
        let score = score::text_score([bytes.as_slice()]);
        assert_eq!(hex::encode(&score), case.sha256);
        assert_eq!(score::validate(&score, score::ScoreKind::Text), Ok(()));
    }
}

#[test]
fn gpu_ids() {
    let cases = vectors().gpu_ids;
    assert!(!cases.is_empty());
    for case in cases {
        let got = commitment::gpu_id(&case.gpu_name, case.gpu_vram);
        assert_eq!(
            hex::encode(got),
            case.gpu_id,
            "{} {}",
            case.gpu_name,
            case.gpu_vram
        );
    }
}
