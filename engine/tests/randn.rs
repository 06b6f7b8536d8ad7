//! `TorchGenerator` against `torch.randn` outputs recorded from PyTorch (`randn.json`).

use engine::randn::TorchGenerator;

fn floats(value: &serde_json::Value) -> Vec<f32> {
    value
        .as_array()
        .expect("an array of numbers")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect()
}

#[test]
fn randn_matches_pytorch_bit_for_bit() {
    let cases = locate::json("randn.json");
    let cases = cases.as_array().expect("randn.json holds a list");
    assert!(cases.len() >= 6, "randn.json has too few cases");
    let mut vectorized = 0;
    let mut scalar = 0;
    for case in cases {
        let seed = case["seed"].as_u64().expect("seed");
        let numel: usize = case["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim") as usize)
            .product();
        if numel >= 16 {
            vectorized += 1;
        } else {
            scalar += 1;
        }
        let mut generator = TorchGenerator::manual_seed(seed);
        for call in ["first", "second"] {
            let expected = floats(&case[call]);
            assert_eq!(expected.len(), numel, "seed {seed}: {call} length");
            let got = generator.randn(numel);
            let mismatch = got
                .iter()
                .zip(&expected)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            if let Some(i) = mismatch {
                panic!(
                    "seed {seed} shape {}: {call} call differs at {i}: got {:e}, PyTorch {:e}",
                    case["shape"], got[i], expected[i]
                );
            }
        }
    }
    assert!(
        vectorized > 0 && scalar > 0,
        "both code paths must be covered"
    );
}
