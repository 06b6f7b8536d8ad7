//! GPT-2's byte-level BPE tokenizer (`vocab.json` + `merges.txt`, or `tokenizer.json`).

use std::collections::HashMap;

use regex::Regex;

use super::bpe::{AddedToken, Bpe, TokenizerJson, parse_merges_txt};
use crate::error::{EngineError, Result};

/// GPT-2's pre-tokenizer pattern without its trailing-whitespace lookahead
/// (`\s+(?!\S)`), which [`pre_tokenize`] applies by hand: the `regex` crate has no
/// lookaround.
const PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+";

/// A byte-level BPE tokenizer, as used by GPT-2 and its descendants.
pub struct ByteLevelTokenizer {
    bpe: Bpe,
    pattern: Regex,
    /// Special tokens, matched verbatim before pre-tokenization, longest first.
    added: Vec<AddedToken>,
    decoder: HashMap<u32, String>,
    byte_to_char: [char; 256],
    char_to_byte: HashMap<char, u8>,
}

impl ByteLevelTokenizer {
    /// Builds the tokenizer from `vocab.json` and `merges.txt` contents.
    /// `special` lists special tokens (such as `<|endoftext|>`) that are matched whole.
    pub fn from_vocab_merges(vocab_json: &str, merges_txt: &str, special: &[&str]) -> Result<Self> {
        let vocab: HashMap<String, u32> =
            serde_json::from_str(vocab_json).map_err(|e| EngineError::json("vocab.json", e))?;
        let merges = parse_merges_txt(merges_txt)?;
        let added = special
            .iter()
            .map(|content| {
                vocab
                    .get(*content)
                    .map(|&id| AddedToken {
                        id,
                        content: content.to_string(),
                        special: true,
                    })
                    .ok_or_else(|| {
                        EngineError::InvalidModel(format!(
                            "special token {content:?} is not in vocab.json"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::new(Bpe::new(vocab, merges), added))
    }

    /// Builds the tokenizer from a `tokenizer.json` holding a byte-level BPE model.
    pub fn from_tokenizer_json(text: &str) -> Result<Self> {
        let parsed = TokenizerJson::parse(text)?;
        let merges = parsed.merges()?;
        Ok(Self::new(
            Bpe::new(parsed.model.vocab, merges),
            parsed.added_tokens,
        ))
    }

    fn new(bpe: Bpe, mut added: Vec<AddedToken>) -> Self {
        added.sort_by_key(|token| std::cmp::Reverse(token.content.len()));
        let byte_to_char = bytes_to_unicode();
        let char_to_byte = byte_to_char
            .iter()
            .enumerate()
            .map(|(byte, &c)| (c, byte as u8))
            .collect();
        let mut decoder: HashMap<u32, String> = bpe
            .vocab()
            .iter()
            .map(|(token, &id)| (id, token.clone()))
            .collect();
        for token in &added {
            decoder.insert(token.id, token.content.clone());
        }
        Self {
            bpe,
            pattern: Regex::new(PATTERN).expect("the GPT-2 pattern is valid"),
            added,
            decoder,
            byte_to_char,
            char_to_byte,
        }
    }

    /// The id of `token` (a vocabulary entry or an added token).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.added
            .iter()
            .find(|added| added.content == token)
            .map(|added| added.id)
            .or_else(|| self.bpe.id(token))
    }

    /// Encodes `text` into token ids. Added tokens in the text are matched whole.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            // The earliest added token in `rest` (longest first on ties).
            let next = self
                .added
                .iter()
                .filter_map(|token| rest.find(&token.content).map(|at| (at, token)))
                .min_by_key(|(at, _)| *at);
            let (plain, after) = match next {
                Some((at, token)) => (
                    &rest[..at],
                    Some((token, &rest[at + token.content.len()..])),
                ),
                None => (rest, None),
            };
            self.encode_plain(plain, &mut ids)?;
            match after {
                Some((token, remainder)) => {
                    ids.push(token.id);
                    rest = remainder;
                }
                None => break,
            }
        }
        Ok(ids)
    }

    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) -> Result<()> {
        for word in pre_tokenize(&self.pattern, text) {
            let symbols = word
                .bytes()
                .map(|byte| self.byte_to_char[usize::from(byte)].to_string())
                .collect();
            for piece in self.bpe.merge(symbols) {
                let id = self.bpe.id(&piece).ok_or_else(|| {
                    EngineError::InvalidModel(format!(
                        "BPE piece {piece:?} is not in the vocabulary"
                    ))
                })?;
                ids.push(id);
            }
        }
        Ok(())
    }

    /// Decodes `ids` back into text; with `skip_special`, added special tokens are left out.
    /// Invalid UTF-8 (a character cut between tokens) becomes U+FFFD, as in `transformers`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let mut bytes = Vec::new();
        for id in ids {
            if let Some(added) = self.added.iter().find(|token| token.id == *id) {
                if !(skip_special && added.special) {
                    bytes.extend_from_slice(added.content.as_bytes());
                }
                continue;
            }
            if let Some(token) = self.decoder.get(id) {
                bytes.extend(token.chars().filter_map(|c| self.char_to_byte.get(&c)));
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Splits `text` into GPT-2 pre-tokens, applying the `\s+(?!\S)` rule: a whitespace run
/// followed by a non-space gives its last character to the next pre-token.
fn pre_tokenize<'t>(pattern: &Regex, text: &'t str) -> Vec<&'t str> {
    let mut words = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let Some(found) = pattern.find_at(text, at) else {
            break;
        };
        let mut end = found.end();
        let piece = found.as_str();
        let followed_by_text = text[end..]
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace());
        if piece.chars().all(char::is_whitespace) && followed_by_text && piece.chars().count() > 1 {
            let last = piece.chars().next_back().map_or(0, char::len_utf8);
            end -= last;
        }
        words.push(&text[found.start()..end]);
        at = end;
    }
    words
}

/// GPT-2's reversible map from bytes to printable characters.
pub(crate) fn bytes_to_unicode() -> [char; 256] {
    let printable = |b: u32| {
        (u32::from(b'!')..=u32::from(b'~')).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b)
    };
    let mut table = ['\0'; 256];
    let mut next_free = 256u32;
    for byte in 0..256u32 {
        let code = if printable(byte) {
            byte
        } else {
            let code = next_free;
            next_free += 1;
            code
        };
        table[byte as usize] = char::from_u32(code).expect("code points below 0x200 are valid");
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_tokenizer_follows_gpt2_whitespace_rules() {
        let pattern = Regex::new(PATTERN).unwrap();
        assert_eq!(
            pre_tokenize(&pattern, "Hello  world's 42!\n\nok  "),
            [
                "Hello", " ", " world", "'s", " 42", "!", "\n", "\n", "ok", "  "
            ]
        );
        assert_eq!(pre_tokenize(&pattern, "a\nb"), ["a", "\n", "b"]);
    }

    #[test]
    fn byte_map_is_gpt2s() {
        let table = bytes_to_unicode();
        assert_eq!(table[usize::from(b' ')], 'Ġ');
        assert_eq!(table[usize::from(b'\n')], 'Ċ');
        assert_eq!(table[usize::from(b'A')], 'A');
    }
}
