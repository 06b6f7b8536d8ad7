//! CLIP's text transformer (`CLIPTextModel` and `CLIPTextModelWithProjection`,
//! transformers layout): the last hidden state after the final layer norm (Stable Diffusion
//! 1.x), or the penultimate one as it is, and the projected pooled output (SDXL).

use burn::tensor::{Bool, Device, Tensor, TensorData, activation::softmax};
use serde::Deserialize;

use crate::error::{EngineError, Result};
use crate::nn::{LayerNorm, Linear, Table, gelu_tanh, quick_gelu};
use crate::weights::{Deltas, SafetensorsFile, Scope};

/// The fields of `text_encoder/config.json` that inference needs.
#[derive(Clone, Debug, Deserialize)]
pub struct ClipTextConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads.
    pub num_attention_heads: usize,
    /// Number of positions (77 for Stable Diffusion).
    pub max_position_embeddings: usize,
    /// `quick_gelu` (SD 1.x) or `gelu`.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Layer-norm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// The end-of-text token, whose position's state is the pooled output (2: the largest
    /// id in the sequence, as early CLIP configs meant it).
    #[serde(default)]
    pub eos_token_id: Option<u32>,
    /// Width of `text_projection` (`CLIPTextModelWithProjection`).
    #[serde(default)]
    pub projection_dim: Option<usize>,
}

/// Which hidden state [`ClipTextEncoder::encode`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The last layer's output after the final layer norm (`last_hidden_state`).
    LastNormalized,
    /// The output of the layer before the last, not normalized (`hidden_states[-2]`).
    PenultimateRaw,
}

fn default_act() -> String {
    "quick_gelu".into()
}

fn default_eps() -> f64 {
    1e-5
}

impl ClipTextConfig {
    /// Parses and validates `text_encoder/config.json`.
    pub fn parse(text: &str) -> Result<Self> {
        let config: Self = serde_json::from_str(text)
            .map_err(|e| EngineError::json("text_encoder/config.json", e))?;
        if !matches!(
            config.hidden_act.as_str(),
            "quick_gelu" | "gelu" | "gelu_new"
        ) {
            return Err(EngineError::InvalidModel(format!(
                "text_encoder/config.json: hidden_act {:?} is not supported",
                config.hidden_act
            )));
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(EngineError::InvalidModel(format!(
                "text_encoder/config.json: hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size, config.num_attention_heads
            )));
        }
        Ok(config)
    }
}

/// CLIP's text encoder.
pub struct ClipTextEncoder {
    config: ClipTextConfig,
    token_embedding: Table,
    position_embedding: Tensor<2>,
    layers: Vec<EncoderLayer>,
    final_layer_norm: LayerNorm,
    /// `text_projection` (no bias), when the checkpoint has one.
    text_projection: Option<Linear>,
    device: Device,
}

struct EncoderLayer {
    layer_norm1: LayerNorm,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    layer_norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl ClipTextEncoder {
    /// Loads the encoder, with tensor names with or without the `text_model.` prefix, and
    /// `deltas` (a LoRA's [`crate::sd::lora::Merge`]) added to its weights.
    pub fn load(
        config: ClipTextConfig,
        weights: &SafetensorsFile<'_>,
        deltas: Option<&dyn Deltas>,
        device: &Device,
    ) -> Result<Self> {
        let scope = Scope::detect(
            weights,
            &["text_model.", ""],
            "embeddings.token_embedding.weight",
        )?
        .with_deltas(deltas);
        let c = config.hidden_size;
        let eps = config.layer_norm_eps;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layers.{i}");
                let linear = |name: &str, d_in, d_out| {
                    Linear::torch(scope, &format!("{p}.{name}"), d_in, d_out, device)
                };
                Ok(EncoderLayer {
                    layer_norm1: LayerNorm::load(
                        scope,
                        &format!("{p}.layer_norm1"),
                        c,
                        eps,
                        device,
                    )?,
                    q_proj: linear("self_attn.q_proj", c, c)?,
                    k_proj: linear("self_attn.k_proj", c, c)?,
                    v_proj: linear("self_attn.v_proj", c, c)?,
                    out_proj: linear("self_attn.out_proj", c, c)?,
                    layer_norm2: LayerNorm::load(
                        scope,
                        &format!("{p}.layer_norm2"),
                        c,
                        eps,
                        device,
                    )?,
                    fc1: linear("mlp.fc1", c, config.intermediate_size)?,
                    fc2: linear("mlp.fc2", config.intermediate_size, c)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            token_embedding: Table::load(
                scope,
                "embeddings.token_embedding.weight",
                config.vocab_size,
                c,
                device,
            )?,
            position_embedding: scope.tensor(
                "embeddings.position_embedding.weight",
                [config.max_position_embeddings, c],
                device,
            )?,
            layers,
            final_layer_norm: LayerNorm::load(scope, "final_layer_norm", c, eps, device)?,
            text_projection: match config.projection_dim {
                Some(dim) if weights.contains("text_projection.weight") => {
                    let root = Scope::detect(weights, &[""], "text_projection.weight")?;
                    Some(Linear::torch(root, "text_projection", c, dim, device)?)
                }
                _ => None,
            },
            config,
            device: device.clone(),
        })
    }

    /// The number of positions, 77 for Stable Diffusion.
    pub fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }

    /// The hidden width (the UNet's cross-attention width).
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// The width of [`Self::pooled`] when the checkpoint has a `text_projection`.
    pub fn projection_dim(&self) -> Option<usize> {
        self.text_projection
            .as_ref()
            .and(self.config.projection_dim)
    }

    /// The last normalized hidden state of a batch ([`Self::encode`] with
    /// [`Output::LastNormalized`]).
    pub fn forward(
        &self,
        ids: &[Vec<u32>],
        attention_mask: Option<&[Vec<bool>]>,
    ) -> Result<Tensor<3>> {
        self.encode(ids, attention_mask, Output::LastNormalized)
    }

    /// `text_embeds` of `CLIPTextModelWithProjection` for one sequence: the final-normalized
    /// state at the first end-of-text token, through `text_projection` (`[1, projection]`;
    /// without a projection, `pooler_output`, `[1, hidden]`).
    pub fn pooled(&self, ids: &[u32]) -> Result<Tensor<2>> {
        let last = self.encode(&[ids.to_vec()], None, Output::LastNormalized)?;
        let position = match self.config.eos_token_id {
            // transformers' legacy rule: the end token has the largest id.
            None | Some(2) => ids
                .iter()
                .enumerate()
                .fold(0, |best, (i, &id)| if id > ids[best] { i } else { best }),
            Some(eos) => ids.iter().position(|&id| id == eos).unwrap_or(0),
        };
        let c = self.config.hidden_size;
        let pooled = last.slice([0..1, position..position + 1]).reshape([1, c]);
        Ok(match &self.text_projection {
            Some(projection) => projection.forward(pooled),
            None => pooled,
        })
    }

    /// Encodes a batch of token sequences of equal length (at most [`Self::max_positions`])
    /// into `[batch, len, hidden]`, the hidden state `output`. `attention_mask` (one flag per
    /// token, `false` = hidden from every query) is `transformers`' padding mask, applied on
    /// top of the causal one.
    pub fn encode(
        &self,
        ids: &[Vec<u32>],
        attention_mask: Option<&[Vec<bool>]>,
        output: Output,
    ) -> Result<Tensor<3>> {
        let batch = ids.len();
        let len = ids.first().map_or(0, Vec::len);
        if batch == 0
            || len == 0
            || len > self.max_positions()
            || ids.iter().any(|s| s.len() != len)
        {
            return Err(EngineError::argument(
                "prompt",
                format!(
                    "text encoder input must be {batch} sequences of 1..={} tokens",
                    self.max_positions()
                ),
            ));
        }
        if let Some(&bad) = ids
            .iter()
            .flatten()
            .find(|&&id| id as usize >= self.config.vocab_size)
        {
            return Err(EngineError::argument(
                "prompt",
                format!("token id {bad} is outside the vocabulary"),
            ));
        }
        let flat: Vec<i64> = ids.iter().flatten().map(|&id| i64::from(id)).collect();
        let positions = self
            .position_embedding
            .clone()
            .slice_dim(0, 0..len)
            .unsqueeze::<3>();
        let mut x = self.token_embedding.lookup(&flat, &self.device).reshape([
            batch,
            len,
            self.config.hidden_size,
        ]) + positions;
        if let Some(mask) = attention_mask
            && (mask.len() != batch || mask.iter().any(|m| m.len() != len))
        {
            return Err(EngineError::argument(
                "prompt",
                "attention mask shape differs from the tokens",
            ));
        }
        let mask = attention_mask_tensor(batch, len, attention_mask, &self.device);
        let layers = match output {
            Output::LastNormalized => self.layers.len(),
            Output::PenultimateRaw => self.layers.len().saturating_sub(1),
        };
        for layer in &self.layers[..layers] {
            let h = self.attention(layer, layer.layer_norm1.forward(x.clone()), mask.clone());
            x = x + h;
            let h = layer.fc1.forward(layer.layer_norm2.forward(x.clone()));
            let h = match self.config.hidden_act.as_str() {
                "quick_gelu" => quick_gelu(h),
                "gelu_new" => gelu_tanh(h),
                _ => burn::tensor::activation::gelu(h),
            };
            x = x + layer.fc2.forward(h);
        }
        Ok(match output {
            Output::LastNormalized => self.final_layer_norm.forward(x),
            Output::PenultimateRaw => x,
        })
    }

    fn attention(&self, layer: &EncoderLayer, x: Tensor<3>, mask: Tensor<4, Bool>) -> Tensor<3> {
        let [b, t, c] = x.dims();
        let heads = self.config.num_attention_heads;
        let hd = c / heads;
        let split = |y: Tensor<3>| y.reshape([b, t, heads, hd]).swap_dims(1, 2);
        let q = split(layer.q_proj.forward(x.clone()));
        let k = split(layer.k_proj.forward(x.clone()));
        let v = split(layer.v_proj.forward(x));
        let scores = q.matmul(k.swap_dims(2, 3)) * (hd as f64).powf(-0.5);
        let scores = scores.mask_fill(mask, f32::NEG_INFINITY);
        let out = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b, t, c]);
        layer.out_proj.forward(out)
    }
}

/// `[batch, 1, t, t]`: true where query `i` must not attend to key `j` (a later position,
/// or a key the padding mask hides).
fn attention_mask_tensor(
    batch: usize,
    t: usize,
    padding: Option<&[Vec<bool>]>,
    device: &Device,
) -> Tensor<4, Bool> {
    let values: Vec<bool> = (0..batch)
        .flat_map(|b| {
            (0..t).flat_map(move |i| {
                (0..t).map(move |j| j > i || padding.is_some_and(|mask| !mask[b][j]))
            })
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, 1, t, t]), device)
}
