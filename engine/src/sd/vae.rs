//! The decoder half of `AutoencoderKL` (latents to RGB), any block configuration.

use burn::tensor::{Device, Tensor};
use serde::Deserialize;

use super::blocks::{ResnetBlock, ResnetShape, SpatialSelfAttention, Upsample};
use crate::error::{EngineError, Result};
use crate::nn::{Conv2d, GroupNorm, silu};
use crate::weights::{SafetensorsFile, Scope};

/// The fields of `vae/config.json` that decoding needs.
#[derive(Clone, Debug, Deserialize)]
pub struct VaeConfig {
    /// Channels per resolution level, highest resolution first.
    pub block_out_channels: Vec<usize>,
    /// Resnets per encoder block (the decoder has one more).
    pub layers_per_block: usize,
    /// Latent channels.
    pub latent_channels: usize,
    /// Image channels.
    #[serde(default = "three")]
    pub out_channels: usize,
    /// Group-norm groups.
    #[serde(default = "thirty_two")]
    pub norm_num_groups: usize,
    /// Latents are divided by this before decoding.
    #[serde(default = "sd_scaling")]
    pub scaling_factor: f64,
    /// Whether the decoder's mid block has its attention.
    #[serde(default = "yes")]
    pub mid_block_add_attention: bool,
    /// Whether `post_quant_conv` exists.
    #[serde(default = "yes")]
    pub use_post_quant_conv: bool,
}

fn three() -> usize {
    3
}
fn thirty_two() -> usize {
    32
}
fn sd_scaling() -> f64 {
    0.18215
}
fn yes() -> bool {
    true
}

impl VaeConfig {
    /// Parses `vae/config.json`.
    pub fn parse(text: &str) -> Result<Self> {
        let config: Self =
            serde_json::from_str(text).map_err(|e| EngineError::json("vae/config.json", e))?;
        if config.block_out_channels.is_empty() {
            return Err(EngineError::InvalidModel(
                "vae/config.json: block_out_channels is empty".into(),
            ));
        }
        Ok(config)
    }

    /// How much larger the image is than the latents.
    pub fn scale_factor(&self) -> usize {
        1 << (self.block_out_channels.len() - 1)
    }
}

/// The VAE decoder.
pub struct VaeDecoder {
    config: VaeConfig,
    post_quant_conv: Option<Conv2d>,
    conv_in: Conv2d,
    mid_resnets: [ResnetBlock; 2],
    mid_attention: Option<SpatialSelfAttention>,
    up_blocks: Vec<(Vec<ResnetBlock>, Option<Upsample>)>,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl VaeDecoder {
    /// Loads the decoder from `vae/diffusion_pytorch_model.safetensors`.
    pub fn load(config: VaeConfig, weights: &SafetensorsFile<'_>, device: &Device) -> Result<Self> {
        let scope = Scope::detect(weights, &[""], "decoder.conv_in.weight")?;
        let groups = config.norm_num_groups;
        let latent = config.latent_channels;
        let top = *config
            .block_out_channels
            .last()
            .expect("validated non-empty");
        let shape = |d_in, d_out| ResnetShape {
            d_in,
            d_out,
            temb: None,
            groups,
            eps: 1e-6,
        };
        let resnet =
            |name: String, d_in, d_out| ResnetBlock::load(scope, &name, shape(d_in, d_out), device);
        let reversed: Vec<usize> = config.block_out_channels.iter().rev().copied().collect();
        let mut up_blocks = Vec::new();
        let mut output = reversed[0];
        for (i, &channels) in reversed.iter().enumerate() {
            let previous = output;
            output = channels;
            let resnets = (0..=config.layers_per_block)
                .map(|j| {
                    let d_in = if j == 0 { previous } else { output };
                    resnet(format!("decoder.up_blocks.{i}.resnets.{j}"), d_in, output)
                })
                .collect::<Result<Vec<_>>>()?;
            let upsample = (i + 1 < reversed.len())
                .then(|| {
                    Upsample::load(
                        scope,
                        &format!("decoder.up_blocks.{i}.upsamplers.0"),
                        output,
                        device,
                    )
                })
                .transpose()?;
            up_blocks.push((resnets, upsample));
        }
        Ok(Self {
            post_quant_conv: config
                .use_post_quant_conv
                .then(|| Conv2d::load(scope, "post_quant_conv", [latent, latent, 1], 1, device))
                .transpose()?,
            conv_in: Conv2d::load(scope, "decoder.conv_in", [latent, top, 3], 1, device)?,
            mid_resnets: [
                resnet("decoder.mid_block.resnets.0".into(), top, top)?,
                resnet("decoder.mid_block.resnets.1".into(), top, top)?,
            ],
            mid_attention: config
                .mid_block_add_attention
                .then(|| {
                    SpatialSelfAttention::load(
                        scope,
                        "decoder.mid_block.attentions.0",
                        top,
                        groups,
                        device,
                    )
                })
                .transpose()?,
            up_blocks,
            norm_out: GroupNorm::load(
                scope,
                "decoder.conv_norm_out",
                groups,
                config.block_out_channels[0],
                1e-6,
                device,
            )?,
            conv_out: Conv2d::load(
                scope,
                "decoder.conv_out",
                [config.block_out_channels[0], config.out_channels, 3],
                1,
                device,
            )?,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Decodes diffusion latents `[b, latent, h, w]` (not yet divided by the scaling factor)
    /// into images `[b, 3, h * s, w * s]` in `[-1, 1]` (unclamped).
    pub fn decode(&self, latents: Tensor<4>) -> Tensor<4> {
        let mut x = latents / self.config.scaling_factor;
        if let Some(conv) = &self.post_quant_conv {
            x = conv.forward(x);
        }
        x = self.conv_in.forward(x);
        x = self.mid_resnets[0].forward(x, None);
        if let Some(attention) = &self.mid_attention {
            x = attention.forward(x);
        }
        x = self.mid_resnets[1].forward(x, None);
        for (resnets, upsample) in &self.up_blocks {
            for resnet in resnets {
                x = resnet.forward(x, None);
            }
            if let Some(upsample) = upsample {
                x = upsample.forward(x);
            }
        }
        self.conv_out.forward(silu(self.norm_out.forward(x)))
    }
}
