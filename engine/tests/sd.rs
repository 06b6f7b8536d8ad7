//! Stable Diffusion 1.x and SDXL end to end against the reference worker's images
//! (`sd-cases/` on `sd-tiny`, `sdxl-cases/` on `sdxl-tiny`).

mod common;

use engine::sd::{SdFiles, Settings, StableDiffusion};
use engine::task::encode_png;
use verifier::args::SdTaskArgs;
use verifier::phash::PHash;

#[test]
fn images_match_the_reference_worker() {
    cases_match("sd-cases", "sd-tiny");
}

#[test]
fn sdxl_images_match_the_reference_worker() {
    cases_match("sdxl-cases", "sdxl-tiny");
}

/// Runs every case in `shared/reference/<cases>` on the checkpoint `model`: each image within
/// 2 pHash bits of the reference worker's and a mean pixel error under 1.
fn cases_match(cases: &str, model: &str) {
    let cases_dir = locate::reference(cases);
    let mut cases: Vec<_> = std::fs::read_dir(&cases_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("task.json").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", cases_dir.display());
    let device = common::device();
    let files = SdFiles::read_dir(&locate::reference(model), None).unwrap();
    let pipeline = StableDiffusion::load(&files, &device).unwrap();
    let mut report = Vec::new();
    let mut expected_hashes = std::collections::HashMap::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(case.join("phash.tsv"))
            .unwrap()
            .lines()
        {
            let (file, hash) = line.split_once('\t').expect("phash.tsv: file<TAB>hash");
            expected_hashes.insert((name.clone(), file.to_string()), hash.to_string());
        }
    }
    for case in &cases {
        let args = SdTaskArgs::parse(&std::fs::read(case.join("task.json")).unwrap()).unwrap();
        assert_eq!(args.base_model.name, model);
        let settings = Settings::from_args(&args).unwrap();
        let images = pollster::block_on(pipeline.generate(&settings, |_| {})).unwrap();
        assert_eq!(images.len(), settings.num_images);
        for (i, image) in images.iter().enumerate() {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let path = case.join(format!("{i}.png"));
            let reference =
                common::decode_png(&std::fs::read(&path).unwrap(), &path.display().to_string());
            let mae = common::mean_abs_diff(image, &reference);
            let png = encode_png(image).unwrap();
            let hash = verifier::phash::phash_bytes(&png).unwrap();
            let expected: PHash = expected_hashes[&(name.clone(), format!("{i}.png"))]
                .parse()
                .unwrap();
            let bits = hash.distance(expected);
            assert!(
                bits <= 2,
                "{name} {i}.png: pHash {hash} vs reference {expected}: {bits} bits"
            );
            report.push(format!(
                "{name} {i}.png: pHash {hash} ({bits} bits off), mean abs diff {mae:.4}"
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    for line in &report {
        let mae: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(mae < 1.0, "{line}");
    }
}

#[test]
fn a_clip_tokenizer_pads_with_the_pad_token_its_config_names() {
    // SDXL base's second tokenizer pads with `!`; the tiny reference pads with the end token.
    let dir = locate::reference("sdxl-tiny");
    let json = std::fs::read_to_string(dir.join("tokenizer_2/tokenizer.json")).unwrap();
    let tokenizer = || engine::tokenizer::ClipTokenizer::from_tokenizer_json(&json).unwrap();
    let plain = tokenizer().with_config(None).unwrap();
    assert_eq!(plain.pad(), plain.eos());
    let bang = tokenizer()
        .with_config(Some(r#"{"pad_token": "!"}"#))
        .unwrap();
    assert_ne!(bang.pad(), bang.eos());
    assert_eq!(bang.token(bang.pad()), Some("!"));
    let error = tokenizer()
        .with_config(Some(r#"{"pad_token": "no such token"}"#))
        .err()
        .expect("an unknown pad token is refused");
    assert!(error.to_string().contains("no such token"), "{error}");
}
