//! CLIP's BPE tokenizer (`vocab.json` + `merges.txt`, or `tokenizer.json`), as
//! `transformers`' `CLIPTokenizer` encodes Stable Diffusion prompts.
//!
//! Text is whitespace-collapsed and lowercased, split by CLIP's pattern, mapped through
//! GPT-2's byte table and merged with `</w>` marking the end of each word.

use std::collections::HashMap;

use regex::Regex;

use super::bpe::{Bpe, TokenizerJson, parse_merges_txt};
use super::byte_level::bytes_to_unicode;
use crate::error::{EngineError, Result};

const PATTERN: &str =
    r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+";
const START: &str = "<|startoftext|>";
const END: &str = "<|endoftext|>";
const END_OF_WORD: &str = "</w>";

/// CLIP's tokenizer.
pub struct ClipTokenizer {
    bpe: Bpe,
    pattern: Regex,
    whitespace: Regex,
    byte_to_char: [char; 256],
    bos: u32,
    eos: u32,
    /// The padding token: `eos` unless `tokenizer_config.json` names another (SDXL's second
    /// tokenizer pads with `!`).
    pad: u32,
    /// Id to token, for Compel's punctuation-aware chunk splitting.
    pieces: HashMap<u32, String>,
}

impl ClipTokenizer {
    /// Builds the tokenizer from `vocab.json` and `merges.txt` contents.
    pub fn from_vocab_merges(vocab_json: &str, merges_txt: &str) -> Result<Self> {
        let vocab: HashMap<String, u32> =
            serde_json::from_str(vocab_json).map_err(|e| EngineError::json("vocab.json", e))?;
        Self::new(Bpe::new(vocab, parse_merges_txt(merges_txt)?), &[])
    }

    /// Builds the tokenizer from a `tokenizer.json` holding CLIP's BPE model.
    pub fn from_tokenizer_json(text: &str) -> Result<Self> {
        let parsed = TokenizerJson::parse(text)?;
        let merges = parsed.merges()?;
        let added: Vec<(String, u32)> = parsed
            .added_tokens
            .iter()
            .map(|token| (token.content.clone(), token.id))
            .collect();
        Self::new(Bpe::new(parsed.model.vocab, merges), &added)
    }

    fn new(bpe: Bpe, added: &[(String, u32)]) -> Result<Self> {
        let find = |token: &str| {
            added
                .iter()
                .find(|(content, _)| content == token)
                .map(|(_, id)| *id)
                .or_else(|| bpe.id(token))
                .ok_or_else(|| {
                    EngineError::InvalidModel(format!(
                        "CLIP tokenizer: {token} is not in the vocabulary"
                    ))
                })
        };
        let (bos, eos) = (find(START)?, find(END)?);
        let pieces = bpe
            .vocab()
            .iter()
            .map(|(token, &id)| (id, token.clone()))
            .collect();
        Ok(Self {
            pieces,
            bpe,
            pattern: Regex::new(PATTERN).expect("CLIP's pattern is valid"),
            whitespace: Regex::new(r"\s+").expect("valid"),
            byte_to_char: bytes_to_unicode(),
            bos,
            eos,
            pad: eos,
        })
    }

    /// The tokenizer padding with `pad_token` from `tokenizer_config.json` (a string or an
    /// added-token object with `content`); absent, it pads with the end-of-text token.
    pub fn with_config(mut self, tokenizer_config_json: Option<&str>) -> Result<Self> {
        let Some(text) = tokenizer_config_json else {
            return Ok(self);
        };
        let config: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| EngineError::json("tokenizer_config.json", e))?;
        let token = match config.get("pad_token") {
            Some(serde_json::Value::String(token)) => Some(token.as_str()),
            Some(serde_json::Value::Object(added)) => {
                added.get("content").and_then(serde_json::Value::as_str)
            }
            _ => None,
        };
        if let Some(token) = token {
            self.pad = match token {
                END => self.eos,
                START => self.bos,
                other => self.bpe.id(other).ok_or_else(|| {
                    EngineError::InvalidModel(format!(
                        "tokenizer_config.json: pad_token {other:?} is not in the vocabulary"
                    ))
                })?,
            };
        }
        Ok(self)
    }

    /// The start-of-text token.
    pub fn bos(&self) -> u32 {
        self.bos
    }

    /// The end-of-text token.
    pub fn eos(&self) -> u32 {
        self.eos
    }

    /// The padding token (the end-of-text token for Stable Diffusion 1.x).
    pub fn pad(&self) -> u32 {
        self.pad
    }

    /// The vocabulary entry of `id` (`</w>` marks a word's end).
    pub fn token(&self, id: u32) -> Option<&str> {
        self.pieces.get(&id).map(String::as_str)
    }

    /// Encodes `text` without start/end tokens, truncation or padding.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let cleaned = self.whitespace.replace_all(text.trim(), " ").to_lowercase();
        let mut ids = Vec::new();
        for word in self.pattern.find_iter(&cleaned) {
            match word.as_str() {
                START => ids.push(self.bos),
                END => ids.push(self.eos),
                word => {
                    let mut symbols: Vec<String> = word
                        .bytes()
                        .map(|byte| self.byte_to_char[usize::from(byte)].to_string())
                        .collect();
                    if let Some(last) = symbols.last_mut() {
                        last.push_str(END_OF_WORD);
                    }
                    ids.extend(
                        self.bpe
                            .merge(symbols)
                            .iter()
                            // Unknown pieces become `<|endoftext|>`, CLIP's unk token.
                            .map(|piece| self.bpe.id(piece).unwrap_or(self.eos)),
                    );
                }
            }
        }
        ids
    }
}
