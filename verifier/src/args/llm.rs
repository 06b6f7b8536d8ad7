//! LLM text-generation arguments.

use super::{ArgsError, Checker, from_json};
use crate::llm::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Compute precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// The checkpoint's own precision.
    #[default]
    Auto,
    /// 16-bit IEEE floats.
    Float16,
    /// bfloat16.
    Bfloat16,
    /// 32-bit floats.
    Float32,
}

/// Decoding settings, as in transformers' `GenerationConfig`. Absent fields take the
/// model's `generation_config.json` values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerationConfig {
    /// Tokens to generate at most, `1..=65536`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new_tokens: Option<i64>,
    /// Strings that end generation when produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_strings: Option<Vec<String>>,
    /// Sample instead of greedy decoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_sample: Option<bool>,
    /// Beam count, `>= 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_beams: Option<i64>,
    /// Sampling temperature, `> 0` when sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Typical-p, `0..=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typical_p: Option<f64>,
    /// Top-k, `>= 0` (0 disables it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    /// Nucleus sampling mass, `0..=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Min-p, `0..=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    /// Repetition penalty, `> 0` (1 disables it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    /// Sequences to return, `1..=10`; each becomes one result file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_return_sequences: Option<i64>,
    /// Fields this version of Tessera does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// LLM text-generation arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmTaskArgs {
    /// Model name. Non-empty.
    pub model: String,
    /// The conversation so far. Non-empty.
    pub messages: Vec<Message>,
    /// Tool definitions for models whose chat template uses them, kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
    /// Decoding settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_config: Option<GenerationConfig>,
    /// Seed of the sampling generator, `>= 0`. Default 0.
    #[serde(default)]
    pub seed: i64,
    /// Compute precision. Default `auto`.
    #[serde(default)]
    pub dtype: Dtype,
    /// Weight quantization: 4, 8 or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantize_bits: Option<i64>,
    /// Fields this version of Tessera does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LlmTaskArgs {
    /// Parses and validates LLM task arguments.
    pub fn parse(json: &[u8]) -> Result<Self, ArgsError> {
        let args: Self = from_json(json)?;
        args.validate()?;
        Ok(args)
    }

    /// Checks every field against the allowed ranges and reports all problems at once.
    pub fn validate(&self) -> Result<(), ArgsError> {
        let mut c = Checker::default();
        c.non_empty("model", &self.model);
        if self.messages.is_empty() {
            c.fail("messages", &self.messages, "at least one message");
        }
        if self.seed < 0 {
            c.fail("seed", self.seed, "0 or more");
        }
        if let Some(bits) = self.quantize_bits
            && bits != 4
            && bits != 8
        {
            c.fail("quantize_bits", bits, "4, 8 or null");
        }
        if let Some(g) = &self.generation_config {
            let field = |name: &str| format!("generation_config.{name}");
            if let Some(v) = g.max_new_tokens {
                c.range(&field("max_new_tokens"), v, 1, 65536);
            }
            if let Some(v) = g.num_beams {
                c.range(&field("num_beams"), v, 1, 64);
            }
            if let Some(v) = g.num_return_sequences {
                c.range(&field("num_return_sequences"), v, 1, 10);
            }
            if let Some(v) = g.top_k
                && v < 0
            {
                c.fail(field("top_k"), v, "0 or more");
            }
            for (name, v) in [
                ("top_p", g.top_p),
                ("typical_p", g.typical_p),
                ("min_p", g.min_p),
            ] {
                if let Some(v) = v {
                    c.range(&field(name), v, 0.0, 1.0);
                }
            }
            if let Some(t) = g.temperature {
                let sampling = g.do_sample == Some(true);
                if !(0.0..=100.0).contains(&t) || (sampling && t == 0.0) {
                    c.fail(
                        field("temperature"),
                        t,
                        if sampling {
                            "greater than 0, at most 100 when sampling"
                        } else {
                            "0..=100"
                        },
                    );
                }
            }
            if let Some(p) = g.repetition_penalty
                && !(p > 0.0 && p <= 100.0)
            {
                c.fail(
                    field("repetition_penalty"),
                    p,
                    "greater than 0, at most 100",
                );
            }
            if let Some(stops) = &g.stop_strings {
                for (i, s) in stops.iter().enumerate() {
                    c.non_empty(&field(&format!("stop_strings[{i}]")), s);
                }
            }
        }
        c.finish()
    }

    /// Units of work the task declares on chain (`TaskRequest.size`): one unit is up to
    /// 512 new tokens of one sequence. `max_new_tokens` (512 when absent) in blocks of 512
    /// (rounded up), times the sequences returned and the beams searched.
    pub fn work_units(&self) -> u64 {
        let g = self.generation();
        let tokens = g.max_new_tokens.unwrap_or(512).max(1) as u64;
        let sequences = g.num_return_sequences.unwrap_or(1).max(1) as u64;
        let beams = g.num_beams.unwrap_or(1).max(1) as u64;
        tokens.div_ceil(512) * sequences * beams
    }

    /// The decoding settings, default when absent.
    pub fn generation(&self) -> GenerationConfig {
        self.generation_config.clone().unwrap_or_default()
    }
}
