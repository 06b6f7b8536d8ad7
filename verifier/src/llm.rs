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

/// Why generation stopped, as the reference worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The last generated token is the end-of-sequence token.
    Stop,
    /// Anything else: `max_new_tokens` reached, or a stop string ended generation.
    Length,
}

/// One generated sequence. Field order is the file's key order: `finish_reason, message,
/// index`, as the reference worker writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// The generated message (role `assistant`).
    pub message: Message,
    /// Position among the returned sequences.
    pub index: u32,
}

/// The `content` the reference worker writes for decoded text (decoded with
/// `skip_special_tokens=True, clean_up_tokenization_spaces=True`): Python's `str.strip()`
/// of it.
///
/// The cleanup is not applied: transformers 5, which made the reference cases, skips
/// `clean_up_tokenization` for BPE tokenizers even when asked, because it deletes real
/// spaces before punctuation (`tokenization_utils_tokenizers.py`, `_decode`), and every
/// model the network serves has a byte-level BPE tokenizer. The reference Qwen2 case's
/// reply `"... fiel ? sT"` keeps its space; transformers 4 would have written `"fiel?"`.
pub fn response_content(decoded: &str) -> String {
    python_strip(decoded).to_owned()
}

/// Python's `str.strip()` with no argument: removes leading and trailing characters for
/// which `str.isspace()` is true. That set is Unicode's White_Space plus the ASCII
/// separators U+001C..U+001F, which Rust's `char::is_whitespace` leaves out.
fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
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
    /// The file's bytes, exactly as Python's `json.dump(result, f)` writes them, keys in the
    /// reference worker's order.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("LlmResult always serializes");
        crate::pyjson::to_string(&value).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_stripped_with_the_spaces_before_punctuation_kept() {
        assert_eq!(
            response_content("  Hello , world ! It 's  ok .\n"),
            "Hello , world ! It 's  ok ."
        );
        assert_eq!(response_content("\u{3000}\u{1f}x\u{a0}"), "x");
        assert_eq!(response_content("a ' b n't"), "a ' b n't");
    }

    #[test]
    fn choice_keys_come_in_the_reference_order() {
        let result = LlmResult {
            model: "m".into(),
            choices: vec![Choice {
                finish_reason: FinishReason::Stop,
                message: Message {
                    role: Role::Assistant,
                    content: "hi".into(),
                },
                index: 0,
            }],
            usage: Usage {
                prompt_tokens: 1,
                completion_tokens: 2,
                total_tokens: 3,
            },
        };
        assert_eq!(
            String::from_utf8(result.to_file_bytes()).unwrap(),
            "{\"model\": \"m\", \"choices\": [{\"finish_reason\": \"stop\", \"message\": \
             {\"role\": \"assistant\", \"content\": \"hi\"}, \"index\": 0}], \"usage\": \
             {\"prompt_tokens\": 1, \"completion_tokens\": 2, \"total_tokens\": 3}}"
        );
    }
}
