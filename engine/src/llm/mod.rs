//! LLM text generation from the transformers layout: GPT-2 and the Llama family (Llama,
//! Qwen2, Qwen3), chat templates, decoding.
//!
//! Every backend computes in `float32`: `f16`/`bf16` checkpoints are widened on load, a
//! task's `dtype` `auto` or `float32` runs so, and `float16`/`bfloat16` are refused with that
//! reason ([`decoding`]), as are `quantize_bits`, beams and several returned sequences.
//! Sizes for fit checks come from `config.json` ([`ModelConfig::parameter_count`],
//! [`ModelConfig::kv_cache_bytes`]).

mod cache;
mod chat;
mod gpt2;
mod llama;
mod sampling;
mod task;

pub use cache::KvCache;
pub use chat::{ChatTemplate, FALLBACK_TEMPLATE, TEMPLATE_FUEL, TEMPLATE_OUTPUT_LIMIT};
pub use gpt2::{Gpt2, Gpt2Config};
pub use llama::{Family, Llama, LlamaConfig, RopeScaling};
pub use sampling::SamplingConfig;
pub use task::{Decoding, GenerationDefaults, decoding};

use burn::tensor::Device;
use serde::Deserialize;

use verifier::args::LlmTaskArgs;
use verifier::llm::{FinishReason, Message};

use crate::error::{EngineError, Result};
use crate::files::ModelFiles;
use crate::randn::TorchGenerator;
use crate::tokenizer::ByteLevelTokenizer;
use crate::weights::SafetensorsFile;

/// The files of a transformers-layout model folder, as bytes or text.
#[derive(Default)]
pub struct LlmFiles {
    /// `config.json`.
    pub config_json: String,
    /// The weight files by name: `model.safetensors`, or the shards
    /// `model.safetensors.index.json` maps the tensors to (7B checkpoints and up), in order.
    pub weights: Vec<(String, Vec<u8>)>,
    /// `model.safetensors.index.json`'s tensor-to-shard map, when sharded.
    pub weight_map: Option<std::collections::BTreeMap<String, String>>,
    /// `tokenizer.json`, preferred over `vocab.json` + `merges.txt` when present.
    pub tokenizer_json: Option<String>,
    /// `vocab.json`.
    pub vocab_json: Option<String>,
    /// `merges.txt`.
    pub merges_txt: Option<String>,
    /// `tokenizer_config.json`.
    pub tokenizer_config_json: Option<String>,
    /// `chat_template.jinja`.
    pub chat_template_jinja: Option<String>,
    /// `generation_config.json`.
    pub generation_config_json: Option<String>,
}

impl LlmFiles {
    /// Reads the model from `files`; optional files may be absent.
    pub fn read(files: &(impl ModelFiles + ?Sized)) -> Result<Self> {
        let weight_map = files
            .text(WEIGHT_INDEX)?
            .map(|text| {
                serde_json::from_str::<WeightIndex>(&text)
                    .map_err(|e| EngineError::json(WEIGHT_INDEX, e))
                    .map(|index| index.weight_map)
            })
            .transpose()?;
        let names: Vec<String> = match &weight_map {
            None => vec!["model.safetensors".to_owned()],
            Some(map) => {
                let mut names: Vec<String> = map.values().cloned().collect();
                names.sort();
                names.dedup();
                if let Some(bad) = names.iter().find(|name| {
                    name.contains('/') || name.contains('\\') || !name.ends_with(".safetensors")
                }) {
                    return Err(EngineError::InvalidModel(format!(
                        "{WEIGHT_INDEX}: shard {bad:?} is not a .safetensors file beside it"
                    )));
                }
                names
            }
        };
        let weights = names
            .into_iter()
            .map(|name| files.required(&name).map(|bytes| (name, bytes)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config_json: files.required_text("config.json")?,
            weights,
            weight_map,
            tokenizer_json: files.text("tokenizer.json")?,
            vocab_json: files.text("vocab.json")?,
            merges_txt: files.text("merges.txt")?,
            tokenizer_config_json: files.text("tokenizer_config.json")?,
            chat_template_jinja: files.text("chat_template.jinja")?,
            generation_config_json: files.text("generation_config.json")?,
        })
    }

    /// Reads the files of the model folder `dir` (see [`LlmFiles::read`]).
    pub fn read_dir(dir: &std::path::Path) -> Result<Self> {
        Self::read(dir)
    }
}

/// A loaded language model with its tokenizer and chat template.
pub struct LanguageModel {
    tokenizer: ByteLevelTokenizer,
    template: ChatTemplate,
    decoder: Decoder,
    defaults: GenerationDefaults,
    eos_token_ids: Vec<u32>,
}

/// The architectures, chosen by `config.json`'s `model_type`.
#[allow(
    clippy::large_enum_variant,
    reason = "one per loaded model, never moved in a loop; boxing buys nothing"
)]
enum Decoder {
    Gpt2(Gpt2),
    Llama(Llama),
}

impl Decoder {
    fn forward(&self, ids: &[u32], cache: &mut KvCache) -> Result<burn::tensor::Tensor<2>> {
        match self {
            Self::Gpt2(model) => model.forward(ids, cache),
            Self::Llama(model) => model.forward(ids, cache),
        }
    }
}

/// A model's `config.json`, by architecture.
#[derive(Clone, Debug)]
pub enum ModelConfig {
    /// `model_type` `gpt2` (or none, as early GPT-2 uploads).
    Gpt2(Gpt2Config),
    /// `model_type` `llama`, `qwen2` or `qwen3`.
    Llama(LlamaConfig),
}

#[derive(Deserialize)]
struct ModelType {
    #[serde(default)]
    model_type: Option<String>,
}

impl ModelConfig {
    /// Parses `config.json`, refusing architectures the engine does not run by name.
    pub fn parse(text: &str) -> Result<Self> {
        let kind: ModelType =
            serde_json::from_str(text).map_err(|e| EngineError::json("config.json", e))?;
        match kind.model_type.as_deref() {
            None | Some("gpt2") => Gpt2Config::parse(text).map(Self::Gpt2),
            Some(kind) if LlamaConfig::handles(kind) => LlamaConfig::parse(text).map(Self::Llama),
            Some(other) => Err(EngineError::InvalidModel(format!(
                "config.json: model_type {other:?} is not supported (gpt2, llama, qwen2, qwen3)"
            ))),
        }
    }

    /// The number of weights the config implies.
    pub fn parameter_count(&self) -> u64 {
        match self {
            Self::Gpt2(c) => c.parameter_count(),
            Self::Llama(c) => c.parameter_count(),
        }
    }

    /// Bytes of the key/value cache for `positions` positions at `bytes_per_value`.
    pub fn kv_cache_bytes(&self, positions: usize, bytes_per_value: usize) -> u64 {
        match self {
            Self::Gpt2(c) => {
                2 * (c.n_layer * c.n_embd) as u64 * positions as u64 * bytes_per_value as u64
            }
            Self::Llama(c) => c.kv_cache_bytes(positions, bytes_per_value),
        }
    }

    fn eos_token_ids(&self) -> Vec<u32> {
        match self {
            Self::Gpt2(c) => c.eos_token_id.into_iter().collect(),
            Self::Llama(c) => c.eos_token_ids.clone(),
        }
    }
}

/// The outcome of one generation.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The rendered prompt.
    pub prompt: String,
    /// The prompt's token ids.
    pub prompt_ids: Vec<u32>,
    /// The generated token ids (an end-of-sequence token included).
    pub new_ids: Vec<u32>,
    /// The generated text, special tokens left out, before the result file strips it
    /// ([`verifier::llm::response_content`]).
    pub text: String,
    /// Why generation ended.
    pub finish_reason: FinishReason,
    /// The logits of the prompt's last position, before any processing.
    pub prompt_logits: Vec<f32>,
}

/// The index of a sharded transformers checkpoint.
const WEIGHT_INDEX: &str = "model.safetensors.index.json";

#[derive(Deserialize)]
struct WeightIndex {
    weight_map: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct EosField {
    #[serde(default)]
    eos_token_id: Option<OneOrMany>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(u32),
    Many(Vec<u32>),
}

impl LanguageModel {
    /// Loads a model from its files onto `device`; the architecture is `config.json`'s.
    pub fn load(files: &LlmFiles, device: &Device) -> Result<Self> {
        let config = ModelConfig::parse(&files.config_json)?;
        let tokenizer = match (&files.tokenizer_json, &files.vocab_json, &files.merges_txt) {
            (Some(json), _, _) => ByteLevelTokenizer::from_tokenizer_json(json)?,
            (None, Some(vocab), Some(merges)) => {
                ByteLevelTokenizer::from_vocab_merges(vocab, merges, &["<|endoftext|>"])?
            }
            _ => {
                return Err(EngineError::InvalidModel(
                    "no tokenizer: need tokenizer.json, or vocab.json and merges.txt".into(),
                ));
            }
        };
        let template = ChatTemplate::from_model_files(
            files.chat_template_jinja.as_deref(),
            files.tokenizer_config_json.as_deref(),
        )?;
        let (defaults, generation_eos) = match files.generation_config_json.as_deref() {
            Some(text) => (
                GenerationDefaults::parse(text)?,
                serde_json::from_str::<EosField>(text)
                    .map_err(|e| EngineError::json("generation_config.json", e))?
                    .eos_token_id,
            ),
            None => (GenerationDefaults::default(), None),
        };
        let eos_token_ids = match generation_eos {
            Some(OneOrMany::One(id)) => vec![id],
            Some(OneOrMany::Many(ids)) => ids,
            None => config.eos_token_ids(),
        };
        let shards: Vec<(&str, &[u8])> = files
            .weights
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
            .collect();
        let weights = match shards.as_slice() {
            [(name, bytes)] => SafetensorsFile::from_slice(*name, bytes)?,
            _ => SafetensorsFile::from_shards(WEIGHT_INDEX, &shards)?,
        };
        if let Some((tensor, shard)) = files
            .weight_map
            .iter()
            .flatten()
            .find(|(tensor, _)| !weights.contains(tensor))
        {
            return Err(EngineError::MissingTensor {
                what: shard.clone(),
                name: tensor.clone(),
            });
        }
        let decoder = match config {
            ModelConfig::Gpt2(config) => Decoder::Gpt2(Gpt2::load(config, &weights, device)?),
            ModelConfig::Llama(config) => Decoder::Llama(Llama::load(config, &weights, device)?),
        };
        Ok(Self {
            tokenizer,
            template,
            decoder,
            defaults,
            eos_token_ids,
        })
    }

    /// Renders `messages` through the chat template, with the generation prompt.
    pub fn render_prompt(&self, messages: &[Message]) -> Result<String> {
        self.template.render(messages, true)
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &ByteLevelTokenizer {
        &self.tokenizer
    }

    /// Runs the task: renders the prompt, encodes it and generates. `on_token(done, max)`
    /// is called after each new token.
    pub async fn generate(
        &self,
        args: &LlmTaskArgs,
        mut on_token: impl FnMut(usize, usize),
    ) -> Result<Completion> {
        let decoding = decoding(args, &self.defaults)?;
        let prompt = self.render_prompt(&args.messages)?;
        let prompt_ids = self.tokenizer.encode(&prompt)?;
        let mut generator = TorchGenerator::manual_seed(decoding.seed);
        let mut cache = KvCache::default();
        let mut logits = self.decoder.forward(&prompt_ids, &mut cache)?;
        let mut new_ids = Vec::with_capacity(decoding.max_new_tokens);
        let mut prompt_logits = Vec::new();
        let finish_reason = loop {
            let mut scores: Vec<f32> = logits
                .into_data_async()
                .await
                .map_err(|e| EngineError::Backend(format!("{e:?}")))?
                .try_to_vec::<f32>()
                .map_err(|e| EngineError::Backend(format!("{e:?}")))?;
            if new_ids.is_empty() {
                prompt_logits = scores.clone();
            }
            let seen: Vec<u32> = prompt_ids.iter().chain(&new_ids).copied().collect();
            sampling::apply_repetition_penalty(
                &mut scores,
                &seen,
                decoding.sampling.repetition_penalty,
            );
            let next = if decoding.sampling.do_sample {
                sampling::warp(&mut scores, &decoding.sampling);
                sampling::sample(&scores, &mut generator)
            } else {
                sampling::argmax(&scores)
            };
            new_ids.push(next);
            on_token(new_ids.len(), decoding.max_new_tokens);
            if self.eos_token_ids.contains(&next) {
                break FinishReason::Stop;
            }
            if !decoding.stop_strings.is_empty() {
                let text = self.tokenizer.decode(&new_ids, true);
                if decoding
                    .stop_strings
                    .iter()
                    .any(|stop| text.contains(stop.as_str()))
                {
                    // The reference says "stop" only for an EOS token.
                    break FinishReason::Length;
                }
            }
            if new_ids.len() >= decoding.max_new_tokens {
                break FinishReason::Length;
            }
            logits = self.decoder.forward(&[next], &mut cache)?;
        };
        Ok(Completion {
            text: self.tokenizer.decode(&new_ids, true),
            prompt,
            prompt_ids,
            new_ids,
            finish_reason,
            prompt_logits,
        })
    }
}
