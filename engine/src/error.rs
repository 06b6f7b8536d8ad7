//! The engine's error type.

use thiserror::Error;

/// Everything that can go wrong while loading a model or running a task.
///
/// Every variant names what was wrong (the file, the tensor, the field or the value), so the
/// node can report a clear reason instead of panicking.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A model file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that could not be read.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (config, vocabulary, task) is malformed.
    #[error("malformed JSON in {what}: {source}")]
    Json {
        /// What was being parsed.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A safetensors file is malformed.
    #[error("malformed safetensors file {what}: {message}")]
    Safetensors {
        /// The file or component.
        what: String,
        /// What the parser said.
        message: String,
    },
    /// A tensor the architecture needs is absent from the checkpoint.
    #[error("tensor `{name}` is missing from {what}")]
    MissingTensor {
        /// The file or component.
        what: String,
        /// The tensor name.
        name: String,
    },
    /// A tensor has the wrong shape or an unsupported dtype.
    #[error("tensor `{name}` in {what}: {message}")]
    BadTensor {
        /// The file or component.
        what: String,
        /// The tensor name.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// A model's configuration or tokenizer is invalid.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// The task asks for something invalid or unsupported.
    #[error("invalid task argument `{field}`: {message}")]
    InvalidArgument {
        /// The offending field, dotted (e.g. `generation_config.top_p`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The task arguments failed the protocol's validation.
    #[error(transparent)]
    Args(#[from] verifier::args::ArgsError),
    /// A feature the engine does not provide yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The chat template failed to render.
    #[error("chat template: {0}")]
    Template(String),
    /// The compute backend failed.
    #[error("backend: {0}")]
    Backend(String),
}

impl EngineError {
    /// An [`EngineError::InvalidArgument`] for `field`.
    pub fn argument(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An [`EngineError::Json`] for `what`.
    pub fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Json {
            what: what.into(),
            source,
        }
    }
}

/// The engine's result type.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
