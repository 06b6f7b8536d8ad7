//! LoRA tasks end to end against the reference worker's images (`lora-cases/`, the
//! `lora-tiny` adapter on `sd-tiny`), the Kohya format against the peft one, and a LoRA on
//! the text encoder.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use engine::sd::lora::{Component, Lora};
use engine::sd::{RgbImage, SdFiles, Settings, StableDiffusion};
use engine::task::{Task, TaskModels};
use engine::weights::{Deltas, SafetensorsFile};
use safetensors::{Dtype, tensor::TensorView};
use verifier::args::SdTaskArgs;
use verifier::phash::PHash;

const CASES: [&str; 2] = ["lora_full", "lora_half"];

fn case(name: &str) -> std::path::PathBuf {
    locate::reference("lora-cases").join(name)
}

/// The one image `task.json` of `case` makes through the task API, with its score.
fn run_task(json: &[u8], lora: Option<&Path>) -> engine::Result<(RgbImage, PHash)> {
    let task = Task::parse(json)?;
    let base = locate::reference("sd-tiny");
    let models = TaskModels {
        base: base.as_path(),
        lora,
    };
    let outcome = pollster::block_on(engine::task::run(&task, models, &common::device(), |_| {}))?;
    assert_eq!(outcome.files.len(), 1);
    let (name, png) = &outcome.files[0];
    assert_eq!(name, "0.png");
    let hash = PHash(u64::from_be_bytes(outcome.score[..8].try_into().unwrap()));
    Ok((common::decode_png(png, name), hash))
}

#[test]
fn lora_tasks_match_the_reference_worker() {
    let lora_dir = locate::reference("lora-tiny");
    let mut images = BTreeMap::new();
    let mut report = Vec::new();
    for name in CASES {
        let dir = case(name);
        let json = std::fs::read(dir.join("task.json")).unwrap();
        let task = Task::parse(&json).unwrap();
        assert_eq!(task.model_names(), ["sd-tiny", "lora-tiny"]);
        let (image, hash) = run_task(&json, Some(&lora_dir)).unwrap();
        let reference = common::decode_png(&std::fs::read(dir.join("0.png")).unwrap(), name);
        let expected: PHash = std::fs::read_to_string(dir.join("phash.tsv"))
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("0.png\t"))
            .expect("phash.tsv has 0.png")
            .parse()
            .unwrap();
        let bits = hash.distance(expected);
        let mae = common::mean_abs_diff(&image, &reference);
        report.push(format!(
            "{name}: pHash {hash} ({bits} bits off {expected}), mean abs diff {mae:.4}"
        ));
        assert!(bits <= 2, "{}", report.last().unwrap());
        assert!(mae < 1.0, "{}", report.last().unwrap());
        images.insert(name, (image, reference));
    }

    // The same task without its LoRA: the base model's image.
    let mut args: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case("lora_full").join("task.json")).unwrap())
            .unwrap();
    args.as_object_mut().unwrap().remove("lora");
    let (base, base_hash) = run_task(&serde_json::to_vec(&args).unwrap(), None).unwrap();
    let (full, full_ref) = &images["lora_full"];
    let (half, half_ref) = &images["lora_half"];
    let pairs = [
        ("lora_full vs lora_half", common::mean_abs_diff(full, half)),
        ("lora_full vs base", common::mean_abs_diff(full, &base)),
        ("lora_half vs base", common::mean_abs_diff(half, &base)),
        (
            "reference lora_full vs lora_half",
            common::mean_abs_diff(full_ref, half_ref),
        ),
    ];
    for (what, mae) in pairs {
        report.push(format!("{what}: mean abs diff {mae:.4}"));
    }
    report.push(format!("base: pHash {base_hash}"));
    eprintln!("{}", report.join("\n"));
    // The LoRA and its strength change the image: a LoRA ignored, or run at full strength
    // whatever the weight, fails here.
    for (what, mae) in &pairs[..3] {
        assert!(*mae > 0.5, "{what}: {mae}");
    }
    // Each of ours is nearer its own reference than the other case's.
    assert!(common::mean_abs_diff(full, full_ref) < common::mean_abs_diff(full, half_ref));
    assert!(common::mean_abs_diff(half, half_ref) < common::mean_abs_diff(half, full_ref));
}

#[test]
fn a_lora_task_needs_the_lora_files_and_a_pipeline_loaded_with_it() {
    let json = std::fs::read(case("lora_full").join("task.json")).unwrap();
    let error = run_task(&json, None).unwrap_err().to_string();
    assert!(error.contains("lora-tiny"), "{error}");

    // Settings naming a LoRA on a pipeline loaded without it are refused, not ignored.
    let args = SdTaskArgs::parse(&json).unwrap();
    let settings = Settings::from_args(&args).unwrap();
    let lora = settings.lora.as_ref().unwrap();
    assert_eq!(
        (
            lora.model.as_str(),
            lora.weight_file.as_str(),
            lora.strength
        ),
        ("lora-tiny", "pytorch_lora_weights.safetensors", 1.0)
    );
    let files = SdFiles::read_dir(&locate::reference("sd-tiny"), None).unwrap();
    let pipeline = StableDiffusion::load(&files, &common::device()).unwrap();
    let error = pollster::block_on(pipeline.generate(&settings, |_| {}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("lora"), "{error}");

    let mut bad: serde_json::Value = serde_json::from_slice(&json).unwrap();
    bad["lora"]["weight_file_name"] = "../sd-tiny/unet/diffusion_pytorch_model.safetensors".into();
    let error = run_task(
        &serde_json::to_vec(&bad).unwrap(),
        Some(&locate::reference("lora-tiny")),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("lora.weight_file_name"), "{error}");
}

/// A safetensors file of f32 tensors.
fn write_safetensors(tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = tensors.iter().zip(&bytes).map(|((name, shape, _), bytes)| {
        (
            name.clone(),
            TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap(),
        )
    });
    safetensors::serialize(views, None).unwrap()
}

/// The peft tensors of `lora-tiny` rewritten as a Kohya LoRA: `lora_down` = `lora_A`,
/// `lora_up` = `lora_B`, `alpha` = `alpha_over_rank` * rank.
fn kohya_from_peft(peft: &SafetensorsFile<'_>, alpha_over_rank: f32) -> Vec<u8> {
    let mut tensors = Vec::new();
    let mut names: Vec<&str> = peft.names().collect();
    names.sort_unstable();
    for name in names {
        let (values, shape) = peft.read_f32(name).unwrap();
        let module = name.strip_prefix("unet.").expect("a UNet LoRA");
        let (module, kind) = if let Some(m) = module.strip_suffix(".lora_A.weight") {
            tensors.push((
                format!("lora_unet_{}.alpha", m.replace('.', "_")),
                vec![],
                vec![alpha_over_rank * shape[0] as f32],
            ));
            (m, "lora_down.weight")
        } else {
            (
                module.strip_suffix(".lora_B.weight").unwrap(),
                "lora_up.weight",
            )
        };
        tensors.push((
            format!("lora_unet_{}.{kind}", module.replace('.', "_")),
            shape,
            values,
        ));
    }
    write_safetensors(&tensors)
}

fn delta_values(merge: &dyn Deltas, name: &str, shape: &[usize]) -> Vec<f32> {
    merge
        .delta(name, shape, &common::device())
        .unwrap()
        .unwrap_or_else(|| panic!("no delta for {name}"))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

#[test]
fn kohya_loras_merge_and_render_like_their_peft_originals() {
    let peft_path = locate::reference("lora-tiny").join("pytorch_lora_weights.safetensors");
    let peft = Lora::read(
        peft_path.parent().unwrap(),
        "pytorch_lora_weights.safetensors",
    )
    .unwrap();
    let peft_file =
        SafetensorsFile::from_bytes("peft", std::fs::read(&peft_path).unwrap()).unwrap();
    let files = SdFiles::read_dir(&locate::reference("sd-tiny"), None).unwrap();
    let unet = SafetensorsFile::from_slice("unet", &files.unet_weights).unwrap();

    // alpha = rank (scale 1) at strength 1, and alpha = rank / 2 (scale 0.5) at strength 1
    // against peft at strength 0.5: the same merged weights, bit for bit.
    for (alpha_over_rank, peft_strength) in [(1.0, 1.0), (0.5, 0.5)] {
        let kohya =
            Lora::from_bytes("kohya", kohya_from_peft(&peft_file, alpha_over_rank)).unwrap();
        assert_eq!(kohya.adapters(Component::Unet), 48);
        let a = peft.merge(Component::Unet, &unet, peft_strength).unwrap();
        let b = kohya.merge(Component::Unet, &unet, 1.0).unwrap();
        let targets: Vec<&str> = a.targets().collect();
        assert_eq!(targets, b.targets().collect::<Vec<_>>());
        assert_eq!(targets.len(), 48);
        for name in targets {
            let shape = unet.shape(name).unwrap();
            assert_eq!(
                delta_values(&a, name, shape),
                delta_values(&b, name, shape),
                "{name}"
            );
        }
    }

    // And the same image.
    let device = common::device();
    let args =
        SdTaskArgs::parse(&std::fs::read(case("lora_full").join("task.json")).unwrap()).unwrap();
    let settings = Settings::from_args(&args).unwrap();
    let kohya = Lora::from_bytes("kohya", kohya_from_peft(&peft_file, 1.0)).unwrap();
    let image = |lora: &Lora<'_>| {
        let pipeline = StableDiffusion::load_with_lora(&files, lora, 1.0, &device).unwrap();
        pollster::block_on(pipeline.generate(&settings, |_| {})).unwrap()
    };
    assert_eq!(image(&peft), image(&kohya));
}

/// Deterministic values in about [-scale, scale].
fn pseudo_random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

#[test]
fn text_encoder_loras_change_the_conditioning_in_either_format() {
    let device = common::device();
    let files = SdFiles::read_dir(&locate::reference("sd-tiny"), None).unwrap();
    let encoder = SafetensorsFile::from_slice("text_encoder", &files.text_encoder_weights).unwrap();
    let rank = 2;
    let (mut peft, mut kohya) = (Vec::new(), Vec::new());
    let mut seed = 1;
    for layer in 0..5 {
        for module in [
            "self_attn.q_proj",
            "self_attn.k_proj",
            "self_attn.v_proj",
            "self_attn.out_proj",
            "mlp.fc1",
            "mlp.fc2",
        ] {
            let path = format!("encoder.layers.{layer}.{module}");
            let shape = encoder.shape(&format!("{path}.weight")).unwrap().to_vec();
            let (out, input) = (shape[0], shape[1]);
            let down = pseudo_random(rank * input, seed, 0.5);
            let up = pseudo_random(out * rank, seed + 1, 0.5);
            seed += 2;
            // peft names the module under `text_model.`, as transformers' CLIPTextModel
            // has it; sd-tiny's checkpoint has no such prefix.
            let peft_name = format!("text_encoder.text_model.{path}");
            peft.push((
                format!("{peft_name}.lora_A.weight"),
                vec![rank, input],
                down.clone(),
            ));
            peft.push((
                format!("{peft_name}.lora_B.weight"),
                vec![out, rank],
                up.clone(),
            ));
            let key = format!("lora_te_text_model_{}", path.replace('.', "_"));
            kohya.push((format!("{key}.lora_down.weight"), vec![rank, input], down));
            kohya.push((format!("{key}.lora_up.weight"), vec![out, rank], up));
            kohya.push((format!("{key}.alpha"), vec![], vec![rank as f32]));
        }
    }
    let peft = Lora::from_bytes("peft-te", write_safetensors(&peft)).unwrap();
    let kohya = Lora::from_bytes("kohya-te", write_safetensors(&kohya)).unwrap();
    let a = peft.merge(Component::TextEncoder, &encoder, 0.8).unwrap();
    let b = kohya.merge(Component::TextEncoder, &encoder, 0.8).unwrap();
    assert_eq!(a.targets().count(), 30);
    let shapes: HashMap<&str, Vec<usize>> = a
        .targets()
        .map(|name| (name, encoder.shape(name).unwrap().to_vec()))
        .collect();
    for (name, shape) in &shapes {
        assert_eq!(delta_values(&a, name, shape), delta_values(&b, name, shape));
    }

    let conditioning = |pipeline: &StableDiffusion| {
        let positive = pipeline
            .conditioning("oil painting of castle", "")
            .unwrap()
            .positive;
        positive.into_data().try_to_vec::<f32>().unwrap()
    };
    let base = conditioning(&StableDiffusion::load(&files, &device).unwrap());
    let with_peft =
        conditioning(&StableDiffusion::load_with_lora(&files, &peft, 0.8, &device).unwrap());
    let with_kohya =
        conditioning(&StableDiffusion::load_with_lora(&files, &kohya, 0.8, &device).unwrap());
    assert_eq!(with_peft, with_kohya);
    let change = base
        .iter()
        .zip(&with_peft)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        change > 1e-3,
        "the text encoder LoRA changed nothing ({change})"
    );
}
