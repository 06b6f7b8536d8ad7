//! The `config.json` of Llama, Qwen2 and Qwen3 checkpoints (transformers layout), in both the
//! transformers 4 form (`rope_theta`, `rope_scaling`) and the 5 form (`rope_parameters`).

use serde::Deserialize;

use crate::error::{EngineError, Result};

/// Which member of the Llama family a checkpoint is: they share the decoder and differ in
/// a few switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `LlamaForCausalLM` (Llama 2/3.x, DeepSeek-R1-Distill-Llama, Hermes 3): optional
    /// attention and MLP biases.
    Llama,
    /// `Qwen2ForCausalLM` (Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen): biases on q, k and v.
    Qwen2,
    /// `Qwen3ForCausalLM`: RMSNorm of each head's queries and keys, `head_dim` of its own.
    Qwen3,
}

/// How rotary position embeddings are scaled (`rope_type`).
#[derive(Clone, Debug, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE.
    Default,
    /// Position interpolation: every frequency divided by `factor`.
    Linear {
        /// The divisor.
        factor: f64,
    },
    /// Llama 3.1's: low frequencies divided by `factor`, high ones kept, a smooth blend
    /// between.
    Llama3 {
        /// The divisor of the low frequencies.
        factor: f64,
        /// Wavelengths longer than `original / low_freq_factor` are scaled.
        low_freq_factor: f64,
        /// Wavelengths shorter than `original / high_freq_factor` are kept.
        high_freq_factor: f64,
        /// The context length the model was trained at.
        original_max_position_embeddings: f64,
    },
    /// YaRN (Qwen2.5 and Qwen3 beyond 32k tokens): a per-frequency blend of interpolation
    /// and extrapolation, and a scale on cos and sin.
    Yarn {
        /// The context extension factor.
        factor: f64,
        /// The context length the model was trained at.
        original_max_position_embeddings: f64,
        /// The scale of cos and sin; from `factor` when absent.
        attention_factor: Option<f64>,
        /// Rotations above which frequencies extrapolate (default 32).
        beta_fast: f64,
        /// Rotations below which frequencies interpolate (default 1).
        beta_slow: f64,
        /// DeepSeek's `mscale` pair, when given.
        mscale: Option<(f64, f64)>,
        /// Round the correction range outwards (default true).
        truncate: bool,
    },
}

/// The fields of the config that inference needs, checked.
#[derive(Clone, Debug)]
pub struct LlamaConfig {
    /// The architecture.
    pub family: Family,
    /// Vocabulary size (rows of `embed_tokens`).
    pub vocab_size: usize,
    /// Hidden width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than the query heads).
    pub num_key_value_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Longest sequence the model takes.
    pub max_position_embeddings: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// RoPE scaling.
    pub rope_scaling: RopeScaling,
    /// Biases on the q, k, v (and, for Llama, o) projections.
    pub attention_bias: bool,
    /// Biases on the MLP projections (Llama only).
    pub mlp_bias: bool,
    /// The output head is the token embedding.
    pub tie_word_embeddings: bool,
    /// The end-of-sequence tokens named in the config.
    pub eos_token_ids: Vec<u32>,
}

#[derive(Deserialize)]
struct Raw {
    model_type: String,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    #[serde(default)]
    num_key_value_heads: Option<usize>,
    #[serde(default)]
    head_dim: Option<usize>,
    max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    rms_norm_eps: f64,
    #[serde(default)]
    rope_theta: Option<f64>,
    #[serde(default)]
    rope_scaling: Option<RawRope>,
    #[serde(default)]
    rope_parameters: Option<RawRope>,
    #[serde(default)]
    attention_bias: Option<bool>,
    #[serde(default)]
    mlp_bias: bool,
    #[serde(default)]
    tie_word_embeddings: Option<bool>,
    #[serde(default = "default_act")]
    hidden_act: String,
    #[serde(default)]
    use_sliding_window: bool,
    #[serde(default)]
    layer_types: Option<Vec<String>>,
    #[serde(default)]
    pretraining_tp: Option<usize>,
    #[serde(default)]
    eos_token_id: Option<super::super::OneOrMany>,
}

#[derive(Clone, Default, Deserialize)]
struct RawRope {
    #[serde(default)]
    rope_type: Option<String>,
    /// transformers 4's older name of `rope_type`.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    rope_theta: Option<f64>,
    #[serde(default)]
    factor: Option<f64>,
    #[serde(default)]
    low_freq_factor: Option<f64>,
    #[serde(default)]
    high_freq_factor: Option<f64>,
    #[serde(default)]
    original_max_position_embeddings: Option<f64>,
    #[serde(default)]
    attention_factor: Option<f64>,
    #[serde(default)]
    beta_fast: Option<f64>,
    #[serde(default)]
    beta_slow: Option<f64>,
    #[serde(default)]
    mscale: Option<f64>,
    #[serde(default)]
    mscale_all_dim: Option<f64>,
    #[serde(default)]
    truncate: Option<bool>,
    #[serde(default)]
    partial_rotary_factor: Option<f64>,
}

fn default_eps() -> f64 {
    1e-6
}

fn default_act() -> String {
    "silu".into()
}

fn invalid(message: impl std::fmt::Display) -> EngineError {
    EngineError::InvalidModel(format!("config.json: {message}"))
}

impl LlamaConfig {
    /// Whether `model_type` is one this module loads.
    pub fn handles(model_type: &str) -> bool {
        matches!(model_type, "llama" | "qwen2" | "qwen3")
    }

    /// Parses and validates `config.json`.
    pub fn parse(text: &str) -> Result<Self> {
        let raw: Raw =
            serde_json::from_str(text).map_err(|e| EngineError::json("config.json", e))?;
        let family = match raw.model_type.as_str() {
            "llama" => Family::Llama,
            "qwen2" => Family::Qwen2,
            "qwen3" => Family::Qwen3,
            other => {
                return Err(invalid(format!(
                    "model_type {other:?} is not a Llama-family model"
                )));
            }
        };
        if raw.hidden_act != "silu" {
            return Err(invalid(format!(
                "hidden_act {:?} is not supported (only \"silu\")",
                raw.hidden_act
            )));
        }
        if raw.use_sliding_window {
            return Err(invalid(
                "use_sliding_window: sliding-window attention is not supported",
            ));
        }
        if let Some(kind) = raw
            .layer_types
            .iter()
            .flatten()
            .find(|kind| *kind != "full_attention")
        {
            return Err(invalid(format!(
                "layer_types: {kind:?} layers are not supported (only full_attention)"
            )));
        }
        if raw.pretraining_tp.is_some_and(|tp| tp != 1) {
            return Err(invalid("pretraining_tp other than 1 is not supported"));
        }
        let heads = raw.num_attention_heads;
        let kv_heads = raw.num_key_value_heads.unwrap_or(heads);
        if heads == 0 || kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return Err(invalid(format!(
                "num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}"
            )));
        }
        let head_dim = match raw.head_dim {
            Some(d) => d,
            None if raw.hidden_size.is_multiple_of(heads) => raw.hidden_size / heads,
            None => {
                return Err(invalid(format!(
                    "hidden_size {} is not a multiple of num_attention_heads {heads}",
                    raw.hidden_size
                )));
            }
        };
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(invalid(format!("head_dim {head_dim} must be even")));
        }
        for (name, value) in [
            ("vocab_size", raw.vocab_size),
            ("hidden_size", raw.hidden_size),
            ("intermediate_size", raw.intermediate_size),
            ("num_hidden_layers", raw.num_hidden_layers),
            ("max_position_embeddings", raw.max_position_embeddings),
        ] {
            if value == 0 {
                return Err(invalid(format!("{name} is 0")));
            }
        }
        // transformers 5 keeps the base inside `rope_parameters`; 4 keeps it beside
        // `rope_scaling`.
        let rope = raw.rope_parameters.or(raw.rope_scaling).unwrap_or_default();
        let rope_theta = rope.rope_theta.or(raw.rope_theta).unwrap_or(10_000.0);
        if !(rope_theta > 1.0 && rope_theta.is_finite()) {
            return Err(invalid(format!("rope_theta {rope_theta} must be above 1")));
        }
        let rope_scaling = rope.scaling(raw.max_position_embeddings)?;
        let eos_token_ids = match raw.eos_token_id {
            Some(super::super::OneOrMany::One(id)) => vec![id],
            Some(super::super::OneOrMany::Many(ids)) => ids,
            None => Vec::new(),
        };
        Ok(Self {
            family,
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            intermediate_size: raw.intermediate_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: heads,
            num_key_value_heads: kv_heads,
            head_dim,
            max_position_embeddings: raw.max_position_embeddings,
            rms_norm_eps: raw.rms_norm_eps,
            rope_theta,
            rope_scaling,
            // Qwen2 always has q/k/v biases and no `attention_bias` key.
            attention_bias: raw.attention_bias.unwrap_or(family == Family::Qwen2),
            mlp_bias: raw.mlp_bias,
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            eos_token_ids,
        })
    }

    /// The number of weights, from the shapes the config implies.
    pub fn parameter_count(&self) -> u64 {
        let (h, i, v) = (
            self.hidden_size as u64,
            self.intermediate_size as u64,
            self.vocab_size as u64,
        );
        let q = (self.num_attention_heads * self.head_dim) as u64;
        let kv = (self.num_key_value_heads * self.head_dim) as u64;
        let attention = h * q
            + 2 * h * kv
            + q * h
            + if self.attention_bias { q + 2 * kv } else { 0 }
            + if self.family == Family::Qwen3 {
                2 * self.head_dim as u64
            } else {
                0
            };
        let mlp = 3 * h * i + if self.mlp_bias { 2 * i + h } else { 0 };
        let layer = attention + mlp + 2 * h;
        let head = if self.tie_word_embeddings { 0 } else { v * h };
        v * h + self.num_hidden_layers as u64 * layer + h + head
    }

    /// Bytes of the key/value cache for `positions` positions at `bytes_per_value`.
    pub fn kv_cache_bytes(&self, positions: usize, bytes_per_value: usize) -> u64 {
        2 * (self.num_hidden_layers * self.num_key_value_heads * self.head_dim) as u64
            * positions as u64
            * bytes_per_value as u64
    }
}

impl RawRope {
    fn scaling(&self, max_position_embeddings: usize) -> Result<RopeScaling> {
        if self.partial_rotary_factor.is_some_and(|f| f != 1.0) {
            return Err(invalid("rope: partial_rotary_factor is not supported"));
        }
        let kind = self
            .rope_type
            .as_deref()
            .or(self.kind.as_deref())
            .unwrap_or("default");
        let factor = |kind: &str| {
            self.factor
                .filter(|f| *f >= 1.0 && f.is_finite())
                .ok_or_else(|| invalid(format!("rope {kind}: factor must be 1 or more")))
        };
        let positive = |name: &str, value: Option<f64>| {
            value
                .filter(|v| *v > 0.0 && v.is_finite())
                .ok_or_else(|| invalid(format!("rope: {name} must be positive")))
        };
        Ok(match kind {
            "default" => RopeScaling::Default,
            "linear" => RopeScaling::Linear {
                factor: factor(kind)?,
            },
            "llama3" => {
                let low_freq_factor = positive("low_freq_factor", self.low_freq_factor)?;
                let high_freq_factor = positive("high_freq_factor", self.high_freq_factor)?;
                if high_freq_factor <= low_freq_factor {
                    return Err(invalid(
                        "rope llama3: high_freq_factor must exceed low_freq_factor",
                    ));
                }
                RopeScaling::Llama3 {
                    factor: factor(kind)?,
                    low_freq_factor,
                    high_freq_factor,
                    original_max_position_embeddings: positive(
                        "original_max_position_embeddings",
                        self.original_max_position_embeddings,
                    )?,
                }
            }
            "yarn" => RopeScaling::Yarn {
                factor: factor(kind)?,
                original_max_position_embeddings: self
                    .original_max_position_embeddings
                    .unwrap_or(max_position_embeddings as f64),
                attention_factor: self.attention_factor,
                beta_fast: self.beta_fast.unwrap_or(32.0),
                beta_slow: self.beta_slow.unwrap_or(1.0),
                mscale: self.mscale.zip(self.mscale_all_dim),
                truncate: self.truncate.unwrap_or(true),
            },
            other => {
                return Err(invalid(format!(
                    "rope_type {other:?} is not supported (default, linear, llama3, yarn)"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> String {
        format!(
            r#"{{"model_type": "llama", "vocab_size": 10, "hidden_size": 8,
            "intermediate_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
            "max_position_embeddings": 64 {extra}}}"#
        )
    }

    #[test]
    fn both_rope_layouts_read_the_same() {
        let v4 = LlamaConfig::parse(&config(
            r#", "rope_theta": 500000.0, "rope_scaling": {"type": "linear", "factor": 2.0}"#,
        ))
        .unwrap();
        let v5 = LlamaConfig::parse(&config(
            r#", "rope_parameters": {"rope_theta": 500000.0, "rope_type": "linear", "factor": 2.0}"#,
        ))
        .unwrap();
        for c in [&v4, &v5] {
            assert_eq!(c.rope_theta, 500000.0);
            assert_eq!(c.rope_scaling, RopeScaling::Linear { factor: 2.0 });
            assert_eq!((c.num_key_value_heads, c.head_dim), (2, 4));
        }
        let plain = LlamaConfig::parse(&config("")).unwrap();
        assert_eq!(
            (plain.rope_theta, plain.rope_scaling),
            (10_000.0, RopeScaling::Default)
        );
    }

    #[test]
    fn what_is_not_implemented_is_refused_by_name() {
        for (extra, word) in [
            (r#", "hidden_act": "gelu""#, "hidden_act"),
            (r#", "use_sliding_window": true"#, "sliding"),
            (r#", "num_key_value_heads": 3"#, "num_key_value_heads"),
            (
                r#", "rope_scaling": {"rope_type": "dynamic", "factor": 2.0}"#,
                "dynamic",
            ),
            (
                r#", "rope_scaling": {"rope_type": "llama3", "factor": 8.0}"#,
                "low_freq_factor",
            ),
        ] {
            let error = LlamaConfig::parse(&config(extra)).unwrap_err().to_string();
            assert!(error.contains(word), "{extra}: {error}");
        }
    }

    #[test]
    fn parameter_count_of_qwen2_5_0_5b() {
        // Qwen/Qwen2.5-0.5B's config; the model card says 0.49B parameters (494,032,768).
        let qwen = LlamaConfig::parse(
            r#"{"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896,
            "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
            "num_key_value_heads": 2, "max_position_embeddings": 32768,
            "rope_theta": 1000000.0, "tie_word_embeddings": true, "rms_norm_eps": 1e-6}"#,
        )
        .unwrap();
        assert!(qwen.attention_bias);
        assert_eq!(qwen.parameter_count(), 494_032_768);
    }
}
