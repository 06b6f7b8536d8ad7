//! The byte-pair-encoding merge loop shared by the GPT-2 and CLIP tokenizers.

use std::collections::HashMap;

use crate::error::{EngineError, Result};

/// A BPE vocabulary with its ranked merges.
pub(crate) struct Bpe {
    vocab: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
}

impl Bpe {
    /// Builds the model from a vocabulary and merges in priority order.
    pub(crate) fn new(vocab: HashMap<String, u32>, merges: Vec<(String, String)>) -> Self {
        let ranks = merges
            .into_iter()
            .enumerate()
            .map(|(rank, pair)| (pair, rank))
            .collect();
        Self { vocab, ranks }
    }

    /// The id of `token`, if it is in the vocabulary.
    pub(crate) fn id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// The vocabulary, token to id.
    pub(crate) fn vocab(&self) -> &HashMap<String, u32> {
        &self.vocab
    }

    /// Merges `symbols` (the initial pieces of one pre-token) by rank, lowest first, and
    /// returns the resulting pieces.
    pub(crate) fn merge(&self, mut symbols: Vec<String>) -> Vec<String> {
        while symbols.len() > 1 {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, pair)| {
                    self.ranks
                        .get(&(pair[0].clone(), pair[1].clone()))
                        .map(|&rank| (rank, i))
                })
                .min();
            let Some((_, first)) = best else { break };
            let (left, right) = (symbols[first].clone(), symbols[first + 1].clone());
            let mut merged = Vec::with_capacity(symbols.len());
            let mut i = 0;
            while i < symbols.len() {
                if i + 1 < symbols.len() && symbols[i] == left && symbols[i + 1] == right {
                    merged.push(format!("{left}{right}"));
                    i += 2;
                } else {
                    merged.push(std::mem::take(&mut symbols[i]));
                    i += 1;
                }
            }
            symbols = merged;
        }
        symbols
    }
}

/// Parses `merges.txt`: an optional `#version` line, then one `left right` pair per line.
pub(crate) fn parse_merges_txt(text: &str) -> Result<Vec<(String, String)>> {
    text.lines()
        .enumerate()
        .filter(|(i, line)| !(line.is_empty() || (*i == 0 && line.starts_with("#version"))))
        .map(|(i, line)| {
            line.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    EngineError::InvalidModel(format!(
                        "merges.txt line {}: expected `left right`, got {line:?}",
                        i + 1
                    ))
                })
        })
        .collect()
}

/// The pieces of a `tokenizer.json` that the BPE tokenizers read.
#[derive(serde::Deserialize)]
pub(crate) struct TokenizerJson {
    pub(crate) model: TokenizerJsonModel,
    #[serde(default)]
    pub(crate) added_tokens: Vec<AddedToken>,
    /// How text is split before BPE (`ByteLevel`, or `Split` then `ByteLevel`).
    #[serde(default)]
    pub(crate) pre_tokenizer: Option<serde_json::Value>,
    /// How text is normalized first (`NFC` for Qwen2), if at all.
    #[serde(default)]
    pub(crate) normalizer: Option<serde_json::Value>,
}

/// `tokenizer.json`'s `model` section.
#[derive(serde::Deserialize)]
pub(crate) struct TokenizerJsonModel {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) vocab: HashMap<String, u32>,
    pub(crate) merges: Vec<MergeEntry>,
}

/// A merge as `tokenizer.json` stores it: `"a b"` (older files) or `["a", "b"]`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum MergeEntry {
    Joined(String),
    Pair(String, String),
}

/// A token added on top of the BPE vocabulary (special tokens).
#[derive(serde::Deserialize, Clone)]
pub(crate) struct AddedToken {
    pub(crate) id: u32,
    pub(crate) content: String,
    #[serde(default)]
    pub(crate) special: bool,
}

impl TokenizerJson {
    /// Parses `tokenizer.json`, checking it holds a BPE model.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let parsed: Self =
            serde_json::from_str(text).map_err(|e| EngineError::json("tokenizer.json", e))?;
        if parsed.model.kind != "BPE" {
            return Err(EngineError::InvalidModel(format!(
                "tokenizer.json holds a {} model, expected BPE",
                parsed.model.kind
            )));
        }
        Ok(parsed)
    }

    /// The merges as pairs.
    pub(crate) fn merges(&self) -> Result<Vec<(String, String)>> {
        self.model
            .merges
            .iter()
            .map(|entry| match entry {
                MergeEntry::Pair(a, b) => Ok((a.clone(), b.clone())),
                MergeEntry::Joined(text) => text
                    .split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| {
                        EngineError::InvalidModel(format!("tokenizer.json: bad merge {text:?}"))
                    }),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_lowest_rank_first_and_all_occurrences() {
        let vocab = HashMap::new();
        let merges = vec![
            ("a".to_string(), "b".to_string()),
            ("ab".to_string(), "c".to_string()),
        ];
        let bpe = Bpe::new(vocab, merges);
        let pieces = bpe.merge("abcab".chars().map(String::from).collect());
        assert_eq!(pieces, ["abc", "ab"]);
    }

    #[test]
    fn merges_txt_skips_the_version_line() {
        let merges = parse_merges_txt("#version: 0.2\ni n\nĠ s\n").unwrap();
        assert_eq!(merges, [("i".into(), "n".into()), ("Ġ".into(), "s".into())]);
        assert!(parse_merges_txt("#version: 0.2\nbroken\n").is_err());
    }
}
