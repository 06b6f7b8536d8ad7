//! The app in a real browser (wasm32, headless Chromium via `wasm-bindgen-test-runner`):
//! the verification logic on real images, and the components a person reads (the report's
//! verdict, the timeline, the forms' inline errors) mounted into the page.
#![cfg(target_arch = "wasm32")]

use alloy::primitives::{Address, B256, U256};
use app::forms::{SdForm, build_sd, error_for};
use app::timeline::timeline;
use app::ui::report::{FileView, ReportView};
use app::ui::timeline::Timeline;
use app::verify::{FileHash, hash_file, settled_task, similarity_distance};
use contracts::TaskManager;
use contracts::history::{Entry, TaskEvent};
use leptos::prelude::*;
use requester::record::chain_record;
use verifier::report::{Verdict, assemble};
use verifier::score::ScoreKind;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Two images a reference worker produced, with their goimagehash pHashes
/// (`shared/reference/sd-cases/dpm_default`).
const IMAGES: [(&str, &[u8], u64); 2] = [
    (
        "0.png",
        include_bytes!("../../../shared/reference/sd-cases/dpm_default/0.png"),
        0xc14a3e72c19d2eb5,
    ),
    (
        "1.png",
        include_bytes!("../../../shared/reference/sd-cases/dpm_default/1.png"),
        0xd06a3e3b689ca719,
    ),
];

fn hashes() -> Vec<FileHash> {
    IMAGES
        .iter()
        .map(|(name, bytes, _)| hash_file(ScoreKind::Image, name, bytes))
        .collect()
}

/// A task whose three seats revealed `scores` (committed with their own nonces) and
/// settled on `result`.
fn task(scores: [&[u8]; 3], result: &[u8]) -> TaskManager::Task {
    let nonces = [0x40, 0x41, 0x42].map(|b| [b; 32]);
    let nodes = [0x10, 0x11, 0x12].map(Address::repeat_byte);
    let files: Vec<&[u8]> = IMAGES.iter().map(|(_, bytes, _)| *bytes).collect();
    settled_task(scores, nonces, nodes, result, &files)
}

fn score() -> Vec<u8> {
    IMAGES
        .iter()
        .flat_map(|(_, _, hash)| hash.to_be_bytes())
        .collect()
}

#[wasm_bindgen_test]
fn the_worker_hash_is_the_network_phash_and_the_independent_measure() {
    for ((name, _, expected), hash) in IMAGES.iter().zip(hashes()) {
        assert_eq!(hash.name, *name);
        assert_eq!(
            hash.fingerprint.unwrap(),
            expected.to_be_bytes().to_vec(),
            "{name}"
        );
        let similarity = hash.similarity.expect("an image has a similarity hash");
        assert!(similarity.starts_with("dg:"), "{similarity}");
        assert_eq!(similarity_distance(&similarity, &similarity), Some(0));
    }
    let text = hash_file(ScoreKind::Text, "0.json", b"{}");
    assert_eq!(text.fingerprint.unwrap().len(), 32);
    assert_eq!(text.similarity, None);
    let broken = hash_file(ScoreKind::Image, "0.png", b"not a png");
    assert!(broken.fingerprint.is_err());
}

#[wasm_bindgen_test]
fn honest_files_verify_and_a_swapped_or_altered_image_fails() {
    let score = score();
    let chain = chain_record(
        &task([&score, &score, &score], &score),
        5,
        contracts::Appeals::AppealState::NONE,
    );
    let prints: Vec<_> = hashes().iter().map(|h| h.returned()).collect();
    let report = assemble(&chain, &prints);
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
    assert!(
        report
            .seats
            .iter()
            .all(|s| s.commitment_valid == Some(true))
    );

    // The relay swaps the two images.
    let mut swapped = vec![prints[1].clone(), prints[0].clone()];
    swapped[0].name = "0.png".to_owned();
    swapped[1].name = "1.png".to_owned();
    assert_eq!(assemble(&chain, &swapped).verdict, Verdict::Failed);

    // The relay serves another picture for image 1.
    let other = include_bytes!("../../../shared/reference/sd-cases/ddim_wide/0.png");
    let mut altered = prints.clone();
    altered[1] = hash_file(ScoreKind::Image, "1.png", other).returned();
    let report = assemble(&chain, &altered);
    assert_eq!(report.verdict, Verdict::Failed);
    assert!(
        report.problems[0].contains("relay served another file"),
        "{:?}",
        report.problems
    );
}

#[wasm_bindgen_test]
fn a_dissenting_node_within_the_threshold_still_verifies() {
    let score = score();
    let mut near = score.clone();
    near[0] ^= 0b0000_0111; // 3 bits off in image 0: agrees below a threshold of 5
    let mut far = score.clone();
    far[8] ^= 0xff; // 8 bits off in image 1
    let chain = chain_record(
        &task([&score, &near, &far], &score),
        5,
        contracts::Appeals::AppealState::NONE,
    );
    let prints: Vec<_> = hashes().iter().map(|h| h.returned()).collect();
    let report = assemble(&chain, &prints);
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
    assert_eq!(report.files[0].distances, vec![Some(0), Some(3), Some(0)]);
    assert_eq!(report.files[1].distances, vec![Some(0), Some(0), Some(8)]);
    assert_eq!(report.seats[2].agrees_with_files, Some(false));
}

/// Mounts a view into a fresh element and returns the element.
fn mount<V: IntoView + 'static>(view: impl FnOnce() -> V + 'static) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone(), view);
    handle.forget();
    host
}

fn query(host: &web_sys::HtmlElement, selector: &str) -> Option<web_sys::Element> {
    host.query_selector(selector).unwrap()
}

#[wasm_bindgen_test]
fn the_report_shows_the_verdict_each_commitment_and_each_distance() {
    let score = score();
    let mut near = score.clone();
    near[0] ^= 1;
    let chain = chain_record(
        &task([&score, &near, &score], &score),
        5,
        contracts::Appeals::AppealState::NONE,
    );
    let prints: Vec<_> = hashes().iter().map(|h| h.returned()).collect();
    let report = assemble(&chain, &prints);
    let files: Vec<FileView> = hashes()
        .into_iter()
        .map(|h| FileView {
            name: h.name,
            url: Some("data:image/png;base64,".into()),
            text: None,
            similarity: h.similarity,
            first_seen: Some(0),
            micros: 1,
        })
        .collect();
    let seats = chain.seats.clone();
    let host =
        mount(move || view! { <ReportView report=report files=files seats=seats millis=12.0/> });
    let verdict = query(&host, "[data-testid=verdict]").expect("a verdict");
    assert_eq!(
        verdict.get_attribute("data-verdict").as_deref(),
        Some("verified")
    );
    let text = host.text_content().unwrap_or_default();
    assert!(
        text.contains("0xc14a3e72c19d2eb5"),
        "the recomputed pHash is shown"
    );
    assert!(
        text.contains("1 bits < 5"),
        "the near seat's distance against the threshold: {text}"
    );
    assert!(
        text.contains("image_hasher"),
        "the independent measure is shown"
    );
    assert!(
        text.contains("bytes are the ones the uploader committed to"),
        "the bytes check is shown: {text}"
    );
    assert_eq!(
        host.query_selector_all("[data-testid=seat]")
            .unwrap()
            .length(),
        3
    );
    assert_eq!(
        host.query_selector_all("[data-commitment-valid=\"Some(true)\"]")
            .unwrap()
            .length(),
        3
    );

    // The same report over an altered image is red, and says why.
    let mut prints: Vec<_> = hashes().iter().map(|h| h.returned()).collect();
    prints[0].fingerprint = Ok(vec![0; 8]);
    let report = assemble(&chain, &prints);
    let seats = chain.seats.clone();
    let host = mount(
        move || view! { <ReportView report=report files=Vec::new() seats=seats millis=1.0/> },
    );
    let verdict = query(&host, "[data-testid=verdict]").unwrap();
    assert_eq!(
        verdict.get_attribute("data-verdict").as_deref(),
        Some("failed")
    );
    assert!(
        verdict
            .text_content()
            .unwrap_or_default()
            .contains("relay served another file")
    );
}

#[wasm_bindgen_test]
fn the_timeline_lists_events_and_phases() {
    let node = Address::repeat_byte(7);
    let entries = vec![
        Entry {
            block: 5,
            timestamp: None,
            transaction: None,
            event: TaskEvent::Created {
                creator: node,
                task_hash: B256::ZERO,
                task_type: 0,
                fee: U256::from(10u64).pow(U256::from(18)),
                size: 2,
            },
        },
        Entry {
            block: 9,
            timestamp: None,
            transaction: None,
            event: TaskEvent::SeatClosed {
                node,
                outcome: TaskManager::NodeOutcome::DISSENT,
                slashed: U256::from(10u64).pow(U256::from(19)),
            },
        },
    ];
    let items = timeline(&entries);
    let host =
        mount(move || view! { <Timeline items=items state=TaskManager::TaskState::SUCCESS/> });
    let text = host.text_content().unwrap_or_default();
    assert!(text.contains("Task created"), "{text}");
    assert!(text.contains("fee 1 CNX"), "{text}");
    assert!(text.contains("Node slashed"), "{text}");
    assert!(text.contains("lost 10 CNX of stake"), "{text}");
    assert!(query(&host, ".events li.bad").is_some());
    assert_eq!(
        host.query_selector_all(".phases li.done").unwrap().length(),
        6
    );
}

#[wasm_bindgen_test]
fn form_rules_are_verifiers_and_the_task_hash_is_the_arguments_keccak() {
    let built = build_sd(&SdForm::default()).unwrap();
    assert_eq!(
        built.task_hash(),
        B256::from(verifier::commitment::task_hash(&built.args))
    );
    let errors = build_sd(&SdForm {
        num_images: "11".into(),
        ..SdForm::default()
    })
    .unwrap_err();
    assert_eq!(
        error_for(&errors, "task_config.num_images").as_deref(),
        Some("11 is not allowed: 1..=10")
    );
}

#[wasm_bindgen_test]
fn routes_parse_and_print() {
    use app::ui::Route;
    assert_eq!(Route::parse("#/task/42"), Route::Task(U256::from(42)));
    assert_eq!(Route::parse(""), Route::Create);
    assert_eq!(Route::parse("#/network"), Route::Network);
    assert_eq!(Route::parse("#/provide"), Route::Provide);
    assert_eq!(Route::Provide.href(), "#/provide");
    assert!(matches!(Route::parse("#/task/x"), Route::NotFound(_)));
    assert_eq!(Route::Task(U256::from(7)).href(), "#/task/7");
}
