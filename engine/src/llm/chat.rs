//! Rendering chat messages into a prompt through the model's Jinja chat template.
//!
//! Templates are rendered the way `transformers` renders them: Jinja with `trim_blocks`
//! and `lstrip_blocks`, loop controls, Python string methods, a `raise_exception` function,
//! a Python-`json.dumps`-style `tojson`, and the variables `messages`,
//! `add_generation_prompt`, `bos_token` and `eos_token`.

use minijinja::{Environment, Error, ErrorKind, Value, context};
use serde::Deserialize;
use verifier::llm::Message;

use crate::error::{EngineError, Result};

/// The template used for models that ship none (`transformers` would refuse them): one
/// `role: content` line per message, then `assistant:` when a reply is wanted.
pub const FALLBACK_TEMPLATE: &str = "{% for message in messages %}{{ message['role'] }}: \
{{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

/// Most template instructions one render may execute (minijinja's fuel). A template comes
/// with the model's files, and two nested `range(100000)` loops would otherwise run for
/// hours; real templates take a few dozen instructions a message, so this renders hundreds
/// of thousands of messages.
pub const TEMPLATE_FUEL: u64 = 20_000_000;

/// Most bytes one render may write. Fuel counts instructions, and one instruction can
/// print a sequence of 100 million items (minijinja's repeat limit): `{{ ['']*10**8 }}` took
/// seconds and gigabytes before this bound. No model's context holds a prompt this long.
pub const TEMPLATE_OUTPUT_LIMIT: usize = 8 << 20;

/// A writer that fails once more than [`TEMPLATE_OUTPUT_LIMIT`] bytes were written, which
/// ends the render.
#[derive(Default)]
struct Bounded {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + bytes.len() > TEMPLATE_OUTPUT_LIMIT {
            self.overflowed = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A model's chat template with the special tokens it may refer to.
#[derive(Clone, Debug)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
}

#[derive(Deserialize)]
struct TokenizerConfig {
    #[serde(default)]
    chat_template: Option<TemplateField>,
    #[serde(default)]
    bos_token: Option<TokenField>,
    #[serde(default)]
    eos_token: Option<TokenField>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TemplateField {
    Single(String),
    Named(Vec<NamedTemplate>),
}

#[derive(Deserialize)]
struct NamedTemplate {
    name: String,
    template: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TokenField {
    Plain(String),
    Added { content: String },
}

impl TokenField {
    fn content(self) -> String {
        match self {
            Self::Plain(content) | Self::Added { content } => content,
        }
    }
}

impl ChatTemplate {
    /// Finds the template the way `transformers` does: `chat_template.jinja` first, then the
    /// `chat_template` entry of `tokenizer_config.json` (a string, or a list of named
    /// templates of which `default` is used); [`FALLBACK_TEMPLATE`] when neither has one.
    pub fn from_model_files(
        chat_template_jinja: Option<&str>,
        tokenizer_config_json: Option<&str>,
    ) -> Result<Self> {
        let config: Option<TokenizerConfig> = tokenizer_config_json
            .map(|text| {
                serde_json::from_str(text)
                    .map_err(|e| EngineError::json("tokenizer_config.json", e))
            })
            .transpose()?;
        let (from_config, bos, eos) = match config {
            Some(config) => (
                config.chat_template,
                config.bos_token.map(TokenField::content),
                config.eos_token.map(TokenField::content),
            ),
            None => (None, None, None),
        };
        let source = match (chat_template_jinja, from_config) {
            (Some(source), _) => source.to_string(),
            (None, Some(TemplateField::Single(source))) => source,
            (None, Some(TemplateField::Named(list))) => list
                .into_iter()
                .find(|t| t.name == "default")
                .map(|t| t.template)
                .ok_or_else(|| {
                    EngineError::Template(
                        "tokenizer_config.json has no `default` chat template".into(),
                    )
                })?,
            (None, None) => FALLBACK_TEMPLATE.to_string(),
        };
        Ok(Self {
            source,
            bos_token: bos.unwrap_or_default(),
            eos_token: eos.unwrap_or_default(),
        })
    }

    /// Renders `messages`; with `add_generation_prompt`, ends with the assistant's cue.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(|e| EngineError::Template(e.to_string()))?,
        );
        env.set_fuel(Some(TEMPLATE_FUEL));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_filter("tojson", python_tojson);
        env.add_template("chat", &self.source)
            .map_err(|e| EngineError::Template(e.to_string()))?;
        let mut out = Bounded::default();
        env.get_template("chat")
            .and_then(|template| {
                template
                    .render_captured_to(
                        context! {
                            messages => Value::from(minijinja::value::Serde(messages)),
                            add_generation_prompt => add_generation_prompt,
                            bos_token => &self.bos_token,
                            eos_token => &self.eos_token,
                        },
                        &mut out,
                    )
                    .map(drop)
            })
            .map_err(|e| {
                EngineError::Template(if out.overflowed {
                    format!("the rendered prompt exceeds {TEMPLATE_OUTPUT_LIMIT} bytes")
                } else {
                    e.to_string()
                })
            })?;
        String::from_utf8(out.bytes).map_err(|e| EngineError::Template(e.to_string()))
    }
}

fn raise_exception(message: String) -> std::result::Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// `json.dumps(value, ensure_ascii=False)`, as `transformers`' `tojson` filter renders.
fn python_tojson(value: Value) -> std::result::Result<Value, Error> {
    let json = serde_json::to_value(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let mut out = String::new();
    write_python_json(&json, &mut out);
    Ok(Value::from_safe_string(out))
}

fn write_python_json(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match value {
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(item, out);
            }
            out.push(']');
        }
        J::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&J::String(key.clone()).to_string());
                out.push_str(": ");
                write_python_json(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str) -> Message {
        serde_json::from_value(serde_json::json!({"role": role, "content": content})).unwrap()
    }

    #[test]
    fn renders_with_transformers_whitespace_rules() {
        let source = "{% for m in messages %}\n  {% if m.role %}{{ m.role }}={{ m.content | trim }}\n  {% endif %}\n{% endfor %}";
        let template = ChatTemplate::from_model_files(Some(source), None).unwrap();
        let text = template
            .render(&[msg("user", " hi "), msg("assistant", "yo")], false)
            .unwrap();
        assert_eq!(text, "user=hi\nassistant=yo\n");
    }

    #[test]
    fn reads_named_templates_and_special_tokens() {
        let config = r#"{"bos_token": {"content": "<s>"}, "eos_token": "</s>",
            "chat_template": [{"name": "default", "template": "{{ bos_token }}{{ messages[0]['content'] }}{{ eos_token }}"}]}"#;
        let template = ChatTemplate::from_model_files(None, Some(config)).unwrap();
        assert_eq!(
            template.render(&[msg("user", "x")], true).unwrap(),
            "<s>x</s>"
        );
    }

    #[test]
    fn raise_exception_becomes_an_error() {
        let source = "{{ raise_exception('only user messages') }}";
        let template = ChatTemplate::from_model_files(Some(source), None).unwrap();
        let error = template.render(&[], true).unwrap_err();
        assert!(error.to_string().contains("only user messages"), "{error}");
    }

    #[test]
    fn a_template_that_would_run_for_hours_runs_out_of_fuel() {
        // Found by the `chat_template` fuzz target: ten billion loop iterations.
        let source =
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
        let template = ChatTemplate::from_model_files(Some(source), None).unwrap();
        let error = template.render(&[msg("user", "a")], true).unwrap_err();
        assert!(error.to_string().contains("fuel"), "{error}");
    }

    #[test]
    fn repeating_a_sequence_a_huge_number_of_times_ends() {
        // Found by the `chat_template` fuzz target (9 hangs, all the first shape): under
        // minijinja 2.24 the repeat was one lazy instruction, so fuel did not stop it, and
        // printing it spun 8e17 times. 3.1 repeats an empty sequence to an empty one and
        // counts a repeat's work against the fuel.
        let empty = ChatTemplate::from_model_files(Some("{{ () * 800000000000000070 }}"), None)
            .unwrap()
            .render(&[msg("user", "a")], true);
        assert_eq!(empty.unwrap(), "()");
        let full = ChatTemplate::from_model_files(Some("{{ (1,) * 800000000000000070 }}"), None)
            .unwrap()
            .render(&[msg("user", "a")], true)
            .unwrap_err();
        assert!(full.to_string().contains("fuel"), "{full}");
    }

    #[test]
    fn printing_a_hundred_million_items_stops_at_the_output_limit() {
        // Found by re-fuzzing `chat_template` after the fuel fix (15 hangs of this shape, 2 to
        // 8 s each): one instruction prints a 10-million-item sequence.
        let started = std::time::Instant::now();
        let error = ChatTemplate::from_model_files(
            Some("{{ ['', '']*3333332*3 }}{{ ['ab']*100000000 }}"),
            None,
        )
        .unwrap()
        .render(&[msg("user", "a")], true)
        .unwrap_err()
        .to_string();
        assert!(error.contains("exceeds"), "{error}");
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    }

    #[test]
    fn many_messages_render_within_the_fuel() {
        let source = "{%- for message in messages %}{%- if loop.first and message['role'] != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
        let template = ChatTemplate::from_model_files(Some(source), None).unwrap();
        let messages: Vec<Message> = (0..20_000).map(|_| msg("user", " hi ")).collect();
        let text = template.render(&messages, true).unwrap();
        assert_eq!(text.matches("<|im_start|>user").count(), 20_000);
    }

    #[test]
    fn fallback_template_is_used_without_one() {
        let template = ChatTemplate::from_model_files(None, Some("{}")).unwrap();
        assert_eq!(
            template.render(&[msg("user", "a")], true).unwrap(),
            "user: a\nassistant:"
        );
    }
}
