//! `engine::llm::ChatTemplate`: finding a model's template and rendering chat messages
//! through it. The first byte picks the mode: one of the reference models' templates with
//! fuzzed messages, or a fuzzed template source (and `tokenizer_config.json`) with fixed
//! messages. Messages are split at NUL bytes, each one's first byte picking its role.

use engine::llm::ChatTemplate;
use verifier::llm::{Message, Role};

const MODELS: [(&str, &str); 4] = [
    (
        include_str!("../data/gpt2-chat_template.jinja"),
        include_str!("../data/gpt2-tokenizer_config.json"),
    ),
    (
        include_str!("../data/llama-chat_template.jinja"),
        include_str!("../data/llama-tokenizer_config.json"),
    ),
    (
        include_str!("../data/qwen2-chat_template.jinja"),
        include_str!("../data/qwen2-tokenizer_config.json"),
    ),
    (
        include_str!("../data/qwen3-chat_template.jinja"),
        include_str!("../data/qwen3-tokenizer_config.json"),
    ),
];

const ROLES: [Role; 4] = [Role::System, Role::User, Role::Assistant, Role::Tool];

fn messages(text: &str) -> Vec<Message> {
    text.split('\0')
        .map(|m| {
            let role = ROLES[usize::from(m.bytes().next().unwrap_or(0)) % ROLES.len()];
            Message {
                role,
                content: m.get(1..).unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let generation_prompt = mode & 1 != 0;
        let template = if mode & 0x80 == 0 {
            let (jinja, config) = MODELS[usize::from(mode >> 1) % MODELS.len()];
            let template = ChatTemplate::from_model_files(Some(jinja), Some(config))
                .expect("the reference templates load");
            let _ = template.render(&messages(text), generation_prompt);
            return;
        } else if mode & 0x40 == 0 {
            // The template from a fuzzed `tokenizer_config.json`.
            ChatTemplate::from_model_files(None, Some(text))
        } else {
            ChatTemplate::from_model_files(Some(text), None)
        };
        if let Ok(template) = template {
            let fixed = messages("\u{0}You are terse.\0\u{1}Hi (there)!\0\u{2}Hello.\0\u{1}Why?");
            let _ = template.render(&fixed, generation_prompt);
        }
    });
}
