//! The relay's HTTP API as both sides see it: the wire types its endpoints return, the name
//! rules for models and files, and ([`auth`]) the request-signing rule. The server (`relay`)
//! serializes and checks them; clients (`relay-client`) read and sign them. No server or
//! HTTP dependency, so it builds for `wasm32-unknown-unknown`.

pub mod auth;

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

/// One accepted result file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultFile {
    /// File name, `0.png`, `1.png`, … or `0.json`, ….
    pub name: String,
    /// SHA-256 of its bytes (the blob's name).
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x[0-9a-f]{64}$"))]
    pub sha256: B256,
    /// Its size.
    pub size: u64,
    /// The content type it is served with.
    pub content_type: String,
}

/// A task's accepted results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultSet {
    /// The node that uploaded them.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x[0-9a-fA-F]{40}$"))]
    pub uploader: Address,
    /// The score they hash to (equal to the revealed one).
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x([0-9a-f]{2})*$"))]
    pub score: Bytes,
    /// The files, in score order.
    pub files: Vec<ResultFile>,
}

/// `GET /v1/tasks/{id}/results` and the answer to an accepted result upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultsView {
    /// The task id, decimal.
    pub task_id: String,
    /// The accepted results.
    #[serde(flatten)]
    pub results: ResultSet,
    /// The relay's upload receipt (65-byte signature) that
    /// `TaskManager.reportResultsUploaded` needs; absent from a relay configured without a
    /// receipt key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^0x([0-9a-f]{2})*$"))]
    pub receipt: Option<Bytes>,
}

/// The answer to an accepted argument upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArgsReceipt {
    /// The task id, decimal.
    pub task_id: String,
    /// SHA-256 of the stored bytes.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x[0-9a-f]{64}$"))]
    pub sha256: B256,
    /// Their size.
    pub size: u64,
}

/// Most steps a progress report may name (an LLM's tokens included).
pub const MAX_STEPS: u32 = 1_000_000;

/// `PUT /v1/tasks/{id}/progress`: a selected node says how far it is with the task.
///
/// A node's word, shown to the requester as such: nothing on chain depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StepReport {
    /// Steps done (denoising steps, or tokens generated), at most `steps`.
    pub step: u32,
    /// Steps in all, from 1 to [`MAX_STEPS`].
    pub steps: u32,
}

impl StepReport {
    /// Why the report cannot be true, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if self.steps == 0 || self.steps > MAX_STEPS {
            Some(format!(
                "steps {} is not within 1..={MAX_STEPS}",
                self.steps
            ))
        } else if self.step > self.steps {
            Some(format!("step {} is past steps {}", self.step, self.steps))
        } else {
            None
        }
    }
}

/// One selected node's latest progress report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeProgress {
    /// The node.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x[0-9a-fA-F]{40}$"))]
    pub node: Address,
    /// Steps done.
    pub step: u32,
    /// Steps in all.
    pub steps: u32,
    /// When the relay received it, Unix seconds.
    pub updated_at: u64,
}

/// `GET /v1/tasks/{id}/progress`: the latest report of each node now selected for the task
/// that sent one, by node address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskProgress {
    /// The task id, decimal.
    pub task_id: String,
    /// The reports.
    pub nodes: Vec<NodeProgress>,
}

/// One file of a model, by its path in the model's usual layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelFile {
    /// Path inside the model, e.g. `unet/diffusion_pytorch_model.safetensors`.
    pub path: String,
    /// SHA-256 of its bytes.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^0x[0-9a-f]{64}$"))]
    pub sha256: B256,
    /// Its size.
    pub size: u64,
}

/// Longest model name.
pub const MAX_NAME_LEN: usize = 200;
/// Longest path of a file inside a model.
pub const MAX_PATH_LEN: usize = 500;

/// Why a model name or file path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{value}` is invalid: {reason}")]
pub struct NameError {
    what: &'static str,
    value: String,
    reason: &'static str,
}

/// Checks a model name (`gpt2`, `runwayml/stable-diffusion-v1-5`) or a file path inside a
/// model (`unet/diffusion_pytorch_model.safetensors`): `/`-separated segments of ASCII
/// letters, digits, `.`, `_` and `-`, none empty, `.` or `..`.
pub fn check_name(what: &'static str, value: &str, max_len: usize) -> Result<(), NameError> {
    let error = |reason| NameError {
        what,
        value: value.chars().take(max_len + 1).collect(),
        reason,
    };
    if value.is_empty() || value.len() > max_len {
        return Err(error("empty or too long"));
    }
    for segment in value.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(error("empty, `.` or `..` segment"));
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(error(
                "only ASCII letters, digits, `.`, `_`, `-` and `/` are allowed",
            ));
        }
    }
    Ok(())
}

/// The one folder (a single path segment) a checked model name is kept in: `/` becomes `+`,
/// a character names never contain, so two names never share a folder (`a/b` is `a+b`,
/// `a--b` stays `a--b`).
pub fn model_folder_name(name: &str) -> String {
    name.replace('/', "+")
}

/// How a model's files are laid out, judged by their paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A diffusers pipeline (`model_index.json`, `unet/`, `vae/`, `text_encoder/`, …):
    /// Stable Diffusion 1.x or SDXL.
    DiffusersPipeline,
    /// A transformers model (`config.json` and weights at the top): GPT-2, Llama, Qwen2,
    /// Qwen3.
    Transformers,
    /// A LoRA adapter: weight files (`*.safetensors`) at the top and no `config.json`,
    /// named by an image task's `lora.model`.
    Lora,
    /// Anything else.
    Other,
}

/// A model as listed: its layout and files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelListing {
    /// Its name.
    pub name: String,
    /// Its layout.
    pub layout: Layout,
    /// Total bytes.
    pub size: u64,
    /// Its files, by path.
    pub files: Vec<ModelFile>,
}

impl ModelListing {
    /// The digest of its manifest ([`manifest_digest`]).
    pub fn digest(&self) -> B256 {
        manifest_digest(&self.files)
    }
}

/// A model's manifest digest, the value that names its exact weights on chain
/// (`NodeRegistry.registerModel`) and in a node's pins: SHA-256 over
/// `path<TAB>sha256 hex<TAB>size<LF>` for each file, in path order.
pub fn manifest_digest(files: &[ModelFile]) -> B256 {
    let mut files: Vec<&ModelFile> = files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = verifier::digest::Sha256Stream::new();
    for f in files {
        hasher.update(format!("{}\t{:x}\t{}\n", f.path, f.sha256, f.size).as_bytes());
    }
    B256::from(hasher.finish())
}

/// `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelList {
    /// Every model the relay holds.
    pub models: Vec<ModelListing>,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`, or what is wrong.
    pub status: String,
    /// The last chain block whose events the relay applied.
    pub synced_block: Option<u64>,
}

/// The body of every error answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error's stable code and readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Machine-readable, stable across versions (`unknown_task`, `score_mismatch`, …).
    pub code: String,
    /// What went wrong, naming the value at fault.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every valid name up to five characters over `a - _ . /`: distinct names get distinct
    /// folders, each a single path segment (the review's `a/b` beside `a--b`).
    #[test]
    fn model_folders_are_one_per_name() {
        let alphabet = ['a', '-', '_', '.', '/'];
        let mut names = vec![String::new()];
        let mut all = Vec::new();
        for _ in 0..5 {
            names = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            all.extend(
                names
                    .iter()
                    .filter(|n| check_name("model", n, 10).is_ok())
                    .cloned(),
            );
        }
        assert!(all.contains(&"a/a".to_owned()) && all.contains(&"a--a".to_owned()));
        let mut seen = std::collections::HashMap::new();
        for name in &all {
            let folder = model_folder_name(name);
            assert!(!folder.contains('/'), "{name}: {folder}");
            if let Some(other) = seen.insert(folder.clone(), name.clone()) {
                panic!("{name} and {other} share the folder {folder}");
            }
        }
    }
}
