//! Stable Diffusion 1.x and SDXL image generation from a `diffusers`-layout checkpoint
//! (SDXL: two text encoders, their penultimate states concatenated, the second's pooled
//! projection and the size/crop ids as the UNet's added conditioning), optionally
//! with a LoRA merged into its UNet and text encoder as they load ([`lora`]; the task's
//! `lora.weight` is honoured as the adapter's strength, which the reference worker ignores).

mod blocks;
pub mod conditioning;
pub mod lora;
pub mod prompt;
pub mod scheduler;
mod task;
pub mod text_encoder;
pub mod unet;
pub mod vae;

pub use lora::Lora;
pub use scheduler::{Scheduler, SchedulerConfig, SchedulerKind};
pub use task::{LoraSettings, Settings};

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{EngineError, Result};
use crate::files::ModelFiles;
use crate::randn::TorchGenerator;
use crate::tokenizer::ClipTokenizer;
use crate::weights::{Deltas, SafetensorsFile};
use conditioning::Conditioner;
use text_encoder::{ClipTextConfig, ClipTextEncoder, Output};
use unet::{ADD_TIME_IDS, AddedConditioning, Unet, UnetConfig};
use vae::{VaeConfig, VaeDecoder};

/// The files of a `diffusers` Stable Diffusion folder, as bytes or text.
pub struct SdFiles {
    /// `tokenizer/tokenizer.json`, preferred when present.
    pub tokenizer_json: Option<String>,
    /// `tokenizer/vocab.json`.
    pub vocab_json: Option<String>,
    /// `tokenizer/merges.txt`.
    pub merges_txt: Option<String>,
    /// `text_encoder/config.json`.
    pub text_encoder_config: String,
    /// `text_encoder/model.safetensors`.
    pub text_encoder_weights: Vec<u8>,
    /// `unet/config.json`.
    pub unet_config: String,
    /// `unet/diffusion_pytorch_model.safetensors`.
    pub unet_weights: Vec<u8>,
    /// `vae/config.json`.
    pub vae_config: String,
    /// `vae/diffusion_pytorch_model.safetensors`.
    pub vae_weights: Vec<u8>,
    /// `scheduler/scheduler_config.json`.
    pub scheduler_config: String,
    /// `tokenizer/tokenizer_config.json` (its `pad_token`).
    pub tokenizer_config: Option<String>,
    /// SDXL's second tokenizer and text encoder, when the checkpoint has them.
    pub second_encoder: Option<SecondEncoderFiles>,
}

/// SDXL's `tokenizer_2/` and `text_encoder_2/` (`CLIPTextModelWithProjection`).
pub struct SecondEncoderFiles {
    /// `tokenizer_2/tokenizer.json`.
    pub tokenizer_json: Option<String>,
    /// `tokenizer_2/vocab.json`.
    pub vocab_json: Option<String>,
    /// `tokenizer_2/merges.txt`.
    pub merges_txt: Option<String>,
    /// `tokenizer_2/tokenizer_config.json`.
    pub tokenizer_config: Option<String>,
    /// `text_encoder_2/config.json`.
    pub text_encoder_config: String,
    /// `text_encoder_2/model.safetensors`.
    pub text_encoder_weights: Vec<u8>,
}

impl SdFiles {
    /// Reads the checkpoint from `files`. With `variant` (e.g. `fp16`), weight files named
    /// `*.{variant}.safetensors` are used.
    pub fn read(files: &(impl ModelFiles + ?Sized), variant: Option<&str>) -> Result<Self> {
        let weights = |folder: &str, stem: &str| -> Result<Vec<u8>> {
            match variant {
                Some(v) => files.required(&format!("{folder}/{stem}.{v}.safetensors")),
                None => files.required(&format!("{folder}/{stem}.safetensors")),
            }
        };
        Ok(Self {
            tokenizer_json: files.text("tokenizer/tokenizer.json")?,
            vocab_json: files.text("tokenizer/vocab.json")?,
            merges_txt: files.text("tokenizer/merges.txt")?,
            text_encoder_config: files.required_text("text_encoder/config.json")?,
            text_encoder_weights: weights("text_encoder", "model")?,
            unet_config: files.required_text("unet/config.json")?,
            unet_weights: weights("unet", "diffusion_pytorch_model")?,
            vae_config: files.required_text("vae/config.json")?,
            vae_weights: weights("vae", "diffusion_pytorch_model")?,
            scheduler_config: files.required_text("scheduler/scheduler_config.json")?,
            tokenizer_config: files.text("tokenizer/tokenizer_config.json")?,
            second_encoder: match files.text("text_encoder_2/config.json")? {
                None => None,
                Some(text_encoder_config) => Some(SecondEncoderFiles {
                    tokenizer_json: files.text("tokenizer_2/tokenizer.json")?,
                    vocab_json: files.text("tokenizer_2/vocab.json")?,
                    merges_txt: files.text("tokenizer_2/merges.txt")?,
                    tokenizer_config: files.text("tokenizer_2/tokenizer_config.json")?,
                    text_encoder_config,
                    text_encoder_weights: weights("text_encoder_2", "model")?,
                }),
            },
        })
    }

    /// Reads the checkpoint folder `dir` (see [`SdFiles::read`]).
    pub fn read_dir(dir: &std::path::Path, variant: Option<&str>) -> Result<Self> {
        Self::read(dir, variant)
    }
}

/// An 8-bit RGB image, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes.
    pub pixels: Vec<u8>,
}

/// Progress of a generation, reported after each denoising step.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The image being generated (0-based).
    pub image: usize,
    /// Images in the task.
    pub images: usize,
    /// Steps done for this image.
    pub step: usize,
    /// Steps per image.
    pub steps: usize,
}

/// A loaded Stable Diffusion pipeline.
pub struct StableDiffusion {
    tokenizer: ClipTokenizer,
    text_encoder: ClipTextEncoder,
    /// SDXL's second encoder.
    xl: Option<Xl>,
    unet: Unet,
    vae: VaeDecoder,
    scheduler_config: SchedulerConfig,
    /// The strength of the LoRA merged in, if any.
    lora_strength: Option<f64>,
    device: Device,
}

/// What SDXL adds to the pipeline.
///
/// `model_index.json`'s `force_zeros_for_empty_prompt` does not apply: diffusers zeroes the
/// negative conditioning only when it encodes an empty negative prompt itself, and the
/// reference worker hands it Compel's embeddings of `""` instead (the `sdxl_dpm` reference
/// case, negative prompt `""`, matches only so; zeroed, it is 2 pHash bits and a mean pixel
/// error of 3.9 away).
struct Xl {
    tokenizer: ClipTokenizer,
    text_encoder: ClipTextEncoder,
}

/// A prompt pair's conditioning.
pub struct Conditioning {
    /// `[1, tokens, cross_dim]`.
    pub positive: Tensor<3>,
    /// `[1, tokens, cross_dim]`, padded to the positive's length.
    pub negative: Tensor<3>,
    /// SDXL's pooled text embeddings `(positive, negative)`, `[1, pooled]` each.
    pub pooled: Option<(Tensor<2>, Tensor<2>)>,
}

/// A CLIP tokenizer from a folder's files, padding as its `tokenizer_config.json` says.
fn clip_tokenizer(
    folder: &str,
    json: Option<&str>,
    vocab: Option<&str>,
    merges: Option<&str>,
    config: Option<&str>,
) -> Result<ClipTokenizer> {
    let tokenizer = match (json, vocab, merges) {
        (_, Some(vocab), Some(merges)) => ClipTokenizer::from_vocab_merges(vocab, merges)?,
        (Some(json), _, _) => ClipTokenizer::from_tokenizer_json(json)?,
        _ => {
            return Err(EngineError::InvalidModel(format!(
                "no tokenizer: need {folder}/vocab.json and merges.txt, or tokenizer.json"
            )));
        }
    };
    tokenizer.with_config(config)
}

impl StableDiffusion {
    /// Loads every component onto `device`.
    pub fn load(files: &SdFiles, device: &Device) -> Result<Self> {
        Self::load_merged(files, None, device)
    }

    /// Loads every component onto `device` with `lora` merged into the UNet and the text
    /// encoder at `strength` (the task's `lora.weight` / 100; see [`lora`]). Every tensor
    /// the LoRA changes must be one these components load, with a matching shape, else the
    /// error names it.
    pub fn load_with_lora(
        files: &SdFiles,
        lora: &Lora<'_>,
        strength: f64,
        device: &Device,
    ) -> Result<Self> {
        Self::load_merged(files, Some((lora, strength)), device)
    }

    fn load_merged(
        files: &SdFiles,
        lora: Option<(&Lora<'_>, f64)>,
        device: &Device,
    ) -> Result<Self> {
        let tokenizer = clip_tokenizer(
            "tokenizer",
            files.tokenizer_json.as_deref(),
            files.vocab_json.as_deref(),
            files.merges_txt.as_deref(),
            files.tokenizer_config.as_deref(),
        )?;
        let load = SafetensorsFile::from_slice;
        let text_encoder_weights = load(
            "text_encoder/model.safetensors",
            &files.text_encoder_weights,
        )?;
        let merge = |component, base: &SafetensorsFile<'_>| {
            lora.map(|(lora, strength)| lora.merge(component, base, strength))
                .transpose()
        };
        let text_encoder_merge = merge(lora::Component::TextEncoder, &text_encoder_weights)?;
        let text_encoder = ClipTextEncoder::load(
            ClipTextConfig::parse(&files.text_encoder_config)?,
            &text_encoder_weights,
            text_encoder_merge.as_ref().map(|m| m as &dyn Deltas),
            device,
        )?;
        let unet_weights = load(
            "unet/diffusion_pytorch_model.safetensors",
            &files.unet_weights,
        )?;
        let unet_merge = merge(lora::Component::Unet, &unet_weights)?;
        let unet = Unet::load(
            UnetConfig::parse(&files.unet_config)?,
            &unet_weights,
            unet_merge.as_ref().map(|m| m as &dyn Deltas),
            device,
        )?;
        for merge in [&text_encoder_merge, &unet_merge].into_iter().flatten() {
            merge.finish()?;
        }
        let vae = VaeDecoder::load(
            VaeConfig::parse(&files.vae_config)?,
            &load(
                "vae/diffusion_pytorch_model.safetensors",
                &files.vae_weights,
            )?,
            device,
        )?;
        let scheduler_config: SchedulerConfig = serde_json::from_str(&files.scheduler_config)
            .map_err(|e| EngineError::json("scheduler/scheduler_config.json", e))?;
        let xl = files
            .second_encoder
            .as_ref()
            .map(|second| Self::load_second_encoder(second, device))
            .transpose()?;
        let context_width =
            text_encoder.hidden_size() + xl.as_ref().map_or(0, |xl| xl.text_encoder.hidden_size());
        if unet.config().cross_attention_dim != context_width {
            return Err(EngineError::InvalidModel(format!(
                "unet cross_attention_dim {} differs from the text encoders' hidden width {}",
                unet.config().cross_attention_dim,
                context_width
            )));
        }
        match (unet.config().pooled_text_dim(), &xl) {
            (None, None) => {}
            (Some(dim), Some(xl)) if xl.text_encoder.projection_dim() == Some(dim) => {}
            (want, _) => {
                return Err(EngineError::InvalidModel(format!(
                    "the UNet's added conditioning takes a pooled text embedding of {want:?}, \
                     the second text encoder projects to {:?}",
                    xl.as_ref().and_then(|xl| xl.text_encoder.projection_dim())
                )));
            }
        }
        Ok(Self {
            tokenizer,
            text_encoder,
            xl,
            unet,
            vae,
            scheduler_config,
            lora_strength: lora.map(|(_, strength)| strength),
            device: device.clone(),
        })
    }

    fn load_second_encoder(second: &SecondEncoderFiles, device: &Device) -> Result<Xl> {
        let tokenizer = clip_tokenizer(
            "tokenizer_2",
            second.tokenizer_json.as_deref(),
            second.vocab_json.as_deref(),
            second.merges_txt.as_deref(),
            second.tokenizer_config.as_deref(),
        )?;
        let weights = SafetensorsFile::from_slice(
            "text_encoder_2/model.safetensors",
            &second.text_encoder_weights,
        )?;
        let text_encoder = ClipTextEncoder::load(
            ClipTextConfig::parse(&second.text_encoder_config)?,
            &weights,
            None,
            device,
        )?;
        Ok(Xl {
            tokenizer,
            text_encoder,
        })
    }

    /// The strength of the LoRA merged in, if any.
    pub fn lora_strength(&self) -> Option<f64> {
        self.lora_strength
    }

    /// The CLIP tokenizer.
    pub fn tokenizer(&self) -> &ClipTokenizer {
        &self.tokenizer
    }

    /// The prompt conditioning as the reference worker builds it with Compel: SD 1.x's
    /// `CompelForSD`, or `CompelForSDXL` (each encoder's penultimate states, padded to the
    /// same length with that encoder's empty prompt and concatenated, and the second
    /// encoder's pooled projection of each prompt's plain text).
    pub fn conditioning(&self, prompt: &str, negative_prompt: &str) -> Result<Conditioning> {
        let Some(xl) = &self.xl else {
            let conditioner = Conditioner::new(&self.tokenizer, &self.text_encoder)?;
            let positive = conditioner.encode(prompt)?;
            let negative = conditioner.encode(negative_prompt)?;
            let longest = positive.dims()[1].max(negative.dims()[1]);
            return Ok(Conditioning {
                positive: conditioner.pad_to(positive, longest),
                negative: conditioner.pad_to(negative, longest),
                pooled: None,
            });
        };
        let first =
            Conditioner::with_output(&self.tokenizer, &self.text_encoder, Output::PenultimateRaw)?;
        let second =
            Conditioner::with_output(&xl.tokenizer, &xl.text_encoder, Output::PenultimateRaw)?;
        let (p1, n1) = (first.encode(prompt)?, first.encode(negative_prompt)?);
        let (p2, n2) = (second.encode(prompt)?, second.encode(negative_prompt)?);
        let longest = [&p1, &n1, &p2, &n2]
            .iter()
            .map(|c| c.dims()[1])
            .max()
            .unwrap_or(0);
        let both = |a: Tensor<3>, b: Tensor<3>| {
            Tensor::cat(vec![first.pad_to(a, longest), second.pad_to(b, longest)], 2)
        };
        let pooled = |text: &str| xl.text_encoder.pooled(&second.pooled_ids(text));
        Ok(Conditioning {
            positive: both(p1, p2),
            negative: both(n1, n2),
            pooled: Some((pooled(prompt)?, pooled(negative_prompt)?)),
        })
    }

    /// Runs the task: `num_images` images, one after another, drawing from one CPU
    /// generator seeded with `seed` (initial latents, then any ancestral noise).
    ///
    /// Refuses settings whose LoRA (or its absence) differs from what was loaded: an
    /// adapter is merged at load ([`StableDiffusion::load_with_lora`]), so a pipeline
    /// loaded without it would otherwise silently ignore it.
    pub async fn generate(
        &self,
        c: &Settings,
        mut on_step: impl FnMut(Progress),
    ) -> Result<Vec<RgbImage>> {
        let wanted = c.lora.as_ref().map(|l| l.strength);
        if wanted != self.lora_strength {
            let describe = |strength: Option<f64>| match strength {
                Some(s) => format!("a LoRA at strength {s}"),
                None => "no LoRA".to_owned(),
            };
            return Err(EngineError::argument(
                "lora",
                format!(
                    "the task asks for {}, the pipeline was loaded with {}",
                    describe(wanted),
                    describe(self.lora_strength)
                ),
            ));
        }
        let kind = c.scheduler;
        let scale = self.vae.config().scale_factor();
        let latent_channels = self.unet.config().in_channels;
        let (h, w) = (c.height / scale, c.width / scale);
        let guided = c.cfg > 1.0;
        let Conditioning {
            positive,
            negative,
            pooled,
        } = self.conditioning(&c.prompt, &c.negative_prompt)?;
        let context = if guided {
            Tensor::cat(vec![negative, positive.clone()], 0)
        } else {
            positive
        };
        // SDXL: original size, crop top-left, target size, all the image's own.
        let (height, width) = (c.height as f32, c.width as f32);
        let time_ids = [height, width, 0.0, 0.0, height, width];
        let added = pooled.map(|(positive, negative)| AddedConditioning {
            text_embeds: if guided {
                Tensor::cat(vec![negative, positive], 0)
            } else {
                positive
            },
            time_ids: vec![time_ids; if guided { 2 } else { 1 }],
        });
        debug_assert_eq!(ADD_TIME_IDS, time_ids.len());
        let mut generator = TorchGenerator::manual_seed(c.seed);
        let mut images = Vec::with_capacity(c.num_images);
        for image in 0..c.num_images {
            let mut scheduler = Scheduler::new(kind, &self.scheduler_config, c.steps)?;
            let noise = generator.randn(latent_channels * h * w);
            let mut latents = Tensor::<4>::from_data(
                TensorData::new(noise, [1, latent_channels, h, w]),
                &self.device,
            ) * scheduler.init_noise_sigma();
            let timesteps = scheduler.timesteps().to_vec();
            for (index, &t) in timesteps.iter().enumerate() {
                let input = if guided {
                    Tensor::cat(vec![latents.clone(), latents.clone()], 0)
                } else {
                    latents.clone()
                };
                let input = scheduler.scale_model_input(input, index);
                let prediction = self.unet.forward_added(input, t, &context, added.as_ref());
                let eps = if guided {
                    let uncond = prediction.clone().slice_dim(0, 0..1);
                    let cond = prediction.slice_dim(0, 1..2);
                    uncond.clone() + (cond - uncond) * c.cfg
                } else {
                    prediction
                };
                latents = scheduler.step(eps, index, latents, &mut generator);
                on_step(Progress {
                    image,
                    images: c.num_images,
                    step: index + 1,
                    steps: timesteps.len(),
                });
            }
            images.push(self.to_image(latents).await?);
        }
        Ok(images)
    }

    /// Decodes latents and converts them as `diffusers`' `numpy_to_pil` does:
    /// `round(clamp(x / 2 + 0.5, 0, 1) * 255)`.
    async fn to_image(&self, latents: Tensor<4>) -> Result<RgbImage> {
        let decoded = self.vae.decode(latents);
        let [_, channels, height, width] = decoded.dims();
        if channels != 3 {
            return Err(EngineError::InvalidModel(format!(
                "the VAE produces {channels} channels, not 3"
            )));
        }
        let values: Vec<f32> = (decoded / 2.0 + 0.5)
            .clamp(0.0, 1.0)
            .permute([0, 2, 3, 1])
            .into_data_async()
            .await
            .map_err(|e| EngineError::Backend(format!("{e:?}")))?
            .try_to_vec::<f32>()
            .map_err(|e| EngineError::Backend(format!("{e:?}")))?;
        let pixels = values
            .iter()
            .map(|&v| (v * 255.0).round_ties_even() as u8)
            .collect();
        Ok(RgbImage {
            width,
            height,
            pixels,
        })
    }
}
