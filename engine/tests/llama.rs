//! Llama, Qwen2 and Qwen3 end to end against `llm-cases.json` (transformers 5.24 on CPU):
//! the rendered prompt and its ids, the prefill logits, the generated tokens and the
//! `0.json` bytes, case by case.

mod common;

use std::collections::HashMap;

use common::ids;
use engine::llm::{LanguageModel, LlmFiles};
use engine::task::llm_result_file;
use verifier::args::LlmTaskArgs;

fn cases() -> Vec<serde_json::Value> {
    let cases = locate::json("llm-cases.json");
    let cases = cases
        .as_array()
        .expect("llm-cases.json holds a list")
        .clone();
    for arch in ["llama", "qwen2", "qwen3"] {
        assert!(
            cases.iter().any(|c| c["arch"] == arch),
            "llm-cases.json has no {arch} case"
        );
    }
    cases
}

fn models() -> HashMap<String, LanguageModel> {
    let device = common::device();
    ["llama-tiny", "qwen2-tiny", "qwen3-tiny"]
        .into_iter()
        .map(|name| {
            let files = LlmFiles::read_dir(&locate::reference(name)).expect("model files");
            let model = LanguageModel::load(&files, &device)
                .unwrap_or_else(|e| panic!("{name} loads: {e}"));
            (name.to_string(), model)
        })
        .collect()
}

fn is_sampled(case: &serde_json::Value) -> bool {
    case["task"]["generation_config"]["do_sample"] == true
}

/// What `label` names: the architecture, the seed and the decoding options.
fn label(case: &serde_json::Value) -> String {
    format!(
        "{} seed {} {}",
        case["arch"], case["task"]["seed"], case["task"]["generation_config"]
    )
}

/// The `0.json` the engine writes for `completion` is the case's, byte for byte.
fn assert_result_file(
    args: &LlmTaskArgs,
    completion: &engine::llm::Completion,
    case: &serde_json::Value,
    what: &str,
) {
    let file = llm_result_file(&args.model, completion);
    assert_eq!(
        String::from_utf8(file).unwrap(),
        case["result_json"].as_str().unwrap(),
        "{what}: 0.json bytes"
    );
}

#[test]
fn prompts_and_token_ids_match_transformers() {
    let models = models();
    for case in cases() {
        let args = LlmTaskArgs::parse(case["task"].to_string().as_bytes()).unwrap();
        let model = &models[&args.model];
        let prompt = model.render_prompt(&args.messages).unwrap();
        assert_eq!(
            prompt,
            case["rendered_prompt"].as_str().unwrap(),
            "{}",
            label(&case)
        );
        let expected = ids(&case["input_ids"]);
        assert_eq!(
            model.tokenizer().encode(&prompt).unwrap(),
            expected,
            "{prompt:?}"
        );
        assert_eq!(model.tokenizer().decode(&expected, false), prompt);
    }
}

#[test]
fn greedy_generation_matches_transformers_token_for_token() {
    let models = models();
    let mut checked = 0;
    for case in cases().into_iter().filter(|c| !is_sampled(c)) {
        let what = label(&case);
        let args = LlmTaskArgs::parse(case["task"].to_string().as_bytes()).unwrap();
        let completion =
            pollster::block_on(models[&args.model].generate(&args, |_, _| {})).unwrap();
        assert_eq!(completion.prompt_ids, ids(&case["input_ids"]), "{what}");
        for (i, (got, want)) in completion
            .prompt_logits
            .iter()
            .zip(case["last_logits_first8"].as_array().unwrap())
            .enumerate()
        {
            let want = want.as_f64().unwrap();
            assert!(
                (f64::from(*got) - want).abs() < 1e-4,
                "{what}: logit {i}: got {got}, transformers {want}"
            );
        }
        assert_eq!(completion.new_ids, ids(&case["new_ids"]), "{what}");
        // The cases' `text` is the reply as the result file holds it: stripped.
        assert_eq!(
            verifier::llm::response_content(&completion.text),
            case["text"].as_str().unwrap(),
            "{what}"
        );
        assert_result_file(&args, &completion, &case, &what);
        checked += 1;
    }
    assert_eq!(checked, 18, "six greedy cases per architecture");
}

#[test]
fn seeded_sampling_matches_torchs_generator_token_for_token() {
    let models = models();
    let mut checked = 0;
    for case in cases().into_iter().filter(is_sampled) {
        let what = label(&case);
        let args = LlmTaskArgs::parse(case["task"].to_string().as_bytes()).unwrap();
        let completion =
            pollster::block_on(models[&args.model].generate(&args, |_, _| {})).unwrap();
        assert_eq!(completion.new_ids, ids(&case["new_ids"]), "{what}");
        assert_result_file(&args, &completion, &case, &what);
        checked += 1;
    }
    assert_eq!(checked, 3, "one sampled case per architecture");
}

/// `qwen2-tiny` rewritten as a sharded checkpoint in a fresh folder: its tensors split over
/// two files and `model.safetensors.index.json`, the other files copied.
fn sharded_copy(index_extra: &[(&str, &str)]) -> std::path::PathBuf {
    use safetensors::SafeTensors;
    let source = locate::reference("qwen2-tiny");
    let dir = std::env::temp_dir().join(format!(
        "tessera-sharded-{}-{}",
        std::process::id(),
        index_extra.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "model.safetensors" {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let bytes = std::fs::read(source.join("model.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
    names.sort();
    let mut map = serde_json::Map::new();
    for (shard, part) in [(1, 0), (2, 1)] {
        let shard_name = format!("model-0000{shard}-of-00002.safetensors");
        let mine: Vec<(String, safetensors::tensor::TensorView<'_>)> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == part)
            .map(|(_, name)| (name.clone(), file.tensor(name).unwrap()))
            .collect();
        for (name, _) in &mine {
            map.insert(name.clone(), shard_name.clone().into());
        }
        let data = safetensors::serialize(mine, None).unwrap();
        std::fs::write(dir.join(&shard_name), data).unwrap();
    }
    for (tensor, shard) in index_extra {
        map.insert((*tensor).into(), (*shard).into());
    }
    let index = serde_json::json!({"metadata": {"total_size": bytes.len()}, "weight_map": map});
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn a_sharded_checkpoint_generates_what_the_single_file_does() {
    let device = common::device();
    let dir = sharded_copy(&[]);
    let files = LlmFiles::read_dir(&dir).unwrap();
    assert_eq!(files.weights.len(), 2, "two shards read");
    let sharded = LanguageModel::load(&files, &device).unwrap();
    let single = &models()["qwen2-tiny"];
    let case = cases()
        .into_iter()
        .find(|c| c["arch"] == "qwen2" && !is_sampled(c))
        .unwrap();
    let args = LlmTaskArgs::parse(case["task"].to_string().as_bytes()).unwrap();
    let a = pollster::block_on(sharded.generate(&args, |_, _| {})).unwrap();
    let b = pollster::block_on(single.generate(&args, |_, _| {})).unwrap();
    assert_eq!(a.new_ids, b.new_ids);
    assert_eq!(a.new_ids, ids(&case["new_ids"]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_index_naming_a_missing_tensor_or_shard_is_refused_by_name() {
    let device = common::device();
    let dir = sharded_copy(&[(
        "model.layers.9.mlp.up_proj.weight",
        "model-00001-of-00002.safetensors",
    )]);
    let error = LanguageModel::load(&LlmFiles::read_dir(&dir).unwrap(), &device)
        .err()
        .expect("a tensor the shards lack is refused")
        .to_string();
    assert!(
        error.contains("model.layers.9.mlp.up_proj.weight"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let dir = sharded_copy(&[("x", "model-00003-of-00002.safetensors"), ("y", "z")]);
    let error = LlmFiles::read_dir(&dir)
        .err()
        .expect("a shard that is not a .safetensors file is refused")
        .to_string();
    assert!(error.contains("\"z\""), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Real Qwen2 and Llama 3 `tokenizer.json` files split text with a `Split` regex (digits one
/// or three at a time, case-insensitive contractions, newline runs) and Qwen2 normalizes to
/// NFC: the tiny references use GPT-2's `ByteLevel` regex, so this checks the real
/// pre-tokenizers on the tiny vocabularies against HF tokenizers' own output.
#[test]
fn real_qwen2_and_llama3_pre_tokenizers_split_as_hf_tokenizers_does() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/real_pre_tokenizers.json");
    let data: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let texts: Vec<&str> = data["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for (name, spec) in data["pre_tokenizers"].as_object().unwrap() {
        let dir = locate::reference(spec["model"].as_str().unwrap());
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).unwrap()).unwrap();
        json["pre_tokenizer"] = serde_json::json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": spec["regex"]}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
        ]});
        json["normalizer"] = if spec["nfc"] == true {
            serde_json::json!({"type": "NFC"})
        } else {
            serde_json::Value::Null
        };
        let tokenizer =
            engine::tokenizer::ByteLevelTokenizer::from_tokenizer_json(&json.to_string())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (text, expected) in texts.iter().zip(data["ids"][name].as_array().unwrap()) {
            assert_eq!(
                tokenizer.encode(text).unwrap(),
                ids(expected),
                "{name}: {text:?}"
            );
        }
    }
    // What the engine cannot split the same way is refused, not approximated.
    let dir = locate::reference("qwen2-tiny");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).unwrap()).unwrap();
    json["pre_tokenizer"] = serde_json::json!({"type": "Metaspace", "replacement": "▁"});
    let error = engine::tokenizer::ByteLevelTokenizer::from_tokenizer_json(&json.to_string())
        .err()
        .expect("a Metaspace pre-tokenizer is refused")
        .to_string();
    assert!(error.contains("Metaspace"), "{error}");
}
