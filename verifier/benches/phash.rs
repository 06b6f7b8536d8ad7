//! pHash throughput: decode + hash of RGB PNGs (what a node or the relay does per image),
//! and hash of already-decoded pixels (what the browser or the engine does).
//!
//! Images come from the shared reference vectors (`TESSERA_SHARED`, or `shared/` beside
//! the workspace root).

#![allow(missing_docs)] // criterion_group! writes an undocumented `pub fn benches`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use verifier::phash::{Limits, decode, phash_bytes, phash_image, phash_rgb8};

fn vector(name: &str) -> Vec<u8> {
    let shared = std::env::var_os("TESSERA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let path = shared.join("vectors/phash/images").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (set TESSERA_SHARED)", path.display()))
}

/// The RGB samples of an RGB PNG.
fn rgb_pixels(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

fn bench(c: &mut Criterion) {
    for side in [512, 1024] {
        let file = vector(&format!("photo_astronaut_{side}x{side}.rgb.png"));
        let (w, h, rgb) = rgb_pixels(&file);
        let image = decode(&file, &Limits::default()).expect("decode");

        c.bench_function(&format!("decode+hash {side}x{side} RGB PNG"), |b| {
            b.iter(|| phash_bytes(black_box(&file)).unwrap())
        });
        c.bench_function(&format!("decode {side}x{side} RGB PNG"), |b| {
            b.iter(|| decode(black_box(&file), &Limits::default()).unwrap())
        });
        c.bench_function(&format!("hash {side}x{side} RGB pixels"), |b| {
            b.iter(|| phash_rgb8(w, h, black_box(&rgb)).unwrap())
        });
        c.bench_function(&format!("hash {side}x{side} decoded image"), |b| {
            b.iter(|| phash_image(black_box(&image)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
