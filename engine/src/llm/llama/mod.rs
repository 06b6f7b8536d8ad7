//! The Llama family's decoder on Burn: `LlamaForCausalLM`, `Qwen2ForCausalLM` and
//! `Qwen3ForCausalLM` from their transformers checkpoints.
//!
//! Pre-norm blocks of RMSNorm, grouped-query attention with rotary positions and a SwiGLU
//! MLP; Qwen2 adds biases to q, k and v (read from the checkpoint: a bias is used when the
//! file has one), Qwen3 normalizes each head's queries and keys. The output head is the
//! embedding (tied) or `lm_head`, both kept as [`Table`] row blocks so a 150k-token vocabulary
//! fits WebGPU's binding limit.

mod config;
mod rope;

pub use config::{Family, LlamaConfig, RopeScaling};

use burn::tensor::{Bool, Device, Tensor, activation::softmax};

use super::cache::{KvCache, causal_mask, check_input};
use crate::error::Result;
use crate::nn::{Linear, RmsNorm, Table, silu};
use crate::weights::{SafetensorsFile, Scope};
use rope::Rope;

/// A loaded Llama-family model.
pub struct Llama {
    config: LlamaConfig,
    embed_tokens: Table,
    layers: Vec<Layer>,
    norm: RmsNorm,
    /// `None` when the head is tied to `embed_tokens`.
    lm_head: Option<Table>,
    rope: Rope,
    device: Device,
}

struct Layer {
    input_layernorm: RmsNorm,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    /// Qwen3's per-head norms of queries and keys.
    qk_norm: Option<(RmsNorm, RmsNorm)>,
    post_attention_layernorm: RmsNorm,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

impl Llama {
    /// Loads the model from a transformers checkpoint (tensor names under `model.`, the
    /// head as `lm_head.weight`).
    pub fn load(
        config: LlamaConfig,
        weights: &SafetensorsFile<'_>,
        device: &Device,
    ) -> Result<Self> {
        let scope = Scope::detect(weights, &["model.", ""], "embed_tokens.weight")?;
        let (h, i, v) = (
            config.hidden_size,
            config.intermediate_size,
            config.vocab_size,
        );
        let q_width = config.num_attention_heads * config.head_dim;
        let kv_width = config.num_key_value_heads * config.head_dim;
        let eps = config.rms_norm_eps;
        let embed_tokens = Table::load(scope, "embed_tokens.weight", v, h, device)?;
        let layers = (0..config.num_hidden_layers)
            .map(|l| {
                let p = format!("layers.{l}");
                let linear = |name: &str, d_in, d_out| {
                    Linear::torch(scope, &format!("{p}.{name}"), d_in, d_out, device)
                };
                let norm = |name: &str, dim| {
                    RmsNorm::load(scope, &format!("{p}.{name}"), dim, eps, device)
                };
                let qk_norm = match config.family {
                    Family::Qwen3 => Some((
                        norm("self_attn.q_norm", config.head_dim)?,
                        norm("self_attn.k_norm", config.head_dim)?,
                    )),
                    Family::Llama | Family::Qwen2 => None,
                };
                Ok(Layer {
                    input_layernorm: norm("input_layernorm", h)?,
                    q_proj: linear("self_attn.q_proj", h, q_width)?,
                    k_proj: linear("self_attn.k_proj", h, kv_width)?,
                    v_proj: linear("self_attn.v_proj", h, kv_width)?,
                    o_proj: linear("self_attn.o_proj", q_width, h)?,
                    qk_norm,
                    post_attention_layernorm: norm("post_attention_layernorm", h)?,
                    gate_proj: linear("mlp.gate_proj", h, i)?,
                    up_proj: linear("mlp.up_proj", h, i)?,
                    down_proj: linear("mlp.down_proj", i, h)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let norm = RmsNorm::load(scope, "norm", h, eps, device)?;
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            let root = Scope::detect(weights, &[""], "lm_head.weight")?;
            Some(Table::load(root, "lm_head.weight", v, h, device)?)
        };
        let rope = Rope::new(config.head_dim, config.rope_theta, &config.rope_scaling);
        Ok(Self {
            config,
            embed_tokens,
            layers,
            norm,
            lm_head,
            rope,
            device: device.clone(),
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Runs `ids` (the tokens after those already in `cache`) through the model, extends the
    /// cache and returns the logits of the last position, `[1, vocab]`.
    pub fn forward(&self, ids: &[u32], cache: &mut KvCache) -> Result<Tensor<2>> {
        let past = cache.len();
        let t = ids.len();
        check_input(
            ids,
            past,
            self.config.max_position_embeddings,
            self.embed_tokens.rows(),
        )?;
        let h = self.config.hidden_size;
        let token_ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
        let mut x = self
            .embed_tokens
            .lookup(&token_ids, &self.device)
            .reshape([1, t, h]);
        let (cos, sin) = self.rope.cos_sin(past..past + t, &self.device);
        let groups = self.config.num_attention_heads / self.config.num_key_value_heads;
        // Queries of one key/value head are stacked along the sequence axis (see
        // `attention`), so the mask repeats once per query head in a group.
        let mask = (t > 1).then(|| causal_mask(t, past, &self.device).repeat_dim(2, groups));
        for (l, layer) in self.layers.iter().enumerate() {
            let normed = layer.input_layernorm.forward(x.clone());
            let attn = self.attention(layer, l, normed, cache, (&cos, &sin), mask.clone());
            x = x + attn;
            let normed = layer.post_attention_layernorm.forward(x.clone());
            let mlp = layer.down_proj.forward(
                silu(layer.gate_proj.forward(normed.clone())) * layer.up_proj.forward(normed),
            );
            x = x + mlp;
        }
        cache.advance(t);
        let last = self.norm.forward(x.slice([0..1, t - 1..t]).reshape([1, h]));
        Ok(match &self.lm_head {
            Some(head) => head.matmul_transposed(last),
            None => self.embed_tokens.matmul_transposed(last),
        })
    }

    fn attention(
        &self,
        layer: &Layer,
        index: usize,
        x: Tensor<3>,
        cache: &mut KvCache,
        (cos, sin): (&Tensor<2>, &Tensor<2>),
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (heads, kv_heads, hd) = (
            self.config.num_attention_heads,
            self.config.num_key_value_heads,
            self.config.head_dim,
        );
        let mut q = layer.q_proj.forward(x.clone()).reshape([b, t, heads, hd]);
        let mut k = layer
            .k_proj
            .forward(x.clone())
            .reshape([b, t, kv_heads, hd]);
        let v = layer.v_proj.forward(x).reshape([b, t, kv_heads, hd]);
        if let Some((q_norm, k_norm)) = &layer.qk_norm {
            q = q_norm.forward(q);
            k = k_norm.forward(k);
        }
        let q = rope::apply(q.swap_dims(1, 2), cos, sin);
        let k = rope::apply(k.swap_dims(1, 2), cos, sin);
        let (k, v) = cache.extend(index, k, v.swap_dims(1, 2));
        let s = k.dims()[2];
        // Grouped-query attention without copying keys and values: query head `g * groups + r`
        // reads key/value head `g`, so each group's queries become one longer sequence
        // `[b, kv_heads, groups * t, hd]`.
        let groups = heads / kv_heads;
        let q = q.reshape([b, kv_heads, groups * t, hd]);
        let mut scores = q.matmul(k.swap_dims(2, 3)) * (hd as f64).powf(-0.5);
        if let Some(mask) = mask {
            scores = scores.mask_fill(mask, f32::NEG_INFINITY);
        }
        debug_assert_eq!(scores.dims(), [b, kv_heads, groups * t, s]);
        let out = softmax(scores, 3)
            .matmul(v)
            .reshape([b, heads, t, hd])
            .swap_dims(1, 2)
            .reshape([b, t, heads * hd]);
        layer.o_proj.forward(out)
    }

    /// The device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
