//! Reading the decoding options of an LLM task (`verifier::args::LlmTaskArgs`).

use verifier::args::LlmTaskArgs;

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

/// Resolves the decoding options of `args` (already validated by the verifier), refusing
/// the options this engine does not implement, by field name.
pub fn decoding(args: &LlmTaskArgs) -> Result<Decoding> {
    let arg = |field: &str, message: String| {
        EngineError::argument(format!("generation_config.{field}"), message)
    };
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
    let g = args.generation_config.clone().unwrap_or_default();
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
        decoding(&args)
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
}
