//! nfnt/resize (commit 83c6a99) `Resize(64, 64, img, Bilinear)`, bit for bit.
//!
//! nfnt resizes in two separable passes: the first filters every input row and writes the
//! result transposed, the second does the same to the transposed buffer. Weights are fixed
//! point (`int16(w*256)` for 8-bit images, `int32(w*65536)` for 16-bit ones), taps outside the
//! image are clamped to the edge, zero weights are skipped, and each output is the weighted sum
//! divided by the sum of the weights, truncated, then clamped.
//!
//! Which passes nfnt runs, and so the rounding, depends on the Go image type:
//!
//! | input | precision | output type |
//! |---|---|---|
//! | `RGBA`, `NRGBA` (premultiplied first, `c*a/0xff`) | 8-bit, `int32` sums | `RGBA` |
//! | `YCbCr` (resampled in YCbCr space, chroma replicated to full size) | 8-bit | `YCbCr` 4:4:4 |
//! | `Gray` | 8-bit | `Gray` |
//! | `Gray16` | 16-bit, `int64` sums | `Gray16` |
//! | `RGBA64`, `NRGBA64` (premultiplied first), any other type via `At().RGBA()` | 16-bit | `RGBA64` |
//!
//! The hash never reads the alpha of the resized image, so alpha is not resampled here.
//! Sums are exact integers (wrapping like Go's where they could overflow), so the order of
//! the additions does not matter; input rows are produced one at a time, so no converted copy
//! of a large image is ever held.

#[cfg(test)]
use super::image::nrgba8_to_rgba16;
use super::image::{GoImage, Pixels, nrgba16_to_rgba16};

/// The side of the square nfnt resizes to for the hash.
pub(crate) const SIDE: usize = 64;

/// The taps of one pass, nfnt's `createWeights8`/`createWeights16` for the bilinear kernel:
/// for each output sample, `len` consecutive taps from `start` (clamped to the image, as
/// nfnt clamps each index) with their weights. Zero weights are kept: they add nothing.
pub(crate) struct Taps {
    len: usize,
    /// Clamped input index of each tap, `len` per output.
    index: Vec<usize>,
    /// Weight of each tap, `len` per output.
    weight: Vec<i32>,
    /// Sum of each output's weights.
    sum: Vec<i64>,
}

impl Taps {
    /// Taps for `out_len` outputs from `in_len` inputs, weights scaled by `unit` (256 or
    /// 65536).
    pub(crate) fn bilinear(out_len: usize, in_len: usize, unit: f64) -> Self {
        let scale = in_len as f64 / out_len as f64;
        let len = 2 * scale.ceil().max(1.0) as usize;
        let filter_factor = (1.0 / scale).min(1.0);
        let max_index = in_len as i64 - 1;

        let mut taps = Self {
            len,
            index: Vec::with_capacity(out_len * len),
            weight: Vec::with_capacity(out_len * len),
            sum: Vec::with_capacity(out_len),
        };
        for y in 0..out_len {
            let mut interp = scale * (y as f64 + 0.5) - 0.5;
            // Go's int(float64) truncates toward zero, as `as` does.
            let start = interp as i64 - (len / 2) as i64 + 1;
            interp -= start as f64;
            let mut sum = 0;
            for i in 0..len {
                let x = (interp - i as f64) * filter_factor;
                let weight = (linear(x) * unit) as i32;
                sum += i64::from(weight);
                taps.weight.push(weight);
                taps.index
                    .push((start + i as i64).clamp(0, max_index) as usize);
            }
            taps.sum.push(sum);
        }
        taps
    }

    fn outputs(&self) -> usize {
        self.sum.len()
    }

    /// Bytes these taps take for an input of `in_len` samples (for memory limits).
    pub(crate) fn bytes_for(in_len: u64) -> u64 {
        // At most 2 * ceil(in_len / 64) taps for each of 64 outputs, 16 bytes a tap.
        (2 * in_len + 2 * SIDE as u64) * 16
    }
}

/// nfnt's bilinear kernel.
fn linear(x: f64) -> f64 {
    let x = x.abs();
    if x <= 1.0 { 1.0 - x } else { 0.0 }
}

/// One 8-bit pass. Each item of `rows` is one row of pixels of `STRIDE` samples, of which
/// the first `C` are filtered along the row; the results are written transposed, `C`
/// samples a pixel, into a `taps.outputs()` x `rows` image. `int32` sums, as nfnt's 8-bit
/// paths.
fn pass_u8<const STRIDE: usize, const C: usize>(
    rows: impl ExactSizeIterator<Item = impl AsRef<[u8]>>,
    taps: &Taps,
) -> Vec<u8> {
    let n_rows = rows.len();
    let mut out = vec![0u8; taps.outputs() * n_rows * C];
    for (r, row) in rows.enumerate() {
        let row = row.as_ref();
        let per_output = taps
            .index
            .chunks_exact(taps.len)
            .zip(taps.weight.chunks_exact(taps.len));
        for (j, (index, weight)) in per_output.enumerate() {
            let mut acc = [0i32; C];
            for (&x, &w) in index.iter().zip(weight) {
                let px = &row[x * STRIDE..x * STRIDE + C];
                for c in 0..C {
                    acc[c] = acc[c].wrapping_add(w.wrapping_mul(i32::from(px[c])));
                }
            }
            // nfnt keeps the 8-bit weight sum in int32.
            let sum = taps.sum[j] as i32;
            let o = (j * n_rows + r) * C;
            for c in 0..C {
                // Go's clampUint8(int32).
                out[o + c] = (acc[c] / sum).clamp(0, 255) as u8;
            }
        }
    }
    out
}

/// One 16-bit pass, as [`pass_u8`] with `int64` sums.
fn pass_u16<const STRIDE: usize, const C: usize>(
    rows: impl ExactSizeIterator<Item = impl AsRef<[u16]>>,
    taps: &Taps,
) -> Vec<u16> {
    let n_rows = rows.len();
    let mut out = vec![0u16; taps.outputs() * n_rows * C];
    for (r, row) in rows.enumerate() {
        let row = row.as_ref();
        let per_output = taps
            .index
            .chunks_exact(taps.len)
            .zip(taps.weight.chunks_exact(taps.len));
        for (j, (index, weight)) in per_output.enumerate() {
            let mut acc = [0i64; C];
            for (&x, &w) in index.iter().zip(weight) {
                let px = &row[x * STRIDE..x * STRIDE + C];
                for c in 0..C {
                    acc[c] = acc[c].wrapping_add(i64::from(w) * i64::from(px[c]));
                }
            }
            let o = (j * n_rows + r) * C;
            for c in 0..C {
                // Go's clampUint16(int64).
                out[o + c] = (acc[c] / taps.sum[j]).clamp(0, 65535) as u16;
            }
        }
    }
    out
}

/// An image resized to 64x64, `C` samples a pixel, row-major.
pub(crate) enum Resized {
    /// nfnt's `RGBA` result (R, G, B; alpha is not needed).
    Rgb8(Vec<u8>),
    /// nfnt's `YCbCr` 4:4:4 result (Y, Cb, Cr).
    YCbCr(Vec<u8>),
    /// nfnt's `Gray` result.
    Gray8(Vec<u8>),
    /// nfnt's `Gray16` result.
    Gray16(Vec<u16>),
    /// nfnt's `RGBA64` result (R, G, B; alpha is not needed).
    Rgb16(Vec<u16>),
}

/// Both 8-bit passes over `height` rows of `width` pixels.
fn resize_u8<const STRIDE: usize, const C: usize>(
    rows: impl ExactSizeIterator<Item = impl AsRef<[u8]>>,
    width: usize,
    height: usize,
) -> Vec<u8> {
    let temp = pass_u8::<STRIDE, C>(rows, &Taps::bilinear(SIDE, width, 256.0));
    pass_u8::<C, C>(
        temp.chunks_exact(height * C),
        &Taps::bilinear(SIDE, height, 256.0),
    )
}

/// Both 16-bit passes.
fn resize_u16<const STRIDE: usize, const C: usize>(
    rows: impl ExactSizeIterator<Item = impl AsRef<[u16]>>,
    width: usize,
    height: usize,
) -> Vec<u16> {
    let temp = pass_u16::<STRIDE, C>(rows, &Taps::bilinear(SIDE, width, 65536.0));
    pass_u16::<C, C>(
        temp.chunks_exact(height * C),
        &Taps::bilinear(SIDE, height, 65536.0),
    )
}

/// nfnt's `RGBA` path for an opaque image given as R, G, B.
pub(crate) fn resize_opaque_rgb(rgb: &[u8], width: usize, height: usize) -> Resized {
    Resized::Rgb8(resize_u8::<3, 3>(
        rgb.chunks_exact(3 * width),
        width,
        height,
    ))
}

/// nfnt's `NRGBA` path: each sample premultiplied as it is read (`c*a/0xff` in `int32`).
pub(crate) fn resize_nrgba(rgba: &[u8], width: usize, height: usize) -> Resized {
    let rows = rgba.chunks_exact(4 * width).map(|row| {
        row.chunks_exact(4)
            .flat_map(|p| {
                let a = u32::from(p[3]);
                [0, 1, 2].map(|c| (u32::from(p[c]) * a / 0xff) as u8)
            })
            .collect::<Vec<u8>>()
    });
    Resized::Rgb8(resize_u8::<3, 3>(rows, width, height))
}

/// nfnt `Resize(64, 64, img, Bilinear)` of an image that is not already 64x64 (nfnt
/// returns those unchanged).
pub(crate) fn resize_64(img: &GoImage) -> Resized {
    let (w, h) = (img.width, img.height);
    match &img.pixels {
        Pixels::Rgba(pix) => Resized::Rgb8(resize_u8::<4, 3>(pix.chunks_exact(4 * w), w, h)),
        Pixels::OpaqueRgb(pix) => resize_opaque_rgb(pix, w, h),
        Pixels::Nrgba(pix) => resize_nrgba(pix, w, h),
        Pixels::Gray(pix) => Resized::Gray8(resize_u8::<1, 1>(pix.chunks_exact(w), w, h)),
        Pixels::YCbCr(ycbcr) => {
            // imageYCbCrToYCC: Y, Cb, Cr interleaved, chroma replicated.
            let rows = (0..h).map(|y| (0..w).flat_map(|x| ycbcr.at(x, y)).collect::<Vec<u8>>());
            Resized::YCbCr(resize_u8::<3, 3>(rows, w, h))
        }
        Pixels::Gray16(pix) => Resized::Gray16(resize_u16::<1, 1>(pix.chunks_exact(w), w, h)),
        Pixels::Rgba64(pix) => Resized::Rgb16(resize_u16::<4, 3>(pix.chunks_exact(4 * w), w, h)),
        Pixels::Nrgba64(pix) => {
            // resizeNRGBA64: c*a/0xffff in int64, which is NRGBA64.RGBA().
            let rows = pix.chunks_exact(4 * w).map(|row| {
                row.chunks_exact(4)
                    .flat_map(|p| {
                        let rgba = nrgba16_to_rgba16([p[0], p[1], p[2], p[3]]);
                        [rgba[0] as u16, rgba[1] as u16, rgba[2] as u16]
                    })
                    .collect::<Vec<u16>>()
            });
            Resized::Rgb16(resize_u16::<3, 3>(rows, w, h))
        }
        Pixels::Paletted { .. } => {
            // resizeGeneric: every sample through At().RGBA().
            let rows = (0..h).map(|y| {
                (0..w)
                    .flat_map(|x| {
                        let rgba = img.rgba16(x, y);
                        [rgba[0] as u16, rgba[1] as u16, rgba[2] as u16]
                    })
                    .collect::<Vec<u16>>()
            });
            Resized::Rgb16(resize_u16::<3, 3>(rows, w, h))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// nfnt's 8-bit premultiplication (`c*a/0xff` on 8-bit values) is not Go's
    /// `NRGBA.RGBA()` (`c*0x101*a/0xff` on 16-bit ones): the 64x64 no-resize path and the
    /// resize path must each use their own.
    #[test]
    fn nfnt_premultiplication_differs_from_go_rgba() {
        // 200 at alpha 100: nfnt gives 200*100/255 = 78 (0x4e4e in 16 bits), RGBA() 0x4ebc.
        assert_eq!(200u32 * 100 / 0xff, 78);
        assert_eq!(nrgba8_to_rgba16([200, 0, 0, 100])[0], 0x4ebc);
    }

    #[test]
    fn weights_of_an_exact_downscale_are_symmetric() {
        let taps = Taps::bilinear(SIDE, 512, 256.0);
        assert_eq!(taps.len, 16);
        let first: Vec<i32> = taps.weight[16..32].to_vec();
        let mut reversed = first.clone();
        reversed.reverse();
        assert_eq!(first, reversed);
        assert_eq!(
            taps.sum[1],
            first.iter().map(|&w| i64::from(w)).sum::<i64>()
        );
    }

    #[test]
    fn upscale_of_one_pixel_repeats_it() {
        let out = resize_u8::<1, 1>([[77u8]].iter(), 1, 1);
        assert!(out.iter().all(|&v| v == 77));
    }
}
