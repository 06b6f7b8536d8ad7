//! The Create page's forms as typed, into task arguments and an [`Order`]: every value
//! checked by `verifier`'s rules, every problem naming its field.

use alloy::primitives::U256;
use alloy::primitives::utils::parse_ether;
use requester::Order;
use serde_json::{Map, Value, json};
use verifier::args::{ArgsError, FieldError, LlmTaskArgs, SdTaskArgs};

/// The schedulers the network runs, as the arguments name them.
pub const SCHEDULERS: [&str; 4] = [
    "DPMSolverMultistepScheduler",
    "EulerAncestralDiscreteScheduler",
    "LCMScheduler",
    "DDIMScheduler",
];

/// The Stable Diffusion form, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct SdForm {
    /// Base model name.
    pub model: String,
    /// Prompt, with Compel weighting.
    pub prompt: String,
    /// Negative prompt.
    pub negative_prompt: String,
    /// Width in pixels.
    pub width: String,
    /// Height in pixels.
    pub height: String,
    /// Denoising steps.
    pub steps: String,
    /// Guidance scale.
    pub cfg: String,
    /// Generator seed.
    pub seed: String,
    /// Number of images.
    pub num_images: String,
    /// Scheduler class name.
    pub scheduler: String,
    /// Fee in CNX.
    pub fee: String,
    /// Minimum GPU memory in GB.
    pub min_vram: String,
    /// The LoRA's model name (blank: none).
    pub lora_model: String,
    /// The LoRA's weight file inside its model.
    pub lora_weight_file: String,
    /// The LoRA's strength, 1 to 100 (%).
    pub lora_weight: String,
}

/// The weight file diffusers writes for a LoRA, and the form's default.
pub const LORA_WEIGHT_FILE: &str = "pytorch_lora_weights.safetensors";

impl Default for SdForm {
    /// Defaults sized for the devnet's tiny CPU model: small images, few steps.
    fn default() -> Self {
        Self {
            model: "sd-tiny".into(),
            prompt: "a lighthouse on a cliff at dawn, best quality++, (dramatic sky)1.2".into(),
            negative_prompt: "blurry, low quality---".into(),
            width: "64".into(),
            height: "64".into(),
            steps: "6".into(),
            cfg: "5".into(),
            seed: "42".into(),
            num_images: "2".into(),
            scheduler: SCHEDULERS[0].into(),
            fee: "1".into(),
            min_vram: "1".into(),
            lora_model: String::new(),
            lora_weight_file: LORA_WEIGHT_FILE.into(),
            lora_weight: "100".into(),
        }
    }
}

/// One LLM message, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageForm {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Its text.
    pub content: String,
}

/// The LLM form, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmForm {
    /// Model name.
    pub model: String,
    /// The conversation.
    pub messages: Vec<MessageForm>,
    /// Tokens to generate at most.
    pub max_new_tokens: String,
    /// Sample instead of greedy decoding.
    pub do_sample: bool,
    /// Sampling temperature (blank: the model's default).
    pub temperature: String,
    /// Nucleus mass (blank: default).
    pub top_p: String,
    /// Top-k (blank: default).
    pub top_k: String,
    /// Repetition penalty (blank: default).
    pub repetition_penalty: String,
    /// Min-p (blank: default).
    pub min_p: String,
    /// Strings that end generation, one per line (blank lines ignored).
    pub stop_strings: String,
    /// Sampling seed.
    pub seed: String,
    /// Fee in CNX.
    pub fee: String,
}

impl Default for LlmForm {
    fn default() -> Self {
        Self {
            model: "gpt2-tiny".into(),
            messages: vec![MessageForm {
                role: "user".into(),
                content: "Tell me about decentralized inference.".into(),
            }],
            max_new_tokens: "30".into(),
            do_sample: false,
            temperature: String::new(),
            top_p: String::new(),
            top_k: String::new(),
            repetition_penalty: String::new(),
            min_p: String::new(),
            stop_strings: String::new(),
            seed: "0".into(),
            fee: "1".into(),
        }
    }
}

/// Problems with a form, each naming its field (`task_config.steps`, `fee`, …).
pub type FormErrors = Vec<FieldError>;

/// The first error about `field`, in words, for display beside it.
pub fn error_for(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == field || e.field.starts_with(&format!("{field}[")))
        .map(|e| format!("{} is not allowed: {}", e.value, e.allowed))
}

fn field_error(field: &str, value: &str, allowed: &str) -> FieldError {
    FieldError {
        field: field.into(),
        value: format!("{value:?}"),
        allowed: allowed.into(),
    }
}

fn int(errors: &mut FormErrors, field: &str, text: &str) -> i64 {
    match text.trim().parse::<i64>() {
        Ok(v) => v,
        Err(_) => {
            errors.push(field_error(field, text, "a whole number"));
            0
        }
    }
}

fn float(errors: &mut FormErrors, field: &str, text: &str) -> f64 {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => v,
        _ => {
            errors.push(field_error(field, text, "a number"));
            0.0
        }
    }
}

fn fee(errors: &mut FormErrors, text: &str) -> U256 {
    match parse_ether(text.trim()) {
        Ok(v) if v > U256::ZERO => v,
        _ => {
            errors.push(field_error("fee", text, "an amount of CNX greater than 0"));
            U256::ZERO
        }
    }
}

fn args_errors(e: ArgsError) -> FormErrors {
    match e {
        ArgsError::Invalid(errors) => errors,
        other => vec![field_error(
            "args",
            &other.to_string(),
            "valid task arguments",
        )],
    }
}

/// Builds SD task arguments and the request from the form, or every problem with it
/// (parse errors first, then `verifier`'s range rules).
pub fn build_sd(form: &SdForm) -> Result<Order, FormErrors> {
    let mut errors = Vec::new();
    let width = int(&mut errors, "task_config.image_width", &form.width);
    let height = int(&mut errors, "task_config.image_height", &form.height);
    let steps = int(&mut errors, "task_config.steps", &form.steps);
    let cfg = float(&mut errors, "task_config.cfg", &form.cfg);
    let seed = int(&mut errors, "task_config.seed", &form.seed);
    let images = int(&mut errors, "task_config.num_images", &form.num_images);
    let min_vram = int(&mut errors, "min_vram", &form.min_vram);
    if min_vram < 0 {
        errors.push(field_error("min_vram", &form.min_vram, "0 or more GB"));
    }
    if !SCHEDULERS.contains(&form.scheduler.as_str()) {
        errors.push(field_error(
            "scheduler.method",
            &form.scheduler,
            &SCHEDULERS.join(", "),
        ));
    }
    let fee = fee(&mut errors, &form.fee);
    let lora = (!form.lora_model.trim().is_empty()).then(|| {
        let weight = float(&mut errors, "lora.weight", &form.lora_weight);
        json!({
            "model": form.lora_model.trim(),
            "weight_file_name": form.lora_weight_file.trim(),
            "weight": weight
        })
    });
    let mut args = json!({
        "version": "2.5.0",
        "base_model": {"name": form.model.trim(), "variant": null},
        "prompt": form.prompt,
        "negative_prompt": form.negative_prompt,
        "task_config": {
            "image_width": width,
            "image_height": height,
            "steps": steps,
            "seed": seed,
            "num_images": images,
            "safety_checker": false,
            "cfg": cfg
        },
        "scheduler": {"method": form.scheduler, "args": null}
    });
    if let Some(lora) = lora {
        args["lora"] = lora;
    }
    let bytes = serde_json::to_vec_pretty(&args).unwrap_or_default();
    let parsed = SdTaskArgs::parse(&bytes);
    if let Err(e) = &parsed {
        for error in args_errors(e.clone()) {
            if !errors.iter().any(|known| known.field == error.field) {
                errors.push(error);
            }
        }
    }
    match parsed {
        Ok(parsed) if errors.is_empty() => Ok(Order::sd(
            bytes,
            &parsed,
            u64::try_from(min_vram).unwrap_or(0),
            fee,
        )),
        _ => Err(errors),
    }
}

/// Builds LLM task arguments and the request from the form, for the GPU group `gpu`
/// (name, VRAM) all three nodes must share.
pub fn build_llm(form: &LlmForm, gpu: Option<&(String, u64)>) -> Result<Order, FormErrors> {
    let mut errors = Vec::new();
    let mut generation = Map::new();
    let max_tokens = int(
        &mut errors,
        "generation_config.max_new_tokens",
        &form.max_new_tokens,
    );
    generation.insert("max_new_tokens".into(), json!(max_tokens));
    generation.insert("do_sample".into(), json!(form.do_sample));
    for (name, text) in [
        ("temperature", &form.temperature),
        ("top_p", &form.top_p),
        ("repetition_penalty", &form.repetition_penalty),
        ("min_p", &form.min_p),
    ] {
        if !text.trim().is_empty() {
            let v = float(&mut errors, &format!("generation_config.{name}"), text);
            generation.insert(name.into(), json!(v));
        }
    }
    if !form.top_k.trim().is_empty() {
        let v = int(&mut errors, "generation_config.top_k", &form.top_k);
        generation.insert("top_k".into(), json!(v));
    }
    let stops: Vec<&str> = form
        .stop_strings
        .lines()
        .filter(|line| !line.is_empty())
        .collect();
    if !stops.is_empty() {
        generation.insert("stop_strings".into(), json!(stops));
    }
    let seed = int(&mut errors, "seed", &form.seed);
    let fee = fee(&mut errors, &form.fee);
    let messages: Vec<Value> = form
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    for (i, m) in form.messages.iter().enumerate() {
        if m.content.trim().is_empty() {
            errors.push(field_error(
                &format!("messages[{i}].content"),
                &m.content,
                "a non-empty message",
            ));
        }
    }
    let args = json!({
        "model": form.model.trim(),
        "messages": messages,
        "generation_config": generation,
        "seed": seed,
        "dtype": "auto"
    });
    let bytes = serde_json::to_vec_pretty(&args).unwrap_or_default();
    let parsed = LlmTaskArgs::parse(&bytes);
    if let Err(e) = &parsed {
        for error in args_errors(e.clone()) {
            if !errors.iter().any(|known| known.field == error.field) {
                errors.push(error);
            }
        }
    }
    let Some((gpu_name, gpu_vram)) = gpu else {
        errors.push(field_error(
            "gpu",
            "none",
            "a GPU group with nodes (no node has joined the network yet)",
        ));
        return Err(errors);
    };
    match parsed {
        Ok(parsed) if errors.is_empty() => {
            Ok(Order::llm(bytes, &parsed, (gpu_name, *gpu_vram), fee))
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;

    #[test]
    fn the_sd_form_builds_valid_arguments_and_a_matching_request() {
        let built = build_sd(&SdForm::default()).unwrap();
        assert_eq!(
            built.task_hash(),
            B256::from(verifier::commitment::task_hash(&built.args))
        );
        assert_eq!(built.request.size, 2);
        assert_eq!(built.request.modelIds, vec!["sd-tiny".to_owned()]);
        let args = SdTaskArgs::parse(&built.args).unwrap();
        assert_eq!(args.task_config.image_width, 64);
        assert_eq!(built.fee, parse_ether("1").unwrap());
    }

    #[test]
    fn a_lora_goes_into_the_arguments_only_when_named() {
        let plain = SdTaskArgs::parse(&build_sd(&SdForm::default()).unwrap().args).unwrap();
        assert!(plain.lora.is_none());
        let form = SdForm {
            lora_model: "lora-tiny".into(),
            lora_weight: "50".into(),
            ..SdForm::default()
        };
        let args = SdTaskArgs::parse(&build_sd(&form).unwrap().args).unwrap();
        let lora = args.lora.unwrap();
        assert_eq!(
            (lora.model.as_str(), lora.weight_file_name.as_str()),
            ("lora-tiny", LORA_WEIGHT_FILE)
        );
        assert_eq!(lora.weight_fraction(), 0.5);
        let form = SdForm {
            lora_model: "lora-tiny".into(),
            lora_weight: "500".into(),
            ..SdForm::default()
        };
        let errors = build_sd(&form).unwrap_err();
        assert!(error_for(&errors, "lora.weight").is_some(), "{errors:?}");
    }

    #[test]
    fn sd_form_errors_name_their_fields() {
        let form = SdForm {
            steps: "500".into(),
            width: "65".into(),
            seed: "x".into(),
            fee: "0".into(),
            prompt: String::new(),
            ..SdForm::default()
        };
        let errors = build_sd(&form).unwrap_err();
        for field in [
            "task_config.steps",
            "task_config.image_width",
            "task_config.seed",
            "fee",
            "prompt",
        ] {
            assert!(error_for(&errors, field).is_some(), "{field}: {errors:?}");
        }
        assert!(
            error_for(&errors, "task_config.steps")
                .unwrap()
                .contains("1..=100")
        );
    }

    #[test]
    fn the_llm_form_needs_a_gpu_group_and_messages() {
        let gpu = ("cpu".to_owned(), 1);
        let built = build_llm(&LlmForm::default(), Some(&gpu)).unwrap();
        assert_eq!(built.request.gpuName, "cpu");
        LlmTaskArgs::parse(&built.args).unwrap();
        assert!(build_llm(&LlmForm::default(), None).is_err());
        let mut form = LlmForm::default();
        form.messages[0].content.clear();
        form.temperature = "-1".into();
        let errors = build_llm(&form, Some(&gpu)).unwrap_err();
        assert!(error_for(&errors, "messages").is_some(), "{errors:?}");
        assert!(error_for(&errors, "generation_config.temperature").is_some());
    }

    #[test]
    fn stop_strings_go_one_per_line_and_min_p_is_checked() {
        let gpu = ("cpu".to_owned(), 1);
        let form = LlmForm {
            stop_strings: "sunset\n\n. \n".into(),
            min_p: "0.1".into(),
            ..LlmForm::default()
        };
        let built = build_llm(&form, Some(&gpu)).unwrap();
        let args = LlmTaskArgs::parse(&built.args).unwrap();
        let generation = args.generation_config.unwrap();
        assert_eq!(
            generation.stop_strings.unwrap(),
            ["sunset".to_owned(), ". ".to_owned()]
        );
        assert_eq!(generation.min_p, Some(0.1));
        let form = LlmForm {
            min_p: "2".into(),
            ..LlmForm::default()
        };
        let errors = build_llm(&form, Some(&gpu)).unwrap_err();
        assert!(
            error_for(&errors, "generation_config.min_p").is_some(),
            "{errors:?}"
        );
    }
}
