//! Reading an SD task (`verifier::args::SdTaskArgs`) into what the pipeline needs.

use verifier::args::{SchedulerMethod, SdTaskArgs};

use super::lora;
use super::scheduler::SchedulerKind;
use crate::error::{EngineError, Result};

/// The settings of one SD task, checked against what the engine supports.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The prompt (Compel syntax).
    pub prompt: String,
    /// The negative prompt (Compel syntax).
    pub negative_prompt: String,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Denoising steps.
    pub steps: usize,
    /// Seed of the CPU generator shared by all images.
    pub seed: u64,
    /// Number of images.
    pub num_images: usize,
    /// Classifier-free guidance scale; guidance is off at 1 or below.
    pub cfg: f64,
    /// The scheduler.
    pub scheduler: SchedulerKind,
    /// The LoRA to merge into the base model, if any.
    pub lora: Option<LoraSettings>,
}

/// The task's `lora`, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraSettings {
    /// The LoRA model's name (`lora.model`), whose files the node supplies.
    pub model: String,
    /// The weight file inside it (`lora.weight_file_name`, or
    /// [`lora::DEFAULT_WEIGHT_FILE`]), a relative path checked by [`lora::weight_file`].
    pub weight_file: String,
    /// The adapter's strength, `lora.weight / 100` in `(0, 1]`. Honoured as the scale the
    /// user asked for, where the reference worker ignores it (see [`lora`]).
    pub strength: f64,
}

impl Settings {
    /// Reads `args` (already validated by the verifier), refusing by field name the options
    /// this engine does not implement (ControlNet, a refiner, a VAE or UNet swap, textual
    /// inversion, scheduler overrides).
    pub fn from_args(args: &SdTaskArgs) -> Result<Self> {
        let unsupported = |field: &str| {
            Err(EngineError::argument(
                field,
                "is not supported by this engine",
            ))
        };
        if args.task_config.safety_checker {
            // Ignoring it would hand back images the requester asked to have screened.
            return Err(EngineError::argument(
                "task_config.safety_checker",
                "no safety classifier runs on this engine; the task is refused rather than \
                 served unscreened (ask for false)",
            ));
        }
        if args.controlnet.as_ref().is_some_and(|c| !c.is_null()) {
            return unsupported("controlnet");
        }
        if args.refiner.is_some() {
            return unsupported("refiner");
        }
        for (field, value) in [
            ("vae", &args.vae),
            ("unet", &args.unet),
            ("textual_inversion", &args.textual_inversion),
        ] {
            if !value.is_empty() {
                return unsupported(field);
            }
        }
        if let Some(scheduler) = &args.scheduler
            && scheduler.args.as_ref().is_some_and(|a| !a.is_empty())
        {
            return Err(EngineError::argument(
                "scheduler.args",
                "overriding the checkpoint's scheduler config is not supported",
            ));
        }
        let c = &args.task_config;
        let count = |field: &str, value: i64| {
            usize::try_from(value)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| {
                    EngineError::argument(
                        format!("task_config.{field}"),
                        format!("{value} must be positive"),
                    )
                })
        };
        let (width, height) = (
            count("image_width", c.image_width)?,
            count("image_height", c.image_height)?,
        );
        for (field, value) in [("image_width", width), ("image_height", height)] {
            if value % 8 != 0 {
                return Err(EngineError::argument(
                    format!("task_config.{field}"),
                    format!("{value} is not a multiple of 8"),
                ));
            }
        }
        let lora = match &args.lora {
            None => None,
            Some(l) => {
                let strength = l.weight_fraction();
                if !(strength > 0.0 && strength <= 1.0) {
                    return Err(EngineError::argument(
                        "lora.weight",
                        format!("{} must be greater than 0, at most 100", l.weight),
                    ));
                }
                Some(LoraSettings {
                    model: l.model.clone(),
                    weight_file: lora::weight_file(&l.weight_file_name)?,
                    strength,
                })
            }
        };
        Ok(Self {
            lora,
            prompt: args.prompt.clone(),
            negative_prompt: args.negative_prompt.clone(),
            width,
            height,
            steps: count("steps", args.steps())?,
            seed: u64::try_from(c.seed).map_err(|_| {
                EngineError::argument("task_config.seed", format!("{} must be 0 or more", c.seed))
            })?,
            num_images: count("num_images", c.num_images)?,
            cfg: c.cfg,
            scheduler: match args.scheduler_method() {
                SchedulerMethod::DpmSolverMultistep => SchedulerKind::DpmSolverMultistep,
                SchedulerMethod::EulerAncestralDiscrete => SchedulerKind::EulerAncestral,
                SchedulerMethod::Ddim => SchedulerKind::Ddim,
                SchedulerMethod::Lcm => SchedulerKind::Lcm,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(task_config: &str) -> SdTaskArgs {
        SdTaskArgs::parse(
            format!(
                r#"{{"version": "2.5.0", "base_model": {{"name": "sd-tiny"}}, "prompt": "a cat",
                "task_config": {task_config}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_safety_checker_request_is_refused_by_name_not_ignored() {
        let error = Settings::from_args(&args(r#"{"seed": 1, "safety_checker": true}"#))
            .unwrap_err()
            .to_string();
        assert!(error.contains("task_config.safety_checker"), "{error}");
        Settings::from_args(&args(r#"{"seed": 1, "safety_checker": false}"#)).unwrap();
    }
}
