//! Stable Diffusion 1.x image generation from a `diffusers`-layout checkpoint, optionally
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
use text_encoder::{ClipTextConfig, ClipTextEncoder};
use unet::{Unet, UnetConfig};
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
    unet: Unet,
    vae: VaeDecoder,
    scheduler_config: SchedulerConfig,
    /// The strength of the LoRA merged in, if any.
    lora_strength: Option<f64>,
    device: Device,
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
        let tokenizer = match (&files.tokenizer_json, &files.vocab_json, &files.merges_txt) {
            (_, Some(vocab), Some(merges)) => ClipTokenizer::from_vocab_merges(vocab, merges)?,
            (Some(json), _, _) => ClipTokenizer::from_tokenizer_json(json)?,
            _ => {
                return Err(EngineError::InvalidModel(
                    "no tokenizer: need tokenizer/vocab.json and merges.txt, or tokenizer.json"
                        .into(),
                ));
            }
        };
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
        if unet.config().cross_attention_dim != text_encoder.hidden_size() {
            return Err(EngineError::InvalidModel(format!(
                "unet cross_attention_dim {} differs from the text encoder's hidden_size {}",
                unet.config().cross_attention_dim,
                text_encoder.hidden_size()
            )));
        }
        Ok(Self {
            tokenizer,
            text_encoder,
            unet,
            vae,
            scheduler_config,
            lora_strength: lora.map(|(_, strength)| strength),
            device: device.clone(),
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

    /// The prompt conditioning, `(positive, negative)`, padded to the same length.
    pub fn conditioning(
        &self,
        prompt: &str,
        negative_prompt: &str,
    ) -> Result<(Tensor<3>, Tensor<3>)> {
        let conditioner = Conditioner::new(&self.tokenizer, &self.text_encoder)?;
        let positive = conditioner.encode(prompt)?;
        let negative = conditioner.encode(negative_prompt)?;
        let mut padded = conditioner.pad_to_same_length(vec![positive, negative]);
        let negative = padded.pop().expect("two conditionings");
        let positive = padded.pop().expect("two conditionings");
        Ok((positive, negative))
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
        let (positive, negative) = self.conditioning(&c.prompt, &c.negative_prompt)?;
        let context = if guided {
            Tensor::cat(vec![negative, positive.clone()], 0)
        } else {
            positive
        };
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
                let prediction = self.unet.forward(input, t, &context);
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
