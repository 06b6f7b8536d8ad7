//! Running one network task end to end: arguments in, result files and score out.
//!
//! A task may name more than one model: an SD task with a `lora` names its base model and
//! the LoRA's model. [`Task::model_names`] lists them; the caller fetches each and hands
//! their files to [`run`] in a [`TaskModels`].

use verifier::args::{LlmTaskArgs, SdTaskArgs};
use verifier::llm::{Choice, LlmResult, Message, Role, Usage};

use crate::error::{EngineError, Result};
use crate::files::ModelFiles;

/// A task's arguments, of either type.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per task; boxing buys nothing"
)]
pub enum Task {
    /// Stable Diffusion image generation.
    StableDiffusion(SdTaskArgs),
    /// LLM text generation.
    Llm(LlmTaskArgs),
}

impl Task {
    /// Parses and validates task arguments; LLM tasks are told apart by their `messages`.
    pub fn parse(json: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| EngineError::json("task arguments", e))?;
        if value.get("messages").is_some() {
            Ok(Self::Llm(LlmTaskArgs::parse(json)?))
        } else {
            Ok(Self::StableDiffusion(SdTaskArgs::parse(json)?))
        }
    }

    /// Units of work the arguments ask for ([`verifier::args::TaskArgs::work_units`]).
    pub fn work_units(&self) -> u64 {
        match self {
            Self::StableDiffusion(args) => args.work_units(),
            Self::Llm(args) => args.work_units(),
        }
    }

    /// The base model the task names: SD's `base_model` or the LLM's `model`.
    pub fn model_name(&self) -> &str {
        match self {
            Self::StableDiffusion(args) => &args.base_model.name,
            Self::Llm(args) => &args.model,
        }
    }

    /// The LoRA model an SD task names (`lora.model`), if any.
    pub fn lora_model_name(&self) -> Option<&str> {
        match self {
            Self::StableDiffusion(args) => args.lora.as_ref().map(|l| l.model.as_str()),
            Self::Llm(_) => None,
        }
    }

    /// Every model the task needs, in order: the base model ([`Task::model_name`]), then
    /// the LoRA's ([`Task::lora_model_name`]) if it has one. A node fetches each before
    /// [`run`].
    pub fn model_names(&self) -> Vec<&str> {
        std::iter::once(self.model_name())
            .chain(self.lora_model_name())
            .collect()
    }
}

/// The files of the models a task names ([`Task::model_names`]), as the caller holds them
/// (a folder each, or files in memory).
#[derive(Debug)]
pub struct TaskModels<'a, M: ModelFiles + ?Sized> {
    /// The base model's files ([`Task::model_name`]).
    pub base: &'a M,
    /// The LoRA model's files ([`Task::lora_model_name`]): required when the task has a
    /// `lora`, ignored otherwise.
    pub lora: Option<&'a M>,
}

impl<M: ModelFiles + ?Sized> Clone for TaskModels<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: ModelFiles + ?Sized> Copy for TaskModels<'_, M> {}

impl<'a, M: ModelFiles + ?Sized> TaskModels<'a, M> {
    /// The files of a task that names one model.
    pub fn base(base: &'a M) -> Self {
        Self { base, lora: None }
    }
}

/// What a finished task produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Result files in order (`0.png`, `1.png`, ... or `0.json`) with their bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The score the node commits to.
    pub score: Vec<u8>,
}

impl Outcome {
    /// The score as `0x` + lowercase hex.
    pub fn score_hex(&self) -> String {
        verifier::hex::encode(&self.score)
    }
}

/// The `0.json` of an LLM task, exactly as the reference worker writes it.
pub fn llm_result_file(model: &str, completion: &crate::llm::Completion) -> Vec<u8> {
    let prompt_tokens = completion.prompt_ids.len() as u64;
    let completion_tokens = completion.new_ids.len() as u64;
    LlmResult {
        model: model.to_string(),
        choices: vec![Choice {
            finish_reason: completion.finish_reason,
            message: Message {
                role: Role::Assistant,
                content: verifier::llm::response_content(&completion.text),
            },
            index: 0,
        }],
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
    }
    .to_file_bytes()
}

/// Encodes an image as an RGB 8-bit PNG, with fdeflate's fast compression: every relay and
/// every requester's browser decodes each result to hash it, and these streams decode in
/// 2.7 ms where zlib level 6 takes 4.2 (a 512² photo, decode and pHash, release build) and
/// encode 10x faster, for files of about the same size on photographs (up to 2x on flat
/// gray ones). The score is over the pixels, so the choice is the node's.
pub fn encode_png(image: &crate::sd::RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .map_err(|e| EngineError::Backend(format!("PNG encoding: {e}")))?;
    writer
        .write_image_data(&image.pixels)
        .map_err(|e| EngineError::Backend(format!("PNG encoding: {e}")))?;
    writer
        .finish()
        .map_err(|e| EngineError::Backend(format!("PNG encoding: {e}")))?;
    Ok(bytes)
}

/// How far a task has got: `done` of `total` steps (denoising steps over all images, or
/// tokens), with a line for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Steps done.
    pub done: u32,
    /// Steps in all.
    pub total: u32,
    /// `image 1/2 step 3/6` or `token 5/32`.
    pub detail: String,
}

/// Loads the task's models from `models` onto `device` (a LoRA merged into its base model)
/// and runs the task. `progress` receives each step or token.
pub async fn run<M: ModelFiles + ?Sized>(
    task: &Task,
    models: TaskModels<'_, M>,
    device: &burn::tensor::Device,
    mut progress: impl FnMut(Progress),
) -> Result<Outcome> {
    match task {
        Task::Llm(args) => {
            let files = crate::llm::LlmFiles::read(models.base)?;
            let model = crate::llm::LanguageModel::load(&files, device)?;
            let completion = model
                .generate(args, |done, max| {
                    progress(Progress {
                        done: done as u32,
                        total: max as u32,
                        detail: format!("token {done}/{max}"),
                    })
                })
                .await?;
            let bytes = llm_result_file(&args.model, &completion);
            let score = verifier::score::text_score([bytes.as_slice()]);
            Ok(Outcome {
                files: vec![("0.json".into(), bytes)],
                score,
            })
        }
        Task::StableDiffusion(args) => {
            let settings = crate::sd::Settings::from_args(args)?;
            let files = crate::sd::SdFiles::read(models.base, args.base_model.variant.as_deref())?;
            let pipeline = match &settings.lora {
                None => crate::sd::StableDiffusion::load(&files, device)?,
                Some(lora) => {
                    let lora_files = models.lora.ok_or_else(|| {
                        EngineError::InvalidModel(format!(
                            "the files of LoRA model {:?} were not supplied",
                            lora.model
                        ))
                    })?;
                    let adapter = crate::sd::Lora::read(lora_files, &lora.weight_file)?;
                    crate::sd::StableDiffusion::load_with_lora(
                        &files,
                        &adapter,
                        lora.strength,
                        device,
                    )?
                }
            };
            let images = pipeline
                .generate(&settings, |p| {
                    progress(Progress {
                        done: (p.image * p.steps + p.step) as u32,
                        total: (p.images * p.steps) as u32,
                        detail: format!(
                            "image {}/{} step {}/{}",
                            p.image + 1,
                            p.images,
                            p.step,
                            p.steps
                        ),
                    })
                })
                .await?;
            let mut files = Vec::with_capacity(images.len());
            let mut hashes = Vec::with_capacity(images.len());
            for (i, image) in images.iter().enumerate() {
                let png = encode_png(image)?;
                // The score hashes the file as written, decoded the way the network's Go
                // nodes decode it.
                let hash = verifier::phash::phash_bytes(&png)
                    .map_err(|e| EngineError::Backend(format!("pHash of {i}.png: {e}")))?;
                hashes.push(hash.0);
                files.push((format!("{i}.png"), png));
            }
            Ok(Outcome {
                files,
                score: verifier::score::image_score(hashes),
            })
        }
    }
}
