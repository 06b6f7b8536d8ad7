//! LLM result files (`0.json`, `1.json`, ...) as the network writes and hashes them.
//!
//! The reference worker writes one file per returned sequence with Python's `json.dump`
//! defaults, and the node's score is the SHA-256 of each file's exact bytes. [`LlmResult::to_file_bytes`]
//! reproduces those bytes; [`crate::score::text_score`] hashes them.

use serde::{Deserialize, Serialize};

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person asking.
    User,
    /// The model.
    Assistant,
    /// A tool's output.
    Tool,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// `max_new_tokens` was reached.
    Length,
}

/// One generated sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Position among the returned sequences.
    pub index: u32,
    /// The generated message (role `assistant`).
    pub message: Message,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
}

/// Token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the rendered prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

/// The content of one LLM result file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmResult {
    /// The model name from the task arguments.
    pub model: String,
    /// The generated sequences.
    pub choices: Vec<Choice>,
    /// Token counts.
    pub usage: Usage,
}

impl LlmResult {
    /// The file's bytes, exactly as Python's `json.dump(result, f)` writes them.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("LlmResult always serializes");
        crate::pyjson::to_string(&value).into_bytes()
    }
}
