//! Typed, validated task arguments, in the network's JSON formats.
//!
//! Parsing is lenient where the reference is (missing fields take the reference defaults,
//! unknown fields are kept in `extra` and never dropped) and validation is strict: every
//! problem is reported with the field's path, the value found and what is allowed, all at
//! once, so a form can show each next to its field.
//!
//! The task hash is over the exact bytes sent ([`crate::commitment::task_hash`]); these types
//! are for checking and running a task, never for re-serializing the bytes that are hashed.

mod llm;
mod sd;

pub use llm::{Dtype, GenerationConfig, LlmTaskArgs};
pub use sd::{
    BaseModel, LoraArgs, RefinerArgs, SchedulerArgs, SchedulerMethod, SdTaskArgs, SdTaskConfig,
    SdVersion,
};

use serde::de::DeserializeOwned;
use std::fmt;

/// The task types Tessera runs, with the reference network's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TaskType {
    /// Stable Diffusion image generation.
    StableDiffusion = 0,
    /// LLM text generation.
    Llm = 1,
}

impl TaskType {
    /// The kind of score a task of this type produces.
    pub const fn score_kind(self) -> crate::score::ScoreKind {
        match self {
            Self::StableDiffusion => crate::score::ScoreKind::Image,
            Self::Llm => crate::score::ScoreKind::Text,
        }
    }
}

impl TryFrom<u8> for TaskType {
    type Error = ArgsError;

    fn try_from(value: u8) -> Result<Self, ArgsError> {
        match value {
            0 => Ok(Self::StableDiffusion),
            1 => Ok(Self::Llm),
            other => Err(ArgsError::UnsupportedTaskType(other)),
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `task_config.steps` or `messages[2].role`.
    pub field: String,
    /// The value found, as JSON-ish text.
    pub value: String,
    /// What is allowed, e.g. `1..=100`.
    pub allowed: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is {}; allowed: {}",
            self.field, self.value, self.allowed
        )
    }
}

/// Why task arguments were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArgsError {
    /// Not JSON, or a field of the wrong JSON type.
    #[error("task arguments are not valid: {0}")]
    Malformed(String),
    /// Well-formed JSON with values outside the allowed ranges.
    #[error("task arguments are not valid: {}", join(.0))]
    Invalid(Vec<FieldError>),
    /// A task type number Tessera does not run.
    #[error("task type {0} is not supported (0 = Stable Diffusion, 1 = LLM)")]
    UnsupportedTaskType(u8),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Task arguments of either type.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per task and matched everywhere; boxing buys nothing"
)]
pub enum TaskArgs {
    /// Stable Diffusion image generation.
    StableDiffusion(SdTaskArgs),
    /// LLM text generation.
    Llm(LlmTaskArgs),
}

impl TaskArgs {
    /// Parses and validates the argument bytes of a task of type `task_type`.
    pub fn parse(task_type: TaskType, json: &[u8]) -> Result<Self, ArgsError> {
        Ok(match task_type {
            TaskType::StableDiffusion => Self::StableDiffusion(SdTaskArgs::parse(json)?),
            TaskType::Llm => Self::Llm(LlmTaskArgs::parse(json)?),
        })
    }

    /// Units of work the task declares on chain (`TaskRequest.size`); nodes refuse a task
    /// whose declared size differs. See [`SdTaskArgs::work_units`] and
    /// [`LlmTaskArgs::work_units`].
    pub fn work_units(&self) -> u64 {
        match self {
            Self::StableDiffusion(args) => args.work_units(),
            Self::Llm(args) => args.work_units(),
        }
    }

    /// The task type these arguments belong to.
    pub fn task_type(&self) -> TaskType {
        match self {
            Self::StableDiffusion(_) => TaskType::StableDiffusion,
            Self::Llm(_) => TaskType::Llm,
        }
    }
}

/// Deserializes with the failing field's path in the error message.
fn from_json<T: DeserializeOwned>(json: &[u8]) -> Result<T, ArgsError> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ArgsError::Malformed(inner.to_string())
        } else {
            ArgsError::Malformed(format!("`{path}`: {inner}"))
        }
    })
}

/// Collects field errors during validation.
#[derive(Default)]
struct Checker(Vec<FieldError>);

impl Checker {
    fn fail(
        &mut self,
        field: impl Into<String>,
        value: impl fmt::Debug,
        allowed: impl Into<String>,
    ) {
        self.0.push(FieldError {
            field: field.into(),
            value: format!("{value:?}"),
            allowed: allowed.into(),
        });
    }

    fn range<T: PartialOrd + fmt::Debug + fmt::Display>(
        &mut self,
        field: &str,
        value: T,
        min: T,
        max: T,
    ) {
        if !(min <= value && value <= max) {
            self.fail(field, value, format!("{min}..={max}"));
        }
    }

    fn non_empty(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.fail(field, value, "a non-empty string");
        }
    }

    fn finish(self) -> Result<(), ArgsError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ArgsError::Invalid(self.0))
        }
    }
}
