//! `engine::tokenizer`: byte-level BPE (GPT-2's and Qwen2's reference `tokenizer.json`) and
//! CLIP's BPE, encoding any text and decoding any ids. The first byte picks the tokenizer
//! and whether the rest is text to encode or little-endian `u32` ids to decode.

use std::sync::LazyLock;

use engine::tokenizer::{ByteLevelTokenizer, ClipTokenizer};

static GPT2: LazyLock<ByteLevelTokenizer> = LazyLock::new(|| {
    ByteLevelTokenizer::from_tokenizer_json(include_str!("../data/gpt2-tokenizer.json"))
        .expect("the reference GPT-2 tokenizer loads")
});
static QWEN2: LazyLock<ByteLevelTokenizer> = LazyLock::new(|| {
    ByteLevelTokenizer::from_tokenizer_json(include_str!("../data/qwen2-tokenizer.json"))
        .expect("the reference Qwen2 tokenizer loads")
});
static CLIP: LazyLock<ClipTokenizer> = LazyLock::new(|| {
    ClipTokenizer::from_tokenizer_json(include_str!("../data/clip-tokenizer.json"))
        .expect("the reference CLIP tokenizer loads")
});

fn main() {
    LazyLock::force(&GPT2);
    LazyLock::force(&QWEN2);
    LazyLock::force(&CLIP);
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let byte_level = if mode & 1 == 0 { &*GPT2 } else { &*QWEN2 };
        if mode & 2 != 0 {
            let ids: Vec<u32> = rest
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")) % 1024)
                .collect();
            let _ = byte_level.decode(&ids, mode & 4 != 0);
            for id in ids {
                let _ = CLIP.token(id);
            }
            return;
        }
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        if let Ok(ids) = byte_level.encode(text) {
            let decoded = byte_level.decode(&ids, mode & 4 != 0);
            // GPT-2's byte-level BPE has no normalizer: decoding gives the text back.
            if mode & 5 == 0 {
                assert_eq!(decoded, text, "{ids:?}");
            }
        }
        let _ = CLIP.encode(text);
    });
}
