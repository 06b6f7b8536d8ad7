//! GPT-2's `config.json` (transformers layout).

use serde::Deserialize;

use crate::error::{EngineError, Result};

/// The fields of a transformers GPT-2 `config.json` that inference needs.
#[derive(Clone, Debug, Deserialize)]
pub struct Gpt2Config {
    /// Vocabulary size (rows of `wte`).
    pub vocab_size: usize,
    /// Maximum sequence length (rows of `wpe`).
    pub n_positions: usize,
    /// Hidden width.
    pub n_embd: usize,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Number of attention heads.
    pub n_head: usize,
    /// MLP width; `4 * n_embd` when absent.
    #[serde(default)]
    pub n_inner: Option<usize>,
    /// Layer-norm epsilon.
    #[serde(default = "default_epsilon")]
    pub layer_norm_epsilon: f64,
    /// Activation; only the tanh GELU variants GPT-2 uses are supported.
    #[serde(default = "default_activation")]
    pub activation_function: String,
    /// Scale attention scores by `1/sqrt(head_dim)`.
    #[serde(default = "yes")]
    pub scale_attn_weights: bool,
    /// Also scale scores by `1/(layer_idx + 1)`.
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    /// The end-of-sequence token.
    #[serde(default)]
    pub eos_token_id: Option<u32>,
    /// The architecture tag, `gpt2`.
    #[serde(default)]
    pub model_type: Option<String>,
}

fn default_epsilon() -> f64 {
    1e-5
}

fn default_activation() -> String {
    "gelu_new".into()
}

fn yes() -> bool {
    true
}

impl Gpt2Config {
    /// Parses and validates `config.json`.
    pub fn parse(text: &str) -> Result<Self> {
        let config: Self =
            serde_json::from_str(text).map_err(|e| EngineError::json("config.json", e))?;
        if let Some(kind) = &config.model_type
            && kind != "gpt2"
        {
            return Err(EngineError::InvalidModel(format!(
                "config.json: model_type {kind:?} is not supported (only \"gpt2\")"
            )));
        }
        if !matches!(
            config.activation_function.as_str(),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast"
        ) {
            return Err(EngineError::InvalidModel(format!(
                "config.json: activation_function {:?} is not supported",
                config.activation_function
            )));
        }
        if config.n_head == 0 || !config.n_embd.is_multiple_of(config.n_head) {
            return Err(EngineError::InvalidModel(format!(
                "config.json: n_embd {} is not a multiple of n_head {}",
                config.n_embd, config.n_head
            )));
        }
        Ok(config)
    }

    /// The MLP width.
    pub fn inner(&self) -> usize {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }

    /// The number of weights, from the shapes the config implies (GPT-2 small: 124,439,808).
    pub fn parameter_count(&self) -> u64 {
        let (c, i) = (self.n_embd as u64, self.inner() as u64);
        let layer = 2 * c + (3 * c * c + 3 * c) + (c * c + c) + 2 * c + (c * i + i) + (i * c + c);
        (self.vocab_size as u64 + self.n_positions as u64) * c + self.n_layer as u64 * layer + 2 * c
    }
}
