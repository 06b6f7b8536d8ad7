//! PNG to the image type Go's `image/png` decoder returns.
//!
//! The `png` crate gives the raw samples (no transformation), bit depth, color type, palette
//! and tRNS; the mapping follows Go's `readImagePass`:
//!
//! | PNG | Go image |
//! |---|---|
//! | gray 1/2/4/8-bit | `Gray` (samples scaled by 0xff, 0x55, 0x11) |
//! | gray 16-bit | `Gray16` |
//! | gray 1-8-bit + tRNS, gray+alpha 8-bit | `NRGBA` |
//! | gray 16-bit + tRNS, gray+alpha 16-bit | `NRGBA64` |
//! | RGB 8-bit | `RGBA` (alpha 255) |
//! | RGB 8-bit + tRNS, RGBA 8-bit | `NRGBA` |
//! | RGB 16-bit | `RGBA64` (alpha 0xffff) |
//! | RGB 16-bit + tRNS, RGBA 16-bit | `NRGBA64` |
//! | palette 1/2/4/8-bit | `Paletted`: `color.RGBA` entries, `color.NRGBA` for those tRNS covers, opaque black past the PLTE |
//!
//! Go compares 8-bit samples with the low byte of a tRNS value only, which is what the
//! `png` crate keeps of it.

use super::image::{GoImage, Pixels, nrgba8_to_rgba16};
use super::{Limits, PHashError};
use png::{BitDepth, ColorType, Transformations};

fn png_error(e: png::DecodingError) -> PHashError {
    match e {
        png::DecodingError::LimitsExceeded => PHashError::Png(
            "decoding needs more memory than the configured byte limit allows".into(),
        ),
        other => PHashError::Png(other.to_string()),
    }
}

/// Decodes a PNG into the Go image type Go's decoder would return.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<GoImage, PHashError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(Transformations::IDENTITY);
    decoder.set_limits(png::Limits {
        bytes: usize::try_from(limits.max_bytes).unwrap_or(usize::MAX),
    });
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (width, height, color_type, depth) = {
        let info = reader.info();
        (info.width, info.height, info.color_type, info.bit_depth)
    };
    // The decoded rows, plus the Go image built from them (none for RGB, which keeps the
    // rows), plus what resizing holds per pixel (the transposed first pass is small).
    let bytes_per_pixel = match (color_type, depth) {
        (ColorType::Rgb, BitDepth::Eight) => 3 + 4,
        (ColorType::Indexed | ColorType::Grayscale, BitDepth::Sixteen) => 2 + 2,
        (ColorType::Indexed | ColorType::Grayscale, _) => 1 + 4,
        (_, BitDepth::Sixteen) => 8 + 8,
        _ => 4 + 4,
    };
    limits.check(u64::from(width), u64::from(height), bytes_per_pixel)?;
    let (width, height) = (width as usize, height as usize);

    let palette_entries = reader.info().palette.as_ref().map(|p| p.len() / 3);
    if let Some(entries) = palette_entries
        && color_type == ColorType::Indexed
        && entries > 1 << depth as u8
    {
        return Err(PHashError::Png(format!(
            "PLTE has {entries} entries, more than a {}-bit image can index",
            depth as u8
        )));
    }

    let size = reader.output_buffer_size().ok_or(PHashError::TooLarge {
        width: width as u64,
        height: height as u64,
    })?;
    let mut raw = vec![0u8; size];
    let frame = reader.next_frame(&mut raw).map_err(png_error)?;
    let line = frame.line_size;
    // Go reads (and checks) every chunk up to IEND: a file cut after its pixel data is an
    // error there, so it is here.
    reader.finish().map_err(png_error)?;
    let info = reader.info();
    let trns = info.trns.as_deref();
    if (color_type, depth, trns) == (ColorType::Rgb, BitDepth::Eight, None) && line == 3 * width {
        // The network's own images: the decoded rows are already the pixels.
        raw.truncate(line * height);
        return Ok(GoImage::new(width, height, Pixels::OpaqueRgb(raw)));
    }
    let rows = raw.chunks_exact(line).take(height);

    let pixels = match (color_type, depth) {
        (ColorType::Grayscale, BitDepth::Sixteen) => {
            let samples = rows.flat_map(|r| r.chunks_exact(2).take(width)).map(be16);
            match trns {
                Some(t) if t.len() == 2 => {
                    let key = be16(t);
                    let pix = samples
                        .flat_map(|y| [y, y, y, if y == key { 0 } else { 0xffff }])
                        .collect();
                    Pixels::Nrgba64(pix)
                }
                _ => Pixels::Gray16(samples.collect()),
            }
        }
        (ColorType::Grayscale, _) => {
            let bits = depth as u8;
            let scale = gray_scale(bits);
            let samples = rows
                .flat_map(|r| unpack(r, bits, width))
                .map(|v| v.wrapping_mul(scale));
            match trns {
                // The png crate keeps the low byte of an 8-bit-or-less tRNS value.
                Some(&[low]) => {
                    let key = low.wrapping_mul(scale);
                    let pix = samples
                        .flat_map(|y| [y, y, y, if y == key { 0 } else { 0xff }])
                        .collect();
                    Pixels::Nrgba(pix)
                }
                _ => Pixels::Gray(samples.collect()),
            }
        }
        (ColorType::GrayscaleAlpha, BitDepth::Eight) => Pixels::Nrgba(
            rows.flat_map(|r| r.chunks_exact(2).take(width))
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
        ),
        (ColorType::GrayscaleAlpha, _) => Pixels::Nrgba64(
            rows.flat_map(|r| r.chunks_exact(4).take(width))
                .flat_map(|p| {
                    let (y, a) = (be16(&p[0..2]), be16(&p[2..4]));
                    [y, y, y, a]
                })
                .collect(),
        ),
        (ColorType::Rgb, BitDepth::Eight) => {
            let px = rows.flat_map(|r| r.chunks_exact(3).take(width));
            match trns {
                // The png crate keeps the low byte of each 8-bit tRNS sample.
                Some(t) if t.len() == 3 => Pixels::Nrgba(
                    px.flat_map(|p| {
                        let transparent = p == t;
                        [p[0], p[1], p[2], if transparent { 0 } else { 0xff }]
                    })
                    .collect(),
                ),
                _ => Pixels::OpaqueRgb(px.flatten().copied().collect()),
            }
        }
        (ColorType::Rgb, _) => {
            let px = rows.flat_map(|r| r.chunks_exact(6).take(width));
            let rgb = |p: &[u8]| [be16(&p[0..2]), be16(&p[2..4]), be16(&p[4..6])];
            match trns {
                Some(t) if t.len() == 6 => {
                    let key = rgb(t);
                    Pixels::Nrgba64(
                        px.flat_map(|p| {
                            let [r, g, b] = rgb(p);
                            [r, g, b, if [r, g, b] == key { 0 } else { 0xffff }]
                        })
                        .collect(),
                    )
                }
                _ => Pixels::Rgba64(
                    px.flat_map(|p| {
                        let [r, g, b] = rgb(p);
                        [r, g, b, 0xffff]
                    })
                    .collect(),
                ),
            }
        }
        (ColorType::Rgba, BitDepth::Eight) => {
            Pixels::Nrgba(rows.flat_map(|r| r[..4 * width].iter().copied()).collect())
        }
        (ColorType::Rgba, _) => Pixels::Nrgba64(
            rows.flat_map(|r| r.chunks_exact(2).take(4 * width))
                .map(be16)
                .collect(),
        ),
        (ColorType::Indexed, _) => {
            let plte = info
                .palette
                .as_deref()
                .ok_or_else(|| PHashError::Png("palette image without a PLTE chunk".into()))?;
            let indices = rows.flat_map(|r| unpack(r, depth as u8, width)).collect();
            Pixels::Paletted {
                indices,
                palette: go_palette(plte, trns.unwrap_or(&[])),
            }
        }
    };
    Ok(GoImage::new(width, height, pixels))
}

/// Go's palette: `color.RGBA` for each PLTE entry, opaque black past them, and
/// `color.NRGBA` with the tRNS alpha for the first `len(tRNS)` entries; each stored as what
/// its `RGBA()` method returns.
fn go_palette(plte: &[u8], trns: &[u8]) -> Box<[[u32; 4]; 256]> {
    let mut palette = Box::new([[0, 0, 0, 0xffff]; 256]);
    for (i, entry) in palette.iter_mut().enumerate() {
        let rgb = plte.get(3 * i..3 * i + 3).unwrap_or(&[0, 0, 0]);
        *entry = match trns.get(i) {
            Some(&alpha) => nrgba8_to_rgba16([rgb[0], rgb[1], rgb[2], alpha]),
            None => [rgb[0], rgb[1], rgb[2], 0xff].map(|c| u32::from(c) * 0x101),
        };
    }
    palette
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// The factor Go scales `bits`-bit gray samples by to reach 8 bits.
fn gray_scale(bits: u8) -> u8 {
    match bits {
        1 => 0xff,
        2 => 0x55,
        4 => 0x11,
        _ => 1,
    }
}

/// The first `width` samples of a row packed at `bits` (1, 2, 4 or 8) bits a sample.
fn unpack(row: &[u8], bits: u8, width: usize) -> impl Iterator<Item = u8> + '_ {
    let per_byte = 8 / usize::from(bits);
    let mask = ((1u16 << bits) - 1) as u8;
    (0..width).map(move |x| {
        let byte = row[x / per_byte];
        let shift = 8 - bits as usize * (x % per_byte + 1);
        (byte >> shift) & mask
    })
}
