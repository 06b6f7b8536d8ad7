//! `UNet2DConditionModel` for Stable Diffusion 1.x/2.x and SDXL configurations: any number
//! of `DownBlock2D` / `CrossAttnDownBlock2D` levels, `UNetMidBlock2DCrossAttn`, and the
//! mirrored up blocks, with positional time embeddings and SDXL's `text_time` added
//! conditioning (the pooled text embedding and the size/crop ids).

use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;

use super::blocks::{
    Downsample, ResnetBlock, ResnetShape, SpatialTransformer, TransformerShape, Upsample,
};
use crate::error::{EngineError, Result};
use crate::nn::{Conv2d, GroupNorm, Linear, silu};
use crate::weights::{Deltas, SafetensorsFile, Scope};

/// An integer or one per block, as `diffusers` configs write head counts.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PerBlock {
    /// The same for every block.
    One(usize),
    /// One per block.
    Each(Vec<usize>),
}

impl PerBlock {
    fn get(&self, i: usize) -> usize {
        match self {
            Self::One(n) => *n,
            Self::Each(list) => list[i.min(list.len() - 1)],
        }
    }
}

/// The fields of `unet/config.json` this implementation reads.
#[derive(Clone, Debug, Deserialize)]
pub struct UnetConfig {
    /// Latent channels in.
    pub in_channels: usize,
    /// Latent channels out.
    pub out_channels: usize,
    /// Channels per level.
    pub block_out_channels: Vec<usize>,
    /// Down block class names.
    pub down_block_types: Vec<String>,
    /// Up block class names.
    pub up_block_types: Vec<String>,
    /// Mid block class name.
    #[serde(default)]
    pub mid_block_type: Option<String>,
    /// Resnets per down block.
    pub layers_per_block: usize,
    /// Heads per block (`diffusers`' historical name); `num_attention_heads` wins if set.
    #[serde(default)]
    pub attention_head_dim: Option<PerBlock>,
    /// Heads per block.
    #[serde(default)]
    pub num_attention_heads: Option<PerBlock>,
    /// Width of the text embeddings.
    pub cross_attention_dim: usize,
    /// Group-norm groups.
    #[serde(default = "thirty_two")]
    pub norm_num_groups: usize,
    /// Group-norm epsilon of resnets and the output norm.
    #[serde(default = "norm_eps")]
    pub norm_eps: f64,
    /// `flip_sin_to_cos` of the time projection.
    #[serde(default = "yes")]
    pub flip_sin_to_cos: bool,
    /// `downscale_freq_shift` of the time projection.
    #[serde(default)]
    pub freq_shift: f64,
    /// Transformer blocks per attention.
    #[serde(default)]
    pub transformer_layers_per_block: Option<PerBlock>,
    /// Linear instead of 1x1-convolution projections in the transformers.
    #[serde(default)]
    pub use_linear_projection: bool,
    /// `text_time` (SDXL) or none.
    #[serde(default)]
    pub addition_embed_type: Option<String>,
    /// Width of each size/crop id's sinusoidal features (SDXL: 256).
    #[serde(default)]
    pub addition_time_embed_dim: Option<usize>,
    /// Input width of `add_embedding`: the pooled text width plus 6 ids' features.
    #[serde(default)]
    pub projection_class_embeddings_input_dim: Option<usize>,
}

fn thirty_two() -> usize {
    32
}
fn norm_eps() -> f64 {
    1e-5
}
fn yes() -> bool {
    true
}

/// Settings this implementation cannot honour, with the values it needs.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("class_embed_type", "null"),
    ("time_cond_proj_dim", "null"),
    ("encoder_hid_dim", "null"),
    ("resnet_time_scale_shift", "\"default\""),
    ("time_embedding_type", "\"positional\""),
    ("only_cross_attention", "false"),
    ("dual_cross_attention", "false"),
    ("upcast_attention", "false"),
    ("center_input_sample", "false"),
    ("mid_block_scale_factor", "1"),
    ("resnet_out_scale_factor", "1.0"),
    ("conv_in_kernel", "3"),
    ("conv_out_kernel", "3"),
    ("act_fn", "\"silu\""),
];

impl UnetConfig {
    /// Parses `unet/config.json`, refusing settings this implementation does not support.
    pub fn parse(text: &str) -> Result<Self> {
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|e| EngineError::json("unet/config.json", e))?;
        for (key, wanted) in UNSUPPORTED {
            if let Some(value) = raw.get(*key) {
                let wanted: serde_json::Value =
                    serde_json::from_str(wanted).expect("valid literal");
                let same = value == &wanted
                    || (value.as_f64().is_some() && value.as_f64() == wanted.as_f64());
                if !same {
                    return Err(EngineError::InvalidModel(format!(
                        "unet/config.json: {key} = {value} is not supported (only {wanted})"
                    )));
                }
            }
        }
        let config: Self =
            serde_json::from_value(raw).map_err(|e| EngineError::json("unet/config.json", e))?;
        let levels = config.block_out_channels.len();
        if levels == 0
            || config.down_block_types.len() != levels
            || config.up_block_types.len() != levels
        {
            return Err(EngineError::InvalidModel(
                "unet/config.json: block_out_channels, down_block_types and up_block_types differ in length".into(),
            ));
        }
        for kind in config.down_block_types.iter().chain(&config.up_block_types) {
            if !matches!(
                kind.as_str(),
                "DownBlock2D" | "CrossAttnDownBlock2D" | "UpBlock2D" | "CrossAttnUpBlock2D"
            ) {
                return Err(EngineError::InvalidModel(format!(
                    "unet/config.json: block type {kind} is not supported"
                )));
            }
        }
        match config.addition_embed_type.as_deref() {
            None => {}
            Some("text_time")
                if config.addition_time_embed_dim.is_some()
                    && config.projection_class_embeddings_input_dim.is_some() => {}
            Some("text_time") => {
                return Err(EngineError::InvalidModel(
                    "unet/config.json: text_time needs addition_time_embed_dim and \
                     projection_class_embeddings_input_dim"
                        .into(),
                ));
            }
            Some(other) => {
                return Err(EngineError::InvalidModel(format!(
                    "unet/config.json: addition_embed_type {other:?} is not supported (only \
                     null or \"text_time\")"
                )));
            }
        }
        if let Some(mid) = &config.mid_block_type
            && mid != "UNetMidBlock2DCrossAttn"
        {
            return Err(EngineError::InvalidModel(format!(
                "unet/config.json: mid_block_type {mid} is not supported"
            )));
        }
        Ok(config)
    }

    /// Width of the pooled text embedding the added conditioning takes (SDXL), if any.
    pub fn pooled_text_dim(&self) -> Option<usize> {
        let time = self.addition_time_embed_dim?;
        self.projection_class_embeddings_input_dim?
            .checked_sub(ADD_TIME_IDS * time)
    }

    fn heads(&self, level: usize) -> usize {
        self.num_attention_heads
            .as_ref()
            .or(self.attention_head_dim.as_ref())
            .map_or(8, |h| h.get(level))
    }

    fn transformer_layers(&self, level: usize) -> usize {
        self.transformer_layers_per_block
            .as_ref()
            .map_or(1, |t| t.get(level))
    }
}

/// SDXL's size and crop ids: original height and width, crop top and left, target height and
/// width.
pub const ADD_TIME_IDS: usize = 6;

/// SDXL's added conditioning of one batch row: the pooled text embedding and the six ids.
pub struct AddedConditioning {
    /// `[batch, pooled]`.
    pub text_embeds: Tensor<2>,
    /// One row of ids per batch row.
    pub time_ids: Vec<[f32; ADD_TIME_IDS]>,
}

struct Level {
    resnets: Vec<ResnetBlock>,
    attentions: Vec<SpatialTransformer>,
    downsample: Option<Downsample>,
    upsample: Option<Upsample>,
}

/// The denoising UNet.
pub struct Unet {
    config: UnetConfig,
    conv_in: Conv2d,
    time_linear_1: Linear,
    time_linear_2: Linear,
    /// SDXL's `add_embedding` (`linear_1`, `linear_2`).
    add_embedding: Option<(Linear, Linear)>,
    down: Vec<Level>,
    mid_resnets: [ResnetBlock; 2],
    mid_attention: SpatialTransformer,
    up: Vec<Level>,
    norm_out: GroupNorm,
    conv_out: Conv2d,
    device: Device,
}

impl Unet {
    /// Loads the UNet from `unet/diffusion_pytorch_model.safetensors`, with `deltas` (a
    /// LoRA's [`crate::sd::lora::Merge`]) added to its weights.
    pub fn load(
        config: UnetConfig,
        weights: &SafetensorsFile<'_>,
        deltas: Option<&dyn Deltas>,
        device: &Device,
    ) -> Result<Self> {
        let scope = Scope::detect(weights, &[""], "conv_in.weight")?.with_deltas(deltas);
        let channels = &config.block_out_channels;
        let levels = channels.len();
        let c0 = channels[0];
        let temb = 4 * c0;
        let groups = config.norm_num_groups;
        let resnet = |name: String, d_in, d_out| {
            let shape = ResnetShape {
                d_in,
                d_out,
                temb: Some(temb),
                groups,
                eps: config.norm_eps,
            };
            ResnetBlock::load(scope, &name, shape, device)
        };
        let transformer = |name: String, c, level: usize, heads: usize| {
            let shape = TransformerShape {
                channels: c,
                heads,
                cross_dim: config.cross_attention_dim,
                layers: config.transformer_layers(level),
                groups,
                linear_projection: config.use_linear_projection,
            };
            SpatialTransformer::load(scope, &name, shape, device)
        };

        let mut down = Vec::new();
        let mut output = c0;
        for (i, kind) in config.down_block_types.iter().enumerate() {
            let input = output;
            output = channels[i];
            let with_attention = kind == "CrossAttnDownBlock2D";
            let mut level = Level {
                resnets: vec![],
                attentions: vec![],
                downsample: None,
                upsample: None,
            };
            for j in 0..config.layers_per_block {
                let d_in = if j == 0 { input } else { output };
                level.resnets.push(resnet(
                    format!("down_blocks.{i}.resnets.{j}"),
                    d_in,
                    output,
                )?);
                if with_attention {
                    level.attentions.push(transformer(
                        format!("down_blocks.{i}.attentions.{j}"),
                        output,
                        i,
                        config.heads(i),
                    )?);
                }
            }
            if i + 1 < levels {
                level.downsample = Some(Downsample::load(
                    scope,
                    &format!("down_blocks.{i}.downsamplers.0"),
                    output,
                    device,
                )?);
            }
            down.push(level);
        }

        let top = channels[levels - 1];
        let mid_resnets = [
            resnet("mid_block.resnets.0".into(), top, top)?,
            resnet("mid_block.resnets.1".into(), top, top)?,
        ];
        let mid_attention = transformer(
            "mid_block.attentions.0".into(),
            top,
            levels - 1,
            config.heads(levels - 1),
        )?;

        let reversed: Vec<usize> = channels.iter().rev().copied().collect();
        let mut up = Vec::new();
        let mut output = reversed[0];
        for (i, kind) in config.up_block_types.iter().enumerate() {
            let previous = output;
            output = reversed[i];
            let input = reversed[(i + 1).min(levels - 1)];
            let with_attention = kind == "CrossAttnUpBlock2D";
            let level_index = levels - 1 - i;
            let layers = config.layers_per_block + 1;
            let mut level = Level {
                resnets: vec![],
                attentions: vec![],
                downsample: None,
                upsample: None,
            };
            for j in 0..layers {
                let skip = if j + 1 == layers { input } else { output };
                let d_in = if j == 0 { previous } else { output };
                level.resnets.push(resnet(
                    format!("up_blocks.{i}.resnets.{j}"),
                    d_in + skip,
                    output,
                )?);
                if with_attention {
                    level.attentions.push(transformer(
                        format!("up_blocks.{i}.attentions.{j}"),
                        output,
                        level_index,
                        config.heads(level_index),
                    )?);
                }
            }
            if i + 1 < levels {
                level.upsample = Some(Upsample::load(
                    scope,
                    &format!("up_blocks.{i}.upsamplers.0"),
                    output,
                    device,
                )?);
            }
            up.push(level);
        }

        Ok(Self {
            conv_in: Conv2d::load(scope, "conv_in", [config.in_channels, c0, 3], 1, device)?,
            time_linear_1: Linear::torch(scope, "time_embedding.linear_1", c0, temb, device)?,
            time_linear_2: Linear::torch(scope, "time_embedding.linear_2", temb, temb, device)?,
            add_embedding: match config.projection_class_embeddings_input_dim {
                Some(d_in) if config.addition_embed_type.is_some() => Some((
                    Linear::torch(scope, "add_embedding.linear_1", d_in, temb, device)?,
                    Linear::torch(scope, "add_embedding.linear_2", temb, temb, device)?,
                )),
                _ => None,
            },
            down,
            mid_resnets,
            mid_attention,
            up,
            norm_out: GroupNorm::load(scope, "conv_norm_out", groups, c0, config.norm_eps, device)?,
            conv_out: Conv2d::load(scope, "conv_out", [c0, config.out_channels, 3], 1, device)?,
            config,
            device: device.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &UnetConfig {
        &self.config
    }

    /// `get_timestep_embedding`: sinusoidal features of each of `values`, `[n, dim]`.
    fn sinusoids(&self, values: &[f32], dim: usize) -> Tensor<2> {
        let half = dim / 2;
        let max_period = 10_000f32;
        let exponents: Vec<f32> = (0..half)
            .map(|i| {
                let exponent =
                    -max_period.ln() * i as f32 / (half as f32 - self.config.freq_shift as f32);
                exponent.exp()
            })
            .collect();
        let rows: Vec<f32> = values
            .iter()
            .flat_map(|&value| {
                let (sin, cos): (Vec<f32>, Vec<f32>) = exponents
                    .iter()
                    .map(|e| {
                        let a = value * e;
                        (a.sin(), a.cos())
                    })
                    .unzip();
                let mut row = if self.config.flip_sin_to_cos {
                    [cos, sin].concat()
                } else {
                    [sin, cos].concat()
                };
                row.resize(dim, 0.0);
                row
            })
            .collect();
        Tensor::from_data(TensorData::new(rows, [values.len(), dim]), &self.device)
    }

    /// Predicts the noise in `sample` `[b, in, h, w]` at `timestep`, conditioned on
    /// `context` `[b, n, cross_dim]`.
    pub fn forward(&self, sample: Tensor<4>, timestep: f32, context: &Tensor<3>) -> Tensor<4> {
        self.forward_added(sample, timestep, context, None)
    }

    /// [`Unet::forward`] with SDXL's added conditioning (`added_cond_kwargs`), which a
    /// `text_time` UNet needs and any other ignores.
    pub fn forward_added(
        &self,
        sample: Tensor<4>,
        timestep: f32,
        context: &Tensor<3>,
        added: Option<&AddedConditioning>,
    ) -> Tensor<4> {
        let [b, _, _, _] = sample.dims();
        let c0 = self.config.block_out_channels[0];
        let mut temb = self.time_linear_2.forward(silu(
            self.time_linear_1
                .forward(self.sinusoids(&vec![timestep; b], c0)),
        ));
        if let (Some((linear_1, linear_2)), Some(added), Some(dim)) = (
            &self.add_embedding,
            added,
            self.config.addition_time_embed_dim,
        ) {
            let ids: Vec<f32> = added.time_ids.iter().flatten().copied().collect();
            let time_embeds = self
                .sinusoids(&ids, dim)
                .reshape([added.time_ids.len(), ADD_TIME_IDS * dim]);
            let embeds = Tensor::cat(vec![added.text_embeds.clone(), time_embeds], 1);
            temb = temb + linear_2.forward(silu(linear_1.forward(embeds)));
        }
        let mut x = self.conv_in.forward(sample);
        let mut skips = vec![x.clone()];
        for level in &self.down {
            for (j, resnet) in level.resnets.iter().enumerate() {
                x = resnet.forward(x, Some(&temb));
                if let Some(attention) = level.attentions.get(j) {
                    x = attention.forward(x, context);
                }
                skips.push(x.clone());
            }
            if let Some(downsample) = &level.downsample {
                x = downsample.forward(x);
                skips.push(x.clone());
            }
        }
        x = self.mid_resnets[0].forward(x, Some(&temb));
        x = self.mid_attention.forward(x, context);
        x = self.mid_resnets[1].forward(x, Some(&temb));
        for level in &self.up {
            for (j, resnet) in level.resnets.iter().enumerate() {
                let skip = skips.pop().expect("one skip per up-block resnet");
                x = resnet.forward(Tensor::cat(vec![x, skip], 1), Some(&temb));
                if let Some(attention) = level.attentions.get(j) {
                    x = attention.forward(x, context);
                }
            }
            if let Some(upsample) = &level.upsample {
                x = upsample.forward(x);
            }
        }
        self.conv_out.forward(silu(self.norm_out.forward(x)))
    }
}
