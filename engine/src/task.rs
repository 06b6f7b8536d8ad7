//! Running one network task end to end: arguments in, result files and score out.

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

    /// The model the task names: SD's `base_model` or the LLM's `model`.
    pub fn model_name(&self) -> &str {
        match self {
            Self::StableDiffusion(args) => &args.base_model.name,
            Self::Llm(args) => &args.model,
        }
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

/// Loads the task's model from `model` onto `device` and runs the task. `progress`
/// receives each step or token.
pub async fn run(
    task: &Task,
    model: &(impl ModelFiles + ?Sized),
    device: &burn::tensor::Device,
    mut progress: impl FnMut(Progress),
) -> Result<Outcome> {
    match task {
        Task::Llm(args) => {
            let files = crate::llm::LlmFiles::read(model)?;
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
            let files = crate::sd::SdFiles::read(model, args.base_model.variant.as_deref())?;
            let pipeline = crate::sd::StableDiffusion::load(&files, device)?;
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
