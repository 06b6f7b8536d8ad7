//! The network hash in a real browser (wasm32, headless Chromium via
//! `wasm-bindgen-test-runner`): the same bits as natively, for every decoder path the
//! network's images and the common alternatives take.
#![cfg(target_arch = "wasm32")]

use verifier::phash::{PHash, phash_bytes, phash_rgba8};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// `(file, bytes, expected hash)` from `shared/vectors/phash/expected.tsv`.
const VECTORS: &[(&str, &[u8], u64)] = &[
    (
        "photo_astronaut.rgb.png",
        include_bytes!("../../../shared/vectors/phash/images/photo_astronaut.rgb.png"),
        0xc2924c5532bddfc8,
    ),
    (
        "photo_coffee_768x512.rgb.png",
        include_bytes!("../../../shared/vectors/phash/images/photo_coffee_768x512.rgb.png"),
        0xbb8320376c0f3637,
    ),
    (
        "synth1_06_checker_1024x1024.rgba.png",
        include_bytes!("../../../shared/vectors/phash/images/synth1_06_checker_1024x1024.rgba.png"),
        0x80ab55ab55ba55aa,
    ),
    (
        "synth1_07_grad_768x768.gray16.png",
        include_bytes!("../../../shared/vectors/phash/images/synth1_07_grad_768x768.gray16.png"),
        0xa252d82ca756db71,
    ),
    (
        "synth1_04_grad_512x512.palette.png",
        include_bytes!("../../../shared/vectors/phash/images/synth1_04_grad_512x512.palette.png"),
        0xa0357537913dbd0a,
    ),
    (
        "photo_camera.q75.jpg",
        include_bytes!("../../../shared/vectors/phash/images/photo_camera.q75.jpg"),
        0xbff1c1c0434e8cbc,
    ),
    (
        "synth1_10_checker_63x65.q90_444.jpg",
        include_bytes!("../../../shared/vectors/phash/images/synth1_10_checker_63x65.q90_444.jpg"),
        0xb333cdcc3232cccc,
    ),
    (
        "synth1_09_noise_64x64.rgb.png",
        include_bytes!("../../../shared/vectors/phash/images/synth1_09_noise_64x64.rgb.png"),
        0xff8e3866a03e4586,
    ),
    (
        "edge_lcgnoise512.png",
        include_bytes!("../../../shared/vectors/phash/images/edge_lcgnoise512.png"),
        0xca234cf092c65bcf,
    ),
];

#[wasm_bindgen_test]
fn vector_images_hash_as_in_go() {
    for &(name, bytes, expected) in VECTORS {
        let got = phash_bytes(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, PHash(expected), "{name}");
    }
}

#[wasm_bindgen_test]
fn canvas_pixels_hash_like_the_png() {
    // What a browser canvas gives for an opaque image: RGBA bytes, alpha 255.
    let (w, h) = (300, 200);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x ^ y) & 0xff) as u8,
                255,
            ]
        })
        .collect();
    let rgb: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    assert_eq!(
        phash_rgba8(w, h, &rgba).unwrap(),
        verifier::phash::phash_rgb8(w, h, &rgb).unwrap()
    );
}
