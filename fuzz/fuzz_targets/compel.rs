//! `engine::sd::prompt`: the Compel prompt-weighting parser (`word+`, `(words)1.3`, nesting),
//! then CLIP's tokenizer on each fragment, as the text encoder's conditioning does.

use std::sync::LazyLock;

use engine::tokenizer::ClipTokenizer;

static CLIP: LazyLock<ClipTokenizer> = LazyLock::new(|| {
    ClipTokenizer::from_tokenizer_json(include_str!("../data/clip-tokenizer.json"))
        .expect("the reference CLIP tokenizer loads")
});

fn main() {
    LazyLock::force(&CLIP);
    afl::fuzz!(|data: &[u8]| {
        let Ok(prompt) = std::str::from_utf8(data) else {
            return;
        };
        for fragment in engine::sd::prompt::parse(prompt) {
            let _ = CLIP.encode(&fragment.text);
        }
    });
}
