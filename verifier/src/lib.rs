//! The rules every Tessera party must agree on, bit for bit, on every platform.
//!
//! - [`phash`]: the network's perceptual hash, a bit-exact port of goimagehash v1.1.0
//!   `PerceptionHash` over the image types Go's decoders produce.
//! - [`similarity`]: a second, independent similarity measure for verification reports
//!   (never used in scores).
//! - [`score`]: score encoding, validation and the per-block comparison rule.
//! - [`commitment`]: `keccak256(score || nonce)`, task hashes and GPU ids.
//! - [`digest`]: SHA-256 of content (model files, request bodies, LLM result files).
//! - [`args`]: typed, validated task arguments (Stable Diffusion and LLM).
//! - [`llm`]: LLM result files, serialized byte for byte as Python's `json.dump` writes them
//!   (through [`pyjson`]).
//! - [`report`]: returned files checked against the chain's commitments and reveals.
//! - [`hex`]: the `0x` hex used for all of the above.
//!
//! This crate depends on no UI, server, chain or ML crate and gives identical results on
//! `wasm32-unknown-unknown` and natively.

pub mod args;
pub mod commitment;
pub mod digest;
pub mod hex;
pub mod llm;
pub mod phash;
pub mod pyjson;
pub mod report;
pub mod score;
pub mod similarity;
