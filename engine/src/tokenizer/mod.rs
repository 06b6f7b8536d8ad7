//! Tokenizers: GPT-2's byte-level BPE and CLIP's BPE.

mod bpe;
mod byte_level;
mod clip;

pub use byte_level::ByteLevelTokenizer;
pub use clip::ClipTokenizer;
