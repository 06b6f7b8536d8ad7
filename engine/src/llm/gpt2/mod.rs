//! GPT-2 (`GPT2LMHeadModel`) on Burn, with a key/value cache for decoding.

mod config;

use burn::tensor::{Bool, Device, Tensor, activation::softmax};

pub use config::Gpt2Config;

use super::cache::{KvCache, causal_mask, check_input};
use crate::error::Result;
use crate::nn::{LayerNorm, Linear, Table, gelu_tanh};
use crate::weights::{SafetensorsFile, Scope};

/// A GPT-2 language model with tied input and output embeddings.
pub struct Gpt2 {
    config: Gpt2Config,
    /// The token embedding, also the tied LM head.
    wte: Table,
    wpe: Tensor<2>,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    device: Device,
}

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
}

impl Gpt2 {
    /// Loads the model from a transformers checkpoint (`model.safetensors`), with tensor
    /// names with or without the `transformer.` prefix.
    pub fn load(
        config: Gpt2Config,
        weights: &SafetensorsFile<'_>,
        device: &Device,
    ) -> Result<Self> {
        let scope = Scope::detect(weights, &["transformer.", ""], "wte.weight")?;
        let (c, v) = (config.n_embd, config.vocab_size);
        let inner = config.inner();
        let eps = config.layer_norm_epsilon;
        let wte = Table::load(scope, "wte.weight", v, c, device)?;
        let wpe = scope.tensor("wpe.weight", [config.n_positions, c], device)?;
        let blocks = (0..config.n_layer)
            .map(|i| {
                let p = format!("h.{i}");
                Ok(Block {
                    ln_1: LayerNorm::load(scope, &format!("{p}.ln_1"), c, eps, device)?,
                    c_attn: Linear::conv1d(scope, &format!("{p}.attn.c_attn"), c, 3 * c, device)?,
                    c_proj: Linear::conv1d(scope, &format!("{p}.attn.c_proj"), c, c, device)?,
                    ln_2: LayerNorm::load(scope, &format!("{p}.ln_2"), c, eps, device)?,
                    c_fc: Linear::conv1d(scope, &format!("{p}.mlp.c_fc"), c, inner, device)?,
                    mlp_proj: Linear::conv1d(scope, &format!("{p}.mlp.c_proj"), inner, c, device)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ln_f = LayerNorm::load(scope, "ln_f", c, eps, device)?;
        Ok(Self {
            wte,
            wpe,
            blocks,
            ln_f,
            config,
            device: device.clone(),
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &Gpt2Config {
        &self.config
    }

    /// Runs `ids` (the tokens after those already in `cache`) through the model, extends the
    /// cache and returns the logits of the last position, `[1, vocab]`.
    pub fn forward(&self, ids: &[u32], cache: &mut KvCache) -> Result<Tensor<2>> {
        let past = cache.len();
        let t = ids.len();
        check_input(ids, past, self.config.n_positions, self.wte.rows())?;
        let c = self.config.n_embd;
        let token_ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
        let positions = self
            .wpe
            .clone()
            .slice_dim(0, past..past + t)
            .unsqueeze::<3>();
        let mut x = self.wte.lookup(&token_ids, &self.device).reshape([1, t, c]) + positions;

        let mask = (t > 1).then(|| causal_mask(t, past, &self.device));
        for (i, block) in self.blocks.iter().enumerate() {
            let attn = self.attention(block, i, block.ln_1.forward(x.clone()), cache, mask.clone());
            x = x + attn;
            let h = block
                .mlp_proj
                .forward(gelu_tanh(block.c_fc.forward(block.ln_2.forward(x.clone()))));
            x = x + h;
        }
        cache.advance(t);
        let last = self.ln_f.forward(x.slice([0..1, t - 1..t]).reshape([1, c]));
        Ok(self.wte.matmul_transposed(last))
    }

    fn attention(
        &self,
        block: &Block,
        layer: usize,
        x: Tensor<3>,
        cache: &mut KvCache,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let [b, t, c] = x.dims();
        let heads = self.config.n_head;
        let hd = c / heads;
        let qkv = block.c_attn.forward(x);
        let split = |i: usize| {
            qkv.clone()
                .slice([0..b, 0..t, i * c..(i + 1) * c])
                .reshape([b, t, heads, hd])
                .swap_dims(1, 2)
        };
        let (k, v) = cache.extend(layer, split(1), split(2));
        let q = split(0);
        let mut scale = 1.0;
        if self.config.scale_attn_weights {
            scale /= (hd as f64).sqrt();
        }
        if self.config.scale_attn_by_inverse_layer_idx {
            scale /= (layer + 1) as f64;
        }
        let mut scores = q.matmul(k.swap_dims(2, 3)) * scale;
        if let Some(mask) = mask {
            scores = scores.mask_fill(mask, f32::NEG_INFINITY);
        }
        let out = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b, t, c]);
        block.c_proj.forward(out)
    }

    /// The device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
