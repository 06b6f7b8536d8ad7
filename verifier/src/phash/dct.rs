//! goimagehash's hash stage: gray conversion, the 64x64 DCT, the 8x8 low-frequency block,
//! its median and the bits.

use super::image::{GoImage, ycbcr_to_rgba16};
use super::resize::{Resized, SIDE};

/// Go's `transforms.pixel2Gray` on `color.RGBA()` output. Note the `b/256`: goimagehash
/// divides blue by 256 where red and green are divided by 257 (the same for 8-bit sources,
/// not for 16-bit ones). Rust never fuses the multiply-adds, as Go on amd64 does not.
pub(crate) fn pixel_to_gray([r, g, b, _]: [u32; 4]) -> f64 {
    0.299 * f64::from(r / 257) + 0.587 * f64::from(g / 257) + 0.114 * f64::from(b / 256)
}

/// The gray values of an image that is already 64x64 (nfnt returns it unchanged), row-major:
/// goimagehash's `Rgb2GrayFast`, every branch of which computes
/// `pixel2Gray(At(x, y).RGBA())`.
pub(crate) fn gray_of_64(img: &GoImage) -> [f64; SIDE * SIDE] {
    debug_assert_eq!((img.width, img.height), (SIDE, SIDE));
    let mut out = [0.0; SIDE * SIDE];
    for (i, v) in out.iter_mut().enumerate() {
        *v = pixel_to_gray(img.rgba16(i % SIDE, i / SIDE));
    }
    out
}

/// The gray values of nfnt's 64x64 result, through the `RGBA()` method of its Go type.
pub(crate) fn gray_of_resized(resized: &Resized) -> [f64; SIDE * SIDE] {
    let mut out = [0.0; SIDE * SIDE];
    let x101 = |v: u8| u32::from(v) * 0x101;
    match resized {
        Resized::Rgb8(p) => {
            for (v, s) in out.iter_mut().zip(p.chunks_exact(3)) {
                *v = pixel_to_gray([x101(s[0]), x101(s[1]), x101(s[2]), 0xffff]);
            }
        }
        Resized::YCbCr(p) => {
            for (v, s) in out.iter_mut().zip(p.chunks_exact(3)) {
                *v = pixel_to_gray(ycbcr_to_rgba16([s[0], s[1], s[2]]));
            }
        }
        Resized::Gray8(p) => {
            for (v, &s) in out.iter_mut().zip(p) {
                *v = pixel_to_gray([x101(s), x101(s), x101(s), 0xffff]);
            }
        }
        Resized::Gray16(p) => {
            for (v, &s) in out.iter_mut().zip(p) {
                let s = u32::from(s);
                *v = pixel_to_gray([s, s, s, 0xffff]);
            }
        }
        Resized::Rgb16(p) => {
            for (v, s) in out.iter_mut().zip(p.chunks_exact(3)) {
                *v = pixel_to_gray([u32::from(s[0]), u32::from(s[1]), u32::from(s[2]), 0xffff]);
            }
        }
    }
    out
}

/// The 64-bit hash of the 64x64 gray values: DCT, top-left 8x8, median, bits.
pub(crate) fn hash_gray_64(mut pixels: [f64; SIDE * SIDE]) -> u64 {
    dct_2d_64(&mut pixels);
    let mut low = [0.0; 64];
    for row in 0..8 {
        low[8 * row..8 * row + 8].copy_from_slice(&pixels[SIDE * row..SIDE * row + 8]);
    }
    let median = median_of_64(&low);
    low.iter()
        .enumerate()
        .filter(|&(_, &v)| v > median)
        .fold(0u64, |hash, (i, _)| hash | 1 << (63 - i))
}

/// goimagehash's `DCT2DFast64`: a 1-D DCT on each row, then on each column.
fn dct_2d_64(pixels: &mut [f64; SIDE * SIDE]) {
    for row in pixels.chunks_exact_mut(SIDE) {
        dct_1d(row);
    }
    let mut column = [0.0; SIDE];
    for x in 0..SIDE {
        for (y, v) in column.iter_mut().enumerate() {
            *v = pixels[y * SIDE + x];
        }
        dct_1d(&mut column);
        for (y, v) in column.iter().enumerate() {
            pixels[y * SIDE + x] = *v;
        }
    }
}

/// Unnormalized DCT-II in place, Byeong Gi Lee's recursion, exactly as goimagehash's
/// `forwardTransformStatic*` functions order their operations. `v.len()` is a power of two
/// from 1 to 64.
fn dct_1d(v: &mut [f64]) {
    let n = v.len();
    if n == 1 {
        return;
    }
    let half = n / 2;
    let divisors = divisors(n);
    let mut temp = [0.0; SIDE];
    let temp = &mut temp[..n];
    for i in 0..half {
        let (x, y) = (v[i], v[n - 1 - i]);
        temp[i] = x + y;
        temp[i + half] = (x - y) / f64::from_bits(divisors[i]);
    }
    let (low, high) = temp.split_at_mut(half);
    dct_1d(low);
    dct_1d(high);
    for i in 0..half - 1 {
        v[2 * i] = temp[i];
        v[2 * i + 1] = temp[i + half] + temp[i + half + 1];
    }
    v[n - 2] = temp[half - 1];
    v[n - 1] = temp[n - 1];
}

fn divisors(n: usize) -> &'static [u64] {
    match n {
        64 => &COS_64,
        32 => &COS_32,
        16 => &COS_16,
        8 => &COS_8,
        4 => &COS_4,
        2 => &COS_2,
        _ => unreachable!("the DCT only runs on lengths 64, 32, ..., 2"),
    }
}

/// goimagehash's `MedianOfPixelsFast64`: its quickselect for index 32, then
/// `s[31]/2 + s[32]/2` of the partially ordered array (which is not always the true
/// 31st-smallest value: the port keeps the exact partitioning to match).
fn median_of_64(values: &[f64; 64]) -> f64 {
    let mut s = *values;
    let k = 32;
    let (mut low, mut hi) = (0, 63);
    while low < hi {
        let pivot = low / 2 + hi / 2;
        let pivot_value = s[pivot];
        let mut store = low;
        s.swap(pivot, hi);
        for i in low..hi {
            if s[i] < pivot_value {
                s.swap(store, i);
                store += 1;
            }
        }
        s.swap(hi, store);
        if k <= store {
            hi = store;
        } else {
            low = store + 1;
        }
    }
    s[k - 1] / 2.0 + s[k] / 2.0
}

// The DCT divisors, `2 * cos((i + 0.5) * pi / N)`, as the IEEE-754 bit patterns Go's
// `math.Cos` gives (21 of them differ by one ulp from the C library's `cos`, so they are
// data, never computed here). Checked against the shared vector table by a test.
/// `2 * cos((i + 0.5) * pi / 64)` as Go's `math.Cos` computes it.
const COS_64: [u64; 32] = [
    0x3ffffd886084cd0c,
    0x3fffe9cdad01883a,
    0x3fffc26470e19fd4,
    0x3fff8764fa714ba9,
    0x3fff38f3ac64e589,
    0x3ffed740e7684963,
    0x3ffe6288ec48e112,
    0x3ffddb13b6ccc23c,
    0x3ffd4134d14dc93a,
    0x3ffc954b213411f5,
    0x3ffbd7c0ac6f9529,
    0x3ffb090a58150200,
    0x3ffa29a7a0462782,
    0x3ff93a22499263fc,
    0x3ff83b0e0bff976e,
    0x3ff72d0837efff97,
    0x3ff610b7551d2cdf,
    0x3ff4e6cabbe3e5ea,
    0x3ff3affa292050ba,
    0x3ff26d054cdd12e0,
    0x3ff11eb3541b4b24,
    0x3fef8ba4dbf89abc,
    0x3fecc66e9931c45e,
    0x3fe9ef7943a8ed89,
    0x3fe7088530fa45a1,
    0x3fe4135c94176602,
    0x3fe111d262b1f678,
    0x3fdc0b826a7e4f62,
    0x3fd5e214448b3fcb,
    0x3fcf564e56a97314,
    0x3fc2d52092ce19f8,
    0x3fa92155f7a36678,
];

/// `2 * cos((i + 0.5) * pi / 32)` as Go's `math.Cos` computes it.
const COS_32: [u64; 16] = [
    0x3ffff621e3796d7e,
    0x3fffa7557f08a517,
    0x3fff0a7efb9230d8,
    0x3ffe212104f686e5,
    0x3ffced7af43cc773,
    0x3ffb728345196e3e,
    0x3ff9b3e047f38741,
    0x3ff7b5df226aafaf,
    0x3ff57d69348ceca0,
    0x3ff30ff7fce17036,
    0x3ff073879922ffee,
    0x3feb5d1009e15cc2,
    0x3fe58f9a75ab1fdd,
    0x3fdf19f97b215f1e,
    0x3fd2c8106e8e613a,
    0x3fb91f65f10dd825,
];

/// `2 * cos((i + 0.5) * pi / 16)` as Go's `math.Cos` computes it.
const COS_16: [u64; 8] = [
    0x3fffd88da3d12525,
    0x3ffe9f4156c62dda,
    0x3ffc38b2f180bdb1,
    0x3ff8bc806b151741,
    0x3ff44cf325091dd7,
    0x3fee2b5d3806f63e,
    0x3fe294062ed59f04,
    0x3fc917a6bc29b438,
];

/// `2 * cos((i + 0.5) * pi / 8)` as Go's `math.Cos` computes it.
const COS_8: [u64; 4] = [
    0x3fff6297cff75cb0,
    0x3ffa9b66290ea1a4,
    0x3ff1c73b39ae68c9,
    0x3fd8f8b83c69a60c,
];

/// `2 * cos((i + 0.5) * pi / 4)` as Go's `math.Cos` computes it.
const COS_4: [u64; 2] = [0x3ffd906bcf328d46, 0x3fe87de2a6aea964];

/// `2 * cos((i + 0.5) * pi / 2)` as Go's `math.Cos` computes it.
const COS_2: [u64; 1] = [0x3ff6a09e667f3bcd];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_of_constant_is_dc_only() {
        let mut v = [1.0; 64];
        dct_1d(&mut v);
        assert_eq!(v[0], 64.0);
        assert!(v[1..].iter().all(|x| x.abs() < 1e-12), "{v:?}");
    }

    #[test]
    fn median_matches_sorted_middle_on_distinct_values() {
        let mut values = [0.0; 64];
        for (i, v) in values.iter_mut().enumerate() {
            *v = ((i * 37) % 64) as f64;
        }
        assert_eq!(median_of_64(&values), 31.5);
    }

    #[test]
    fn flat_image_hashes_to_top_bit() {
        assert_eq!(hash_gray_64([128.0; SIDE * SIDE]), 0x8000_0000_0000_0000);
        assert_eq!(hash_gray_64([0.0; SIDE * SIDE]), 0);
    }
}
