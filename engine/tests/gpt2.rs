//! GPT-2 end to end against `gpt2-cases.json` (transformers on CPU).

mod common;

use common::ids;
use engine::llm::{LanguageModel, LlmFiles};
use engine::task::llm_result_file;
use engine::tokenizer::ByteLevelTokenizer;
use verifier::args::LlmTaskArgs;

fn cases() -> Vec<serde_json::Value> {
    let cases = locate::json("gpt2-cases.json");
    let cases = cases
        .as_array()
        .expect("gpt2-cases.json holds a list")
        .clone();
    assert!(!cases.is_empty());
    cases
}

fn model() -> LanguageModel {
    let files = LlmFiles::read_dir(&locate::reference("gpt2-tiny")).expect("gpt2-tiny files");
    let device = common::device();
    LanguageModel::load(&files, &device).expect("gpt2-tiny loads")
}

#[test]
fn prompts_and_token_ids_match_transformers() {
    let model = model();
    let dir = locate::reference("gpt2-tiny");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let from_vocab = ByteLevelTokenizer::from_vocab_merges(
        &read("vocab.json"),
        &read("merges.txt"),
        &["<|endoftext|>"],
    )
    .unwrap();
    for case in cases() {
        let args = LlmTaskArgs::parse(case["task"].to_string().as_bytes()).unwrap();
        let prompt = model.render_prompt(&args.messages).unwrap();
        assert_eq!(prompt, case["rendered_prompt"].as_str().unwrap());
        let expected = ids(&case["input_ids"]);
        assert_eq!(
            model.tokenizer().encode(&prompt).unwrap(),
            expected,
            "tokenizer.json: {prompt:?}"
        );
        assert_eq!(
            from_vocab.encode(&prompt).unwrap(),
            expected,
            "vocab.json + merges.txt: {prompt:?}"
        );
        assert_eq!(model.tokenizer().decode(&expected, false), prompt);
    }
}

#[test]
fn logits_and_greedy_tokens_match_transformers() {
    let model = model();
    for case in cases() {
        let args = LlmTaskArgs::parse(case["task"].to_string().as_bytes()).unwrap();
        let completion = pollster::block_on(model.generate(&args, |_, _| {})).unwrap();
        assert_eq!(completion.prompt_ids, ids(&case["input_ids"]));
        let expected: Vec<f64> = case["last_logits_first8"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (i, (got, want)) in completion.prompt_logits.iter().zip(&expected).enumerate() {
            assert!(
                (f64::from(*got) - want).abs() < 1e-4,
                "logit {i}: got {got}, transformers {want}"
            );
        }
        assert_eq!(completion.new_ids, ids(&case["greedy_new_ids"]));
        assert_eq!(completion.text, case["greedy_text"].as_str().unwrap());
        let file = llm_result_file(&args.model, &completion);
        assert_eq!(
            String::from_utf8(file).unwrap(),
            case["result_json"].as_str().unwrap(),
            "0.json bytes"
        );
    }
}
