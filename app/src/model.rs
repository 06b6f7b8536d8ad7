//! The app's logic without a browser: forms into task arguments and requests, the chain's
//! task into a verification record, events into a timeline, hashing one returned file.
//! Pure functions, tested natively and in Chromium.

use alloy::primitives::utils::{format_ether, parse_ether};
use alloy::primitives::{Address, B256, U256};
use contracts::TaskManager::{self, NodeOutcome, PaymentKind, TaskRequest, TaskState};
use contracts::history::{Entry, TaskEvent};
use contracts::requests;
use serde_json::{Map, Value, json};
use verifier::args::{ArgsError, FieldError, LlmTaskArgs, SdTaskArgs};
use verifier::report::{ChainRecord, SeatRecord};
use verifier::score::ScoreKind;

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
}

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
            seed: "0".into(),
            fee: "1".into(),
        }
    }
}

/// A task ready to pay for: the exact argument bytes, the on-chain request, the fee.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The argument bytes the relay will serve (hashed into `request.taskHash`).
    pub args: Vec<u8>,
    /// The `createTask` request.
    pub request: TaskRequest,
    /// The fee, in wei.
    pub fee: U256,
}

impl Built {
    /// `keccak256(args)`, the task hash.
    pub fn task_hash(&self) -> B256 {
        self.request.taskHash
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
pub fn build_sd(form: &SdForm) -> Result<Built, FormErrors> {
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
    let args = json!({
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
    let bytes = serde_json::to_vec_pretty(&args).unwrap_or_default();
    if let Err(e) = SdTaskArgs::parse(&bytes) {
        for error in args_errors(e) {
            if !errors.iter().any(|known| known.field == error.field) {
                errors.push(error);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let request = requests::sd_request(
        &bytes,
        form.model.trim(),
        u64::try_from(images).unwrap_or(1),
        u64::try_from(min_vram).unwrap_or(0),
    );
    Ok(Built {
        args: bytes,
        request,
        fee,
    })
}

/// Builds LLM task arguments and the request from the form, for the GPU group `gpu`
/// (name, VRAM) all three nodes must share.
pub fn build_llm(form: &LlmForm, gpu: Option<&(String, u64)>) -> Result<Built, FormErrors> {
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
    if let Err(e) = LlmTaskArgs::parse(&bytes) {
        for error in args_errors(e) {
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
    if !errors.is_empty() {
        return Err(errors);
    }
    let request = requests::llm_request(&bytes, form.model.trim(), gpu_name, *gpu_vram);
    Ok(Built {
        args: bytes,
        request,
        fee,
    })
}

/// The kind of score a task type produces.
pub fn score_kind(task_type: u8) -> ScoreKind {
    if task_type == requests::TASK_TYPE_SD {
        ScoreKind::Image
    } else {
        ScoreKind::Text
    }
}

/// What the chain says about a task, as the verification report needs it.
pub fn chain_record(task: &TaskManager::Task, threshold: u64) -> ChainRecord {
    ChainRecord {
        kind: score_kind(task.request.taskType),
        threshold: u32::try_from(threshold).unwrap_or(u32::MAX),
        agreed: (!task.result.is_empty()).then(|| task.result.to_vec()),
        seats: task
            .seats
            .iter()
            .filter(|seat| seat.node != Address::ZERO)
            .map(|seat| {
                let committed = !seat.commitment.is_zero();
                SeatRecord {
                    node: seat.node.to_string(),
                    commitment: committed.then_some(seat.commitment.0),
                    nonce: committed.then_some(seat.nonce.0),
                    revealed: (!seat.score.is_empty()).then(|| seat.score.to_vec()),
                }
            })
            .collect(),
    }
}

/// Whether a task state is final.
pub fn is_final(state: u8) -> bool {
    state == TaskState::SUCCESS || state == TaskState::ABORTED
}

/// A task state in words for people.
pub fn state_words(state: u8) -> &'static str {
    match state {
        TaskState::WAITING_SEED => "waiting for the requester's seed",
        TaskState::QUEUED => "queued: waiting for free nodes",
        TaskState::RUNNING => "running on three nodes",
        TaskState::REVEALING => "nodes are revealing their results",
        TaskState::VALIDATED => "validated: waiting for the upload",
        TaskState::SUCCESS => "done",
        TaskState::ABORTED => "aborted",
        _ => "unknown",
    }
}

/// How a timeline entry looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Neutral progress.
    Info,
    /// Something good: agreement, success, a reward.
    Good,
    /// Something bad: an error, an abort, a slash.
    Bad,
}

impl Tone {
    /// CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Good => "good",
            Self::Bad => "bad",
        }
    }
}

/// One line of a task's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineItem {
    /// What happened.
    pub title: String,
    /// Details (addresses, amounts).
    pub detail: String,
    /// The block it happened in.
    pub block: u64,
    /// Its look.
    pub tone: Tone,
}

/// `0x1234…abcd`.
pub fn short(text: &str) -> String {
    if text.len() <= 14 {
        text.to_owned()
    } else {
        format!("{}…{}", &text[..6], &text[text.len() - 4..])
    }
}

/// An amount of wei in CNX, without trailing zeros.
pub fn cnx(wei: U256) -> String {
    let text = format_ether(wei);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text.is_empty() { "0".into() } else { text }
}

/// A timeline from a task's events (chain order).
pub fn timeline(entries: &[Entry]) -> Vec<TimelineItem> {
    entries
        .iter()
        .filter_map(|entry| {
            let (title, detail, tone) = match &entry.event {
                TaskEvent::Created {
                    creator,
                    fee,
                    size,
                    task_type,
                    ..
                } => (
                    "Task created".to_owned(),
                    format!(
                        "{} task by {}, fee {} CNX, {} unit(s) of work",
                        if *task_type == requests::TASK_TYPE_SD {
                            "Image"
                        } else {
                            "Text"
                        },
                        short(&creator.to_string()),
                        cnx(*fee),
                        size
                    ),
                    Tone::Info,
                ),
                TaskEvent::Requirements { .. } => return None,
                TaskEvent::SeedRevealed { seed } => (
                    "Seed revealed".to_owned(),
                    format!("nodes drawn with seed {}", short(&seed.to_string())),
                    Tone::Info,
                ),
                TaskEvent::Queued { queue_length } => (
                    "Queued".to_owned(),
                    format!("too few free nodes; {queue_length} task(s) in the queue"),
                    Tone::Info,
                ),
                TaskEvent::NodeSelected { node, seat } => (
                    format!("Node selected for seat {seat}"),
                    node.to_string(),
                    Tone::Info,
                ),
                TaskEvent::Started { .. } => (
                    "Nodes at work".to_owned(),
                    "three nodes run the task and must commit to their results".to_owned(),
                    Tone::Info,
                ),
                TaskEvent::Committed {
                    node,
                    commitment,
                    rank,
                    ..
                } => (
                    format!("Commitment #{}", rank + 1),
                    format!(
                        "{} committed {}",
                        short(&node.to_string()),
                        short(&commitment.to_string())
                    ),
                    Tone::Info,
                ),
                TaskEvent::ErrorReported { node, code, .. } => (
                    "Error reported".to_owned(),
                    format!(
                        "{} could not run the task (code {code})",
                        short(&node.to_string())
                    ),
                    Tone::Bad,
                ),
                TaskEvent::RevealPhaseStarted { .. } => (
                    "Reveal phase".to_owned(),
                    "all commitments are in; nodes reveal their scores".to_owned(),
                    Tone::Info,
                ),
                TaskEvent::Revealed { node, score, rank } => (
                    format!("Reveal #{}", rank + 1),
                    format!(
                        "{} revealed score {}",
                        short(&node.to_string()),
                        short(&score.to_string())
                    ),
                    Tone::Info,
                ),
                TaskEvent::Validated {
                    uploader, result, ..
                } => (
                    "Validated".to_owned(),
                    format!(
                        "a majority agreed on {}; {} uploads the files",
                        short(&result.to_string()),
                        short(&uploader.to_string())
                    ),
                    Tone::Good,
                ),
                TaskEvent::Uploaded { uploader } => (
                    "Results uploaded".to_owned(),
                    format!(
                        "{} reported the upload to the relay",
                        short(&uploader.to_string())
                    ),
                    Tone::Good,
                ),
                TaskEvent::Aborted { reason } => (
                    "Aborted".to_owned(),
                    TaskManager::AbortReason::name(*reason).to_owned(),
                    Tone::Bad,
                ),
                TaskEvent::SeatClosed {
                    node,
                    outcome,
                    slashed,
                } => {
                    let bad = !slashed.is_zero();
                    (
                        if bad {
                            "Node slashed".to_owned()
                        } else {
                            "Seat closed".to_owned()
                        },
                        format!(
                            "{}: {}{}",
                            short(&node.to_string()),
                            NodeOutcome::name(*outcome),
                            if bad {
                                format!(", lost {} CNX of stake", cnx(*slashed))
                            } else {
                                String::new()
                            }
                        ),
                        if bad { Tone::Bad } else { Tone::Info },
                    )
                }
                TaskEvent::Payment { to, kind, amount } => (
                    match *kind {
                        PaymentKind::REWARD => "Reward paid".to_owned(),
                        PaymentKind::REFUND => "Refund".to_owned(),
                        _ => "Penalty".to_owned(),
                    },
                    format!("{} CNX to {}", cnx(*amount), short(&to.to_string())),
                    if *kind == PaymentKind::PENALTY {
                        Tone::Bad
                    } else {
                        Tone::Good
                    },
                ),
            };
            Some(TimelineItem {
                title,
                detail,
                block: entry.block,
                tone,
            })
        })
        .collect()
}

/// One returned file, hashed (in the web worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    /// Its name.
    pub name: String,
    /// The network's fingerprint (pHash or SHA-256), or why it has none.
    pub fingerprint: Result<Vec<u8>, String>,
    /// The independent `image_hasher` similarity hash (`dg:` hex), for images.
    pub similarity: Option<String>,
    /// Microseconds it took.
    pub micros: u64,
}

/// Hashes one returned file: the network's fingerprint and, for images, the independent
/// similarity hash. The web worker runs this.
pub fn hash_file(kind: ScoreKind, name: &str, bytes: &[u8]) -> FileHash {
    let fingerprint = verifier::report::fingerprint(kind, bytes);
    let similarity = match kind {
        ScoreKind::Image => verifier::report::similarity(bytes)
            .ok()
            .map(|h| h.to_string()),
        ScoreKind::Text => None,
    };
    FileHash {
        name: name.to_owned(),
        fingerprint,
        similarity,
        micros: 0,
    }
}

/// Bits that differ between two `dg:` similarity hashes, when both parse and match in size.
pub fn similarity_distance(a: &str, b: &str) -> Option<u32> {
    let a = verifier::hex::decode(a.strip_prefix("dg:")?).ok()?;
    let b = verifier::hex::decode(b.strip_prefix("dg:")?).ok()?;
    (a.len() == b.len()).then(|| a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum())
}

/// The text of an LLM result file (`0.json`): each choice's message content.
pub fn llm_text(bytes: &[u8]) -> Result<Vec<String>, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a result file: {e}"))?;
    let choices = value
        .get("choices")
        .and_then(Value::as_array)
        .ok_or("the result file has no `choices`")?;
    Ok(choices
        .iter()
        .map(|c| {
            c.pointer("/message/content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect())
}

/// A settled SD task whose three seats revealed `scores`, each committed with its nonce,
/// agreeing on `result`: for tests and previews (the sol! structs have no `Default`).
#[doc(hidden)]
pub fn settled_task(
    scores: [&[u8]; 3],
    nonces: [[u8; 32]; 3],
    nodes: [Address; 3],
    result: &[u8],
) -> TaskManager::Task {
    use alloy::primitives::Bytes;
    let seat = |i: usize| TaskManager::Seat {
        node: nodes[i],
        status: TaskManager::SeatStatus::REVEALED,
        commitRank: i as u8,
        revealRank: i as u8,
        released: true,
        errorCode: 0,
        commitment: B256::from(verifier::commitment::commitment(scores[i], &nonces[i])),
        nonce: B256::from(nonces[i]),
        score: Bytes::copy_from_slice(scores[i]),
    };
    TaskManager::Task {
        id: U256::from(1),
        state: TaskState::SUCCESS,
        abortReason: 0,
        commits: 3,
        errors: 0,
        reveals: 3,
        uploaderSeat: 0,
        creator: Address::repeat_byte(0xcc),
        createdBlock: 1,
        createdAt: 0,
        startedAt: 0,
        deadline: 0,
        fee: U256::ZERO,
        feeLeft: U256::ZERO,
        seedCommitment: B256::ZERO,
        seed: B256::ZERO,
        gpuId: B256::ZERO,
        request: TaskRequest {
            taskType: requests::TASK_TYPE_SD,
            taskHash: B256::ZERO,
            modelIds: vec!["sd-tiny".into()],
            minVram: 0,
            gpuName: String::new(),
            gpuVram: 0,
            version: [2, 5, 0],
            size: 1,
        },
        seats: [seat(0), seat(1), seat(2)],
        result: Bytes::copy_from_slice(result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verifier::report::{Verdict, assemble};

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

    fn task_with(scores: [&[u8]; 3], result: &[u8]) -> TaskManager::Task {
        let nonces = [[1; 32], [2; 32], [3; 32]];
        let nodes = [1, 2, 3].map(Address::repeat_byte);
        settled_task(scores, nonces, nodes, result)
    }

    #[test]
    fn the_chain_record_verifies_matching_files_and_catches_a_swap() {
        let a = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let task = task_with([&a, &a, &a], &a);
        let record = chain_record(&task, 5);
        assert_eq!(record.seats.len(), 3);
        let good = assemble(&record, &[("0.png".into(), Ok(a.to_vec()))]);
        assert_eq!(good.verdict, Verdict::Verified, "{:?}", good.problems);
        let swapped = assemble(&record, &[("0.png".into(), Ok(vec![0xff; 8]))]);
        assert_eq!(swapped.verdict, Verdict::Failed);
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(cnx(parse_ether("1.5").unwrap()), "1.5");
        assert_eq!(cnx(parse_ether("2").unwrap()), "2");
        assert_eq!(
            short("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            "0x7099…79C8"
        );
        assert_eq!(similarity_distance("dg:00ff", "dg:01ff"), Some(1));
        assert_eq!(similarity_distance("dg:00", "dg:0000"), None);
        assert_eq!(
            llm_text(br#"{"choices": [{"message": {"content": "hi"}}]}"#).unwrap(),
            vec!["hi".to_owned()]
        );
    }
}
