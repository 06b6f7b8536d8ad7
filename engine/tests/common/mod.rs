//! What the engine's integration tests share: the backend they run on (`TESSERA_BACKEND`:
//! `cpu`, `wgpu`, `cuda`; `cpu` by default), and reading the reference files.

#![allow(dead_code, reason = "each test crate uses a part of these")]

use engine::sd::RgbImage;

pub(crate) fn device() -> engine::Device {
    let backend: engine::device::Backend = std::env::var("TESSERA_BACKEND")
        .unwrap_or_else(|_| "cpu".into())
        .parse()
        .expect("TESSERA_BACKEND names a backend");
    backend.device().expect("the backend is compiled in")
}

/// A JSON list of token ids.
pub(crate) fn ids(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .expect("a list of ids")
        .iter()
        .map(|v| v.as_u64().expect("an id") as u32)
        .collect()
}

/// An RGB 8-bit PNG's pixels; `what` names it in a failure.
pub(crate) fn decode_png(bytes: &[u8], what: &str) -> RgbImage {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{what}");
    pixels.truncate(info.buffer_size());
    RgbImage {
        width: info.width as usize,
        height: info.height as usize,
        pixels,
    }
}

/// The mean absolute difference of two images' channel values, in 0..=255.
pub(crate) fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let total: u64 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    total as f64 / a.pixels.len() as f64
}
