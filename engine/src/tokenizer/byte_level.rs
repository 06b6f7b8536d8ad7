//! GPT-2's byte-level BPE tokenizer (`vocab.json` + `merges.txt`, or `tokenizer.json`).

use std::collections::HashMap;

use regex::Regex;

use super::bpe::{AddedToken, Bpe, TokenizerJson, parse_merges_txt};
use crate::error::{EngineError, Result};

/// GPT-2's pre-tokenizer pattern (`ByteLevel` with `use_regex`).
const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// The one lookaround byte-level patterns use: a whitespace run not followed by a
/// non-space. The `regex` crate has no lookaround, so it becomes a capture group and
/// [`pre_tokenize`] gives the run's last character back when a non-space follows.
const TRAILING_WHITESPACE: &str = r"\s+(?!\S)";

/// A byte-level BPE tokenizer, as used by GPT-2 and its descendants.
pub struct ByteLevelTokenizer {
    bpe: Bpe,
    /// The pre-tokenizer's pattern, its trailing-whitespace alternative as group 1.
    pattern: Regex,
    /// Unicode NFC before splitting (Qwen2's `normalizer`).
    nfc: bool,
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
        Self::new(Bpe::new(vocab, merges), added, GPT2_PATTERN, false)
    }

    /// Builds the tokenizer from a `tokenizer.json` holding a byte-level BPE model.
    pub fn from_tokenizer_json(text: &str) -> Result<Self> {
        let parsed = TokenizerJson::parse(text)?;
        let merges = parsed.merges()?;
        let pattern = split_pattern(parsed.pre_tokenizer.as_ref())?;
        let nfc = match parsed.normalizer.as_ref() {
            None | Some(serde_json::Value::Null) => false,
            Some(n) if n.get("type").and_then(serde_json::Value::as_str) == Some("NFC") => true,
            Some(other) => {
                return Err(EngineError::InvalidModel(format!(
                    "tokenizer.json: normalizer {} is not supported (none or NFC)",
                    other.get("type").unwrap_or(other)
                )));
            }
        };
        Self::new(
            Bpe::new(parsed.model.vocab, merges),
            parsed.added_tokens,
            &pattern,
            nfc,
        )
    }

    fn new(bpe: Bpe, mut added: Vec<AddedToken>, pattern: &str, nfc: bool) -> Result<Self> {
        let pattern = compile(pattern)?;
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
        Ok(Self {
            bpe,
            pattern,
            nfc,
            added,
            decoder,
            byte_to_char,
            char_to_byte,
        })
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
        let normalized;
        let text = if self.nfc {
            use unicode_normalization::UnicodeNormalization as _;
            normalized = text.nfc().collect::<String>();
            normalized.as_str()
        } else {
            text
        };
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

/// Compiles a pre-tokenizer pattern for the `regex` crate: its one `\s+(?!\S)` becomes group
/// 1 (see [`pre_tokenize`]); any other lookaround is refused.
fn compile(pattern: &str) -> Result<Regex> {
    let invalid = |why: String| {
        EngineError::InvalidModel(format!(
            "tokenizer.json: pre-tokenizer pattern {pattern:?}: {why}"
        ))
    };
    if pattern.matches(TRAILING_WHITESPACE).count() > 1 {
        return Err(invalid("more than one lookahead".into()));
    }
    let translated = pattern.replacen(TRAILING_WHITESPACE, r"(\s+)", 1);
    if ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|look| translated.contains(look))
    {
        return Err(invalid(r"a lookaround other than \s+(?!\S)".into()));
    }
    Regex::new(&translated).map_err(|e| invalid(e.to_string()))
}

/// The split pattern of a `tokenizer.json` `pre_tokenizer`: GPT-2's for `ByteLevel` with its
/// regex, or a `Split` (`Isolated`) pattern followed by `ByteLevel` without one (Llama 3,
/// Qwen2). Anything else is refused by name rather than tokenized differently.
fn split_pattern(pre: Option<&serde_json::Value>) -> Result<String> {
    use serde_json::Value;
    let kind = |v: &Value| {
        v.get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let flag = |v: &Value, key: &str, default: bool| {
        v.get(key).and_then(Value::as_bool).unwrap_or(default)
    };
    let refuse = |what: String| {
        Err(EngineError::InvalidModel(format!(
            "tokenizer.json: pre_tokenizer {what} is not supported (ByteLevel, or Split then ByteLevel)"
        )))
    };
    let Some(pre) = pre.filter(|v| !v.is_null()) else {
        return refuse("none".into());
    };
    match kind(pre).as_str() {
        "ByteLevel" if flag(pre, "use_regex", true) && !flag(pre, "add_prefix_space", false) => {
            Ok(GPT2_PATTERN.to_owned())
        }
        "Sequence" => {
            let parts = pre
                .get("pretokenizers")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            match parts {
                [split, byte_level]
                    if kind(split) == "Split"
                        && split.get("behavior").and_then(Value::as_str) == Some("Isolated")
                        && !flag(split, "invert", false)
                        && kind(byte_level) == "ByteLevel"
                        && !flag(byte_level, "use_regex", true)
                        && !flag(byte_level, "add_prefix_space", false) =>
                {
                    match split
                        .get("pattern")
                        .and_then(|p| p.get("Regex"))
                        .and_then(Value::as_str)
                    {
                        Some(regex) => Ok(regex.to_owned()),
                        None => refuse("Split with a plain-string pattern".into()),
                    }
                }
                _ => refuse(format!(
                    "Sequence of {:?}",
                    parts.iter().map(kind).collect::<Vec<_>>()
                )),
            }
        }
        other => refuse(format!("{other:?} with these options")),
    }
}

/// Splits `text` into pre-tokens with `pattern`, applying the `\s+(?!\S)` rule to what its
/// group 1 matched: a whitespace run followed by a non-space gives its last character to
/// the next pre-token.
fn pre_tokenize<'t>(pattern: &Regex, text: &'t str) -> Vec<&'t str> {
    let mut words = Vec::new();
    // `at`: where the text not yet in a word starts; `search`: where to look for a match.
    let (mut at, mut search) = (0, 0);
    while search < text.len() {
        let Some(captures) = pattern.captures_at(text, search) else {
            break;
        };
        let found = captures.get(0).expect("group 0 is the match");
        let mut end = found.end();
        if let Some(run) = captures.get(1) {
            let followed_by_text = text[end..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace());
            if followed_by_text && run.as_str().chars().count() > 1 {
                let last = run.as_str().chars().next_back().map_or(0, char::len_utf8);
                end -= last;
            }
        }
        if end == found.start() {
            // An empty match: look again one character on.
            search = found.start()
                + text[found.start()..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
            continue;
        }
        // `Isolated`: text between matches is a word of its own.
        if found.start() > at {
            words.push(&text[at..found.start()]);
        }
        words.push(&text[found.start()..end]);
        at = end;
        search = end;
    }
    if at < text.len() {
        words.push(&text[at..]);
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
        let pattern = compile(GPT2_PATTERN).unwrap();
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
