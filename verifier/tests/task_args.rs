//! Task-argument parsing and validation: every format the network has used parses, unknown
//! fields survive, and every bad value is named with its field and allowed range.

#![cfg(not(target_arch = "wasm32"))] // reads reference files from disk

mod common;

use serde_json::json;
use verifier::args::{
    ArgsError, Dtype, LlmTaskArgs, SchedulerMethod, SdTaskArgs, SdVersion, TaskArgs, TaskType,
};

fn invalid_fields(err: ArgsError) -> Vec<String> {
    match err {
        ArgsError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected field errors, got {other}"),
    }
}

#[test]
fn the_field_sample_parses_with_reference_defaults() {
    // The versionless 2024 format, as seen on the reference network.
    let json = br#"{"base_model": "emilianJR/chilloutmix_NiPrunedFp32Fix", "prompt": "best quality, 1girl",
        "negative_prompt": "paintings", "task_config": {"num_images": 1, "safety_checker": false, "seed": 982883}}"#;
    let args = SdTaskArgs::parse(json).unwrap();
    assert_eq!(args.version, None);
    assert_eq!(
        args.base_model.name,
        "emilianJR/chilloutmix_NiPrunedFp32Fix"
    );
    assert_eq!(args.base_model.variant, None);
    assert_eq!(args.steps(), 25, "the 2024 format defaults to 25 steps");
    assert_eq!(
        (args.task_config.image_width, args.task_config.image_height),
        (512, 512)
    );
    assert_eq!(args.task_config.cfg, 5.0);
    assert_eq!(args.scheduler_method(), SchedulerMethod::DpmSolverMultistep);
}

#[test]
fn every_reference_sd_case_parses() {
    let dir = common::shared_dir().join("reference/sd-cases");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().join("task.json");
        let bytes = std::fs::read(&path).unwrap();
        let args = SdTaskArgs::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(args.version, Some(SdVersion::V2_5_0));
        assert_eq!(args.base_model.name, "sd-tiny");
        seen += 1;
    }
    assert!(
        seen >= 5,
        "expected the reference cases in {}",
        dir.display()
    );
}

#[test]
fn versioned_args_with_scheduler_and_lora() {
    let json = json!({
        "version": "2.5.0",
        "base_model": {"name": "runwayml/stable-diffusion-v1-5", "variant": "fp16"},
        "prompt": "a cat",
        "task_config": {"steps": 30, "cfg": 7.5, "seed": 1, "num_images": 2, "image_width": 768, "image_height": 512},
        "scheduler": {"method": "EulerAncestralDiscreteScheduler", "args": {"timestep_spacing": "trailing"}},
        "lora": {"model": "some/lora", "weight": 80},
    });
    let args = SdTaskArgs::parse(json.to_string().as_bytes()).unwrap();
    assert_eq!(args.base_model.variant.as_deref(), Some("fp16"));
    assert_eq!(args.steps(), 30);
    assert_eq!(
        args.scheduler_method(),
        SchedulerMethod::EulerAncestralDiscrete
    );
    let lora = args.lora.as_ref().unwrap();
    assert_eq!(lora.weight_fraction(), 0.8);
    let overrides = args.scheduler.as_ref().unwrap().args.as_ref().unwrap();
    assert_eq!(overrides["timestep_spacing"], "trailing");
}

#[test]
fn unknown_fields_are_kept() {
    let json = json!({
        "version": "3.0.0",
        "base_model": "m",
        "prompt": "p",
        "future_field": {"x": [1, 2]},
        "task_config": {"steps": 4, "num_images": 1, "brand_new": true},
    });
    let args = SdTaskArgs::parse(json.to_string().as_bytes()).unwrap();
    assert_eq!(args.extra["future_field"], json!({"x": [1, 2]}));
    assert_eq!(args.task_config.extra["brand_new"], json!(true));
    let back = serde_json::to_value(&args).unwrap();
    assert_eq!(back["future_field"], json!({"x": [1, 2]}));
    assert_eq!(back["task_config"]["brand_new"], json!(true));
}

#[test]
fn all_range_errors_are_reported_at_once_with_field_value_and_range() {
    let json = json!({
        "version": "2.5.0",
        "base_model": {"name": ""},
        "prompt": "",
        "task_config": {"steps": 0, "seed": -1, "num_images": 11, "cfg": 20.5, "image_width": 500, "image_height": 0},
    });
    let err = SdTaskArgs::parse(json.to_string().as_bytes()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("`task_config.steps` is 0; allowed: 1..=100"),
        "{message}"
    );
    assert!(
        message.contains("`task_config.num_images` is 11; allowed: 1..=10"),
        "{message}"
    );
    assert!(
        message.contains("`task_config.seed` is -1; allowed: 0..=2147483647"),
        "{message}"
    );
    assert_eq!(
        invalid_fields(err),
        [
            "base_model.name",
            "prompt",
            "task_config.image_width",
            "task_config.image_height",
            "task_config.steps",
            "task_config.seed",
            "task_config.num_images",
            "task_config.cfg",
        ]
    );
}

#[test]
fn type_errors_name_the_field() {
    let err = SdTaskArgs::parse(
        br#"{"base_model": "m", "prompt": "p", "task_config": {"steps": "ten"}}"#,
    )
    .unwrap_err();
    assert!(matches!(err, ArgsError::Malformed(_)));
    assert!(err.to_string().contains("`task_config.steps`"), "{err}");

    let err = SdTaskArgs::parse(
        br#"{"base_model": "m", "prompt": "p", "task_config": {}, "scheduler": {"method": "PNDMScheduler"}}"#,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`scheduler.method`"), "{message}");
    assert!(
        message.contains("DPMSolverMultistepScheduler"),
        "lists the allowed methods: {message}"
    );

    let err = SdTaskArgs::parse(
        br#"{"version": "9.9.9", "base_model": "m", "prompt": "p", "task_config": {}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("`version`"), "{err}");

    let err =
        SdTaskArgs::parse(br#"{"base_model": 5, "prompt": "p", "task_config": {}}"#).unwrap_err();
    assert!(err.to_string().contains("`base_model`"), "{err}");

    let err = SdTaskArgs::parse(b"{not json").unwrap_err();
    assert!(matches!(err, ArgsError::Malformed(_)));
}

#[test]
fn llm_reference_cases_parse() {
    let path = common::shared_dir().join("reference/gpt2-cases.json");
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let bytes = case["task"].to_string();
        let args = LlmTaskArgs::parse(bytes.as_bytes()).unwrap();
        assert_eq!(args.model, "gpt2-tiny");
        assert_eq!(args.dtype, Dtype::Float32);
        assert!(args.generation().max_new_tokens.is_some());
    }
}

#[test]
fn llm_validation() {
    let json = json!({
        "model": "gpt2",
        "messages": [],
        "seed": -3,
        "quantize_bits": 5,
        "generation_config": {"max_new_tokens": 0, "do_sample": true, "temperature": 0.0, "top_p": 1.5, "stop_strings": [""]},
    });
    let err = LlmTaskArgs::parse(json.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        invalid_fields(err),
        [
            "messages",
            "seed",
            "quantize_bits",
            "generation_config.max_new_tokens",
            "generation_config.top_p",
            "generation_config.temperature",
            "generation_config.stop_strings[0]",
        ]
    );

    let err =
        LlmTaskArgs::parse(br#"{"model": "gpt2", "messages": [{"role": "bot", "content": "hi"}]}"#)
            .unwrap_err();
    assert!(err.to_string().contains("`messages[0].role`"), "{err}");
}

#[test]
fn dispatch_by_task_type() {
    let sd = br#"{"base_model": "m", "prompt": "p", "task_config": {}}"#;
    assert_eq!(
        TaskArgs::parse(TaskType::StableDiffusion, sd)
            .unwrap()
            .task_type(),
        TaskType::StableDiffusion
    );
    assert!(TaskArgs::parse(TaskType::Llm, sd).is_err());
    assert_eq!(TaskType::try_from(1).unwrap(), TaskType::Llm);
    assert!(
        TaskType::try_from(2)
            .unwrap_err()
            .to_string()
            .contains("not supported")
    );
}

#[test]
fn work_units_price_pixels_steps_images_and_tokens() {
    let sd = |config: serde_json::Value, extra: serde_json::Value| {
        let mut args = json!({"base_model": "m", "prompt": "p", "task_config": config});
        if let (Some(a), Some(e)) = (args.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        TaskArgs::parse(
            TaskType::StableDiffusion,
            &serde_json::to_vec(&args).unwrap(),
        )
        .unwrap()
        .work_units()
    };
    // One unit: one 512² image at 25 steps (the 2024 format's defaults but one image).
    assert_eq!(sd(json!({"num_images": 1}), json!({})), 1);
    assert_eq!(sd(json!({}), json!({})), 6, "six images by default");
    // Pixels in 512² blocks and steps in blocks of 25, both rounded up.
    assert_eq!(
        sd(
            json!({"num_images": 1, "image_width": 1024, "image_height": 1024}),
            json!({})
        ),
        4
    );
    assert_eq!(
        sd(json!({"num_images": 1, "image_width": 520}), json!({})),
        2
    );
    assert_eq!(sd(json!({"num_images": 1, "steps": 26}), json!({})), 2);
    assert_eq!(
        sd(
            json!({"num_images": 1, "image_width": 64, "image_height": 64, "steps": 1}),
            json!({})
        ),
        1
    );
    // The refiner's steps count too.
    assert_eq!(
        sd(
            json!({"num_images": 1, "steps": 20}),
            json!({"refiner": {"model": "r", "steps": 20}})
        ),
        2
    );
    // The largest task the caps allow: 10 images of 2048², 100 + 100 steps.
    assert_eq!(
        sd(
            json!({"num_images": 10, "image_width": 2048, "image_height": 2048, "steps": 100}),
            json!({"refiner": {"model": "r", "steps": 100}})
        ),
        10 * 16 * 8
    );

    let llm = |generation: serde_json::Value| {
        let args = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "generation_config": generation});
        TaskArgs::parse(TaskType::Llm, &serde_json::to_vec(&args).unwrap())
            .unwrap()
            .work_units()
    };
    assert_eq!(llm(json!({})), 1, "512 new tokens when absent");
    assert_eq!(llm(json!({"max_new_tokens": 512})), 1);
    assert_eq!(llm(json!({"max_new_tokens": 513})), 2);
    assert_eq!(
        llm(json!({"max_new_tokens": 100, "num_return_sequences": 3, "num_beams": 2})),
        6
    );
}
