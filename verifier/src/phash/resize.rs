//! nfnt/resize (commit 83c6a99) `Resize(w, h, img, Bilinear)`, bit for bit.
//!
//! nfnt resizes in two separable passes: the first filters every input row and writes the
//! result transposed, the second does the same to the transposed buffer. Weights are fixed
//! point (`int16(w*256)` for 8-bit images, `int32(w*65536)` for 16-bit ones), taps outside the
//! image are clamped to the edge, zero weights are skipped, and each output is the weighted sum
//! divided by the sum of the weights, truncated, then clamped.
//!
//! Which pass nfnt runs, and so the rounding, depends on the Go image type:
//!
//! | input | precision | output type |
//! |---|---|---|
//! | `RGBA`, `NRGBA` (premultiplied first) | 8-bit, `int32` sums | `RGBA` |
//! | `YCbCr` (resampled in YCbCr space, chroma replicated to full size) | 8-bit | `YCbCr` 4:4:4 |
//! | `Gray` | 8-bit | `Gray` |
//! | `Gray16` | 16-bit, `int64` sums | `Gray16` |
//! | `RGBA64`, `NRGBA64` (premultiplied first), any other type via `At().RGBA()` | 16-bit | `RGBA64` |
//!
//! Go's integer arithmetic wraps; so does this port (it only matters for absurd aspect ratios).

use super::image::{GoImage, Pixels, YCbCr, nrgba16_to_rgba16};

/// The side of the square nfnt resizes to for the hash.
pub(crate) const SIDE: usize = 64;

/// The taps of one pass: for each output sample, the clamped input indices with a non-zero
/// weight, and the sum of those weights.
pub(crate) struct Taps {
    /// `ranges[j]..ranges[j + 1]` indexes `taps` for output sample `j`.
    ranges: Vec<usize>,
    taps: Vec<(usize, i32)>,
    sums: Vec<i64>,
}

impl Taps {
    /// nfnt's `createWeights8` (`unit` 256) or `createWeights16` (`unit` 65536) for the
    /// bilinear kernel, with the edge clamping of the resize loops applied to the indices.
    pub(crate) fn bilinear(out_len: usize, in_len: usize, unit: f64) -> Self {
        let scale = in_len as f64 / out_len as f64;
        let filter_length = 2 * scale.ceil().max(1.0) as usize;
        let filter_factor = (1.0 / scale).min(1.0);
        let max_index = in_len as i64 - 1;

        let mut ranges = Vec::with_capacity(out_len + 1);
        let mut taps = Vec::with_capacity(out_len * filter_length);
        let mut sums = Vec::with_capacity(out_len);
        ranges.push(0);
        for y in 0..out_len {
            let mut interp = scale * (y as f64 + 0.5) - 0.5;
            // Go's int(float64) truncates toward zero, as `as` does.
            let start = interp as i64 - (filter_length / 2) as i64 + 1;
            interp -= start as f64;
            let mut sum = 0i64;
            for i in 0..filter_length {
                let x = (interp - i as f64) * filter_factor;
                let coeff = (linear(x) * unit) as i32;
                if coeff != 0 {
                    let index = (start + i as i64).clamp(0, max_index) as usize;
                    taps.push((index, coeff));
                    sum += i64::from(coeff);
                }
            }
            sums.push(sum);
            ranges.push(taps.len());
        }
        Self { ranges, taps, sums }
    }

    fn len(&self) -> usize {
        self.sums.len()
    }

    fn of(&self, j: usize) -> (&[(usize, i32)], i64) {
        (&self.taps[self.ranges[j]..self.ranges[j + 1]], self.sums[j])
    }
}

/// nfnt's bilinear kernel.
fn linear(x: f64) -> f64 {
    let x = x.abs();
    if x <= 1.0 { 1.0 - x } else { 0.0 }
}

/// Go's `clampUint8(int32)`.
fn clamp_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Go's `clampUint16(int64)`.
fn clamp_u16(v: i64) -> u16 {
    v.clamp(0, 65535) as u16
}

/// One 8-bit pass: filters each of `rows` rows of `src` (each `taps`' input length pixels of
/// `C` samples) and writes the results transposed into a `taps.len()` x `rows` image.
pub(crate) fn pass_u8<const C: usize>(src: &[u8], rows: usize, taps: &Taps) -> Vec<u8> {
    let mut out = vec![0u8; taps.len() * rows * C];
    let row_len = src.len() / rows;
    for (r, row) in src.chunks_exact(row_len).enumerate() {
        for j in 0..taps.len() {
            let (taps, sum) = taps.of(j);
            // nfnt sums the weights in int32 for 8-bit images.
            let sum = sum as i32;
            let mut acc = [0i32; C];
            for &(x, coeff) in taps {
                let px = &row[x * C..x * C + C];
                for c in 0..C {
                    acc[c] = acc[c].wrapping_add(coeff.wrapping_mul(i32::from(px[c])));
                }
            }
            let o = (j * rows + r) * C;
            for c in 0..C {
                out[o + c] = clamp_u8(acc[c] / sum);
            }
        }
    }
    out
}

/// One 16-bit pass, as [`pass_u8`] with `int64` sums.
pub(crate) fn pass_u16<const C: usize>(src: &[u16], rows: usize, taps: &Taps) -> Vec<u16> {
    let mut out = vec![0u16; taps.len() * rows * C];
    let row_len = src.len() / rows;
    for (r, row) in src.chunks_exact(row_len).enumerate() {
        for j in 0..taps.len() {
            let (taps, sum) = taps.of(j);
            let mut acc = [0i64; C];
            for &(x, coeff) in taps {
                let px = &row[x * C..x * C + C];
                for c in 0..C {
                    acc[c] = acc[c].wrapping_add(i64::from(coeff) * i64::from(px[c]));
                }
            }
            let o = (j * rows + r) * C;
            for c in 0..C {
                out[o + c] = clamp_u16(acc[c] / sum);
            }
        }
    }
    out
}

/// Both 8-bit passes over a `width` x `height` image of `C` samples per pixel.
fn resize_u8<const C: usize>(pix: &[u8], width: usize, height: usize) -> Vec<u8> {
    let temp = pass_u8::<C>(pix, height, &Taps::bilinear(SIDE, width, 256.0));
    pass_u8::<C>(&temp, SIDE, &Taps::bilinear(SIDE, height, 256.0))
}

/// Both 16-bit passes.
fn resize_u16<const C: usize>(pix: &[u16], width: usize, height: usize) -> Vec<u16> {
    let temp = pass_u16::<C>(pix, height, &Taps::bilinear(SIDE, width, 65536.0));
    pass_u16::<C>(&temp, SIDE, &Taps::bilinear(SIDE, height, 65536.0))
}

/// nfnt `Resize(64, 64, img, Bilinear)`, including its trivial case: an image that is
/// already 64x64 comes back as it is (borrowed).
pub(crate) fn resize_64(img: &GoImage) -> std::borrow::Cow<'_, GoImage> {
    use std::borrow::Cow;
    let (w, h) = (img.width, img.height);
    if w == SIDE && h == SIDE {
        return Cow::Borrowed(img);
    }
    let pixels = match &img.pixels {
        Pixels::Rgba(pix) => Pixels::Rgba(resize_u8::<4>(pix, w, h)),
        Pixels::Nrgba(pix) => {
            // resizeNRGBA premultiplies each sample as it reads it: r*a/0xff in int32.
            let premultiplied: Vec<u8> = pix
                .chunks_exact(4)
                .flat_map(|p| {
                    let a = u32::from(p[3]);
                    let pm = |c: u8| (u32::from(c) * a / 0xff) as u8;
                    [pm(p[0]), pm(p[1]), pm(p[2]), p[3]]
                })
                .collect();
            Pixels::Rgba(resize_u8::<4>(&premultiplied, w, h))
        }
        Pixels::Gray(pix) => Pixels::Gray(resize_u8::<1>(pix, w, h)),
        Pixels::YCbCr(ycbcr) => {
            let ycc = to_ycc(ycbcr, w, h);
            let out = resize_u8::<3>(&ycc, w, h);
            Pixels::YCbCr(from_ycc_444(&out))
        }
        Pixels::Gray16(pix) => Pixels::Gray16(resize_u16::<1>(pix, w, h)),
        Pixels::Rgba64(pix) => Pixels::Rgba64(resize_u16::<4>(pix, w, h)),
        Pixels::Nrgba64(pix) => {
            // resizeNRGBA64: r*a/0xffff in int64, which is NRGBA64.RGBA().
            let premultiplied: Vec<u16> = pix
                .chunks_exact(4)
                .flat_map(|p| nrgba16_to_rgba16([p[0], p[1], p[2], p[3]]).map(|v| v as u16))
                .collect();
            Pixels::Rgba64(resize_u16::<4>(&premultiplied, w, h))
        }
        Pixels::Paletted { .. } => {
            // resizeGeneric: every sample through At().RGBA().
            let mut generic = Vec::with_capacity(w * h * 4);
            for y in 0..h {
                for x in 0..w {
                    generic.extend(img.rgba16(x, y).map(|v| v as u16));
                }
            }
            Pixels::Rgba64(resize_u16::<4>(&generic, w, h))
        }
    };
    Cow::Owned(GoImage::new(SIDE, SIDE, pixels))
}

/// nfnt's `imageYCbCrToYCC`: Y, Cb, Cr interleaved at full resolution.
fn to_ycc(img: &YCbCr, width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            out.extend(img.at(x, y));
        }
    }
    out
}

/// nfnt's `ycc.YCbCr()` for the 4:4:4 result.
fn from_ycc_444(ycc: &[u8]) -> YCbCr {
    let plane = |c: usize| ycc.iter().skip(c).step_by(3).copied().collect::<Vec<u8>>();
    YCbCr {
        y: plane(0),
        cb: plane(1),
        cr: plane(2),
        y_stride: SIDE,
        c_stride: SIDE,
        subsampling: super::image::Subsampling::S444,
    }
}
