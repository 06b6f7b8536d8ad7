//! The perceptual hash as wasm in headless Chromium, beside the native criterion figures:
//! `cargo xtask bench` runs it through `wasm-bindgen-test-runner`.
//!
//! Same inputs as the native benchmark: 512x512 and 1024x1024 RGB PNGs, decode + hash and
//! hash of already-decoded pixels. It runs in a dedicated worker, as the app hashes images:
//! a long benchmark on the page's main thread would also stall the driver's polling.

#[cfg(target_arch = "wasm32")]
mod browser {
    use verifier::phash::{self, Limits};
    use wasm_bindgen_test::{Criterion, wasm_bindgen_bench};

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

    const PNG_512: &[u8] =
        include_bytes!("../../../shared/vectors/phash/images/photo_astronaut_512x512.rgb.png");
    const PNG_1024: &[u8] =
        include_bytes!("../../../shared/vectors/phash/images/photo_astronaut_1024x1024.rgb.png");

    fn bench_size(c: &mut Criterion, name: &str, png: &'static [u8]) {
        c.bench_function(&format!("wasm decode+hash {name} RGB PNG"), |b| {
            b.iter(|| phash::phash_bytes(std::hint::black_box(png)).expect("vector hashes"))
        });
        let image = phash::decode(png, &Limits::default()).expect("vector decodes");
        c.bench_function(&format!("wasm hash {name} decoded pixels"), |b| {
            b.iter(|| phash::phash_image(std::hint::black_box(&image)))
        });
    }

    #[wasm_bindgen_bench]
    fn phash_512(c: &mut Criterion) {
        bench_size(c, "512x512", PNG_512);
    }

    #[wasm_bindgen_bench]
    fn phash_1024(c: &mut Criterion) {
        bench_size(c, "1024x1024", PNG_1024);
    }
}

fn main() {}
