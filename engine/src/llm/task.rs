//! Reading the decoding options of an LLM task (`verifier::args::LlmTaskArgs`).

use serde::Deserialize;
use verifier::args::{Dtype, GenerationConfig, LlmTaskArgs};

use super::sampling::SamplingConfig;
use crate::error::{EngineError, Result};

/// The decoding options of a task, resolved and checked against what the engine supports.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoding {
    /// Most tokens to generate.
    pub max_new_tokens: usize,
    /// Generation stops once the generated text contains one of these.
    pub stop_strings: Vec<String>,
    /// How each token is chosen.
    pub sampling: SamplingConfig,
    /// Seed of the sampling generator.
    pub seed: u64,
}

/// `transformers`' default `max_length` is 20 tokens in all; with no `max_new_tokens`,
/// this engine generates up to 20 new tokens.
const DEFAULT_MAX_NEW_TOKENS: usize = 20;

/// The decoding defaults a model ships in its `generation_config.json` (Qwen's sample at
/// temperature 0.7, top-p 0.8, top-k 20): `generate` merges them under the task's own
/// settings, and so does [`decoding`]. Other keys of the file are not decoding options and
/// are ignored.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct GenerationDefaults {
    /// `max_new_tokens`.
    #[serde(default)]
    pub max_new_tokens: Option<i64>,
    /// `do_sample`.
    #[serde(default)]
    pub do_sample: Option<bool>,
    /// `temperature`.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// `top_k`.
    #[serde(default)]
    pub top_k: Option<i64>,
    /// `top_p`.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// `min_p`.
    #[serde(default)]
    pub min_p: Option<f64>,
    /// `repetition_penalty`.
    #[serde(default)]
    pub repetition_penalty: Option<f64>,
}

impl GenerationDefaults {
    /// Parses `generation_config.json`.
    pub fn parse(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| EngineError::json("generation_config.json", e))
    }

    fn merge_under(&self, task: GenerationConfig) -> GenerationConfig {
        GenerationConfig {
            max_new_tokens: task.max_new_tokens.or(self.max_new_tokens),
            do_sample: task.do_sample.or(self.do_sample),
            temperature: task.temperature.or(self.temperature),
            top_k: task.top_k.or(self.top_k),
            top_p: task.top_p.or(self.top_p),
            min_p: task.min_p.or(self.min_p),
            repetition_penalty: task.repetition_penalty.or(self.repetition_penalty),
            ..task
        }
    }
}

/// Resolves the decoding options of `args` (already validated by the verifier) over the
/// model's `defaults`, refusing the options this engine does not implement, by field name.
pub fn decoding(args: &LlmTaskArgs, defaults: &GenerationDefaults) -> Result<Decoding> {
    let arg = |field: &str, message: String| {
        EngineError::argument(format!("generation_config.{field}"), message)
    };
    if matches!(args.dtype, Dtype::Float16 | Dtype::Bfloat16) {
        return Err(EngineError::argument(
            "dtype",
            format!(
                "{}: this engine computes in float32 on every backend (half-precision \
                 weights are widened on load); ask for \"auto\" or \"float32\"",
                serde_json::to_value(args.dtype)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(bits) = args.quantize_bits {
        return Err(EngineError::argument(
            "quantize_bits",
            format!("{bits}-bit quantization is not supported"),
        ));
    }
    if args.tools.as_ref().is_some_and(|tools| !tools.is_null()) {
        return Err(EngineError::argument(
            "tools",
            "tool definitions are not supported",
        ));
    }
    let g = defaults.merge_under(args.generation_config.clone().unwrap_or_default());
    if let Some(beams) = g.num_beams.filter(|&n| n != 1) {
        return Err(arg(
            "num_beams",
            format!("{beams}: only 1 (no beam search) is supported"),
        ));
    }
    if let Some(n) = g.num_return_sequences.filter(|&n| n != 1) {
        return Err(arg(
            "num_return_sequences",
            format!("{n}: only 1 is supported"),
        ));
    }
    if let Some(p) = g.typical_p.filter(|&p| p != 1.0) {
        return Err(arg(
            "typical_p",
            format!("{p}: typical sampling is not supported"),
        ));
    }
    if let Some(key) = g.extra.keys().next() {
        return Err(arg(key, "is not supported".into()));
    }
    let max_new_tokens = match g.max_new_tokens {
        None => DEFAULT_MAX_NEW_TOKENS,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| arg("max_new_tokens", format!("{n} must be at least 1")))?,
    };
    let defaults = SamplingConfig::default();
    let sampling = SamplingConfig {
        do_sample: g.do_sample.unwrap_or(false),
        temperature: g.temperature.map_or(defaults.temperature, |t| t as f32),
        top_k: match g.top_k {
            None => defaults.top_k,
            Some(k) => {
                usize::try_from(k).map_err(|_| arg("top_k", format!("{k} must be 0 or more")))?
            }
        },
        top_p: g.top_p.map_or(defaults.top_p, |p| p as f32),
        min_p: g.min_p.map_or(defaults.min_p, |p| p as f32),
        repetition_penalty: g
            .repetition_penalty
            .map_or(defaults.repetition_penalty, |p| p as f32),
    };
    if !(sampling.temperature > 0.0 && sampling.temperature.is_finite()) {
        return Err(arg(
            "temperature",
            format!("{} must be positive", sampling.temperature),
        ));
    }
    if !(sampling.top_p > 0.0 && sampling.top_p <= 1.0) {
        return Err(arg(
            "top_p",
            format!("{} must be in (0, 1]", sampling.top_p),
        ));
    }
    if !(0.0..=1.0).contains(&sampling.min_p) {
        return Err(arg(
            "min_p",
            format!("{} must be in [0, 1]", sampling.min_p),
        ));
    }
    if !(sampling.repetition_penalty > 0.0 && sampling.repetition_penalty.is_finite()) {
        return Err(arg(
            "repetition_penalty",
            format!("{} must be positive", sampling.repetition_penalty),
        ));
    }
    let stop_strings = g.stop_strings.unwrap_or_default();
    if stop_strings.iter().any(String::is_empty) {
        return Err(arg(
            "stop_strings",
            "must not contain an empty string".into(),
        ));
    }
    let seed = u64::try_from(args.seed)
        .map_err(|_| EngineError::argument("seed", format!("{} must be 0 or more", args.seed)))?;
    Ok(Decoding {
        max_new_tokens,
        stop_strings,
        sampling,
        seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(generation_config: &str) -> Result<Decoding> {
        let json = format!(
            r#"{{"model": "m", "messages": [{{"role": "user", "content": "hi"}}], "generation_config": {generation_config}}}"#
        );
        let args: LlmTaskArgs = serde_json::from_str(&json).unwrap();
        decoding(&args, &GenerationDefaults::default())
    }

    #[test]
    fn defaults_are_greedy_with_twenty_tokens() {
        let d = parse("{}").unwrap();
        assert_eq!(d.max_new_tokens, 20);
        assert!(!d.sampling.do_sample);
    }

    #[test]
    fn rejects_unsupported_options_by_name() {
        for (config, field) in [
            (r#"{"num_beams": 4}"#, "num_beams"),
            (r#"{"top_p": 1.5}"#, "top_p"),
            (r#"{"temperature": 0}"#, "temperature"),
            (r#"{"max_new_tokens": 0}"#, "max_new_tokens"),
            (r#"{"typical_p": 0.5}"#, "typical_p"),
        ] {
            let error = parse(config).unwrap_err().to_string();
            assert!(error.contains(field), "{config}: {error}");
        }
    }

    #[test]
    fn half_precision_is_refused_with_the_reason_and_auto_is_float32() {
        for (dtype, ok) in [
            ("auto", true),
            ("float32", true),
            ("float16", false),
            ("bfloat16", false),
        ] {
            let json = format!(
                r#"{{"model": "m", "messages": [{{"role": "user", "content": "hi"}}], "dtype": "{dtype}"}}"#
            );
            let args: LlmTaskArgs = serde_json::from_str(&json).unwrap();
            match decoding(&args, &GenerationDefaults::default()) {
                Ok(_) => assert!(ok, "{dtype} accepted"),
                Err(e) => {
                    assert!(!ok, "{dtype}: {e}");
                    let e = e.to_string();
                    assert!(
                        e.contains("dtype") && e.contains(dtype) && e.contains("float32"),
                        "{e}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_models_defaults_fill_only_what_the_task_leaves_out() {
        // Qwen2.5-Instruct's generation_config.json.
        let qwen = GenerationDefaults::parse(
            r#"{"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643],
            "pad_token_id": 151643, "repetition_penalty": 1.05, "temperature": 0.7,
            "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}"#,
        )
        .unwrap();
        let json = r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "generation_config": {"temperature": 0.3, "max_new_tokens": 5}}"#;
        let args: LlmTaskArgs = serde_json::from_str(json).unwrap();
        let d = decoding(&args, &qwen).unwrap();
        assert!(d.sampling.do_sample);
        assert_eq!(d.max_new_tokens, 5);
        assert_eq!(d.sampling.temperature, 0.3);
        assert_eq!((d.sampling.top_k, d.sampling.top_p), (20, 0.8));
        assert_eq!(d.sampling.repetition_penalty, 1.05);
        let greedy = parse(r#"{"do_sample": false}"#).unwrap();
        assert!(!greedy.sampling.do_sample);
    }
}
