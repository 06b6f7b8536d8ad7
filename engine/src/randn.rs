//! A bit-exact port of PyTorch's CPU generator: `torch.Generator("cpu").manual_seed(seed)`
//! followed by `torch.randn(shape, generator=g)` in `float32`.
//!
//! The reference network draws its initial latents this way, so every node, on every
//! platform and backend, must produce the very same numbers. Pure Rust, no Burn.
//!
//! What PyTorch does (ATen `CPUGeneratorImpl`, `DistributionTemplates.h`,
//! `DistributionKernels.cpp`, `avx_mathfun.h`):
//!
//! * The engine is the classic 32-bit MT19937 seeded with the low 32 bits of the seed.
//!   `random()` is one draw, `random64()` two draws combined as `(hi << 32) | lo`.
//! * A `float` uniform is `(random() & (2^24 - 1)) * 2^-24`, a `double` uniform
//!   `(random64() & (2^53 - 1)) * 2^-53`.
//! * A contiguous `float` tensor of **16 or more** values takes the vectorized path:
//!   one float uniform per value first, then Box-Muller in place over each block of 16
//!   (pairs `j`, `j + 8`), computed with the Cephes polynomials of `avx_mathfun.h`
//!   (`log256_ps`, `sincos256_ps`), not libm. The build contracts each multiply feeding an
//!   add into a fused multiply-add; those contractions are reproduced here with
//!   [`f32::mul_add`], since they change the last bits. When the size is not a multiple
//!   of 16, the last 16 values are redrawn from fresh uniforms and recomputed.
//! * Fewer than 16 values take the scalar path: `normal_distribution<double>`, a
//!   Box-Muller on two double uniforms that returns `r cos(theta)` and caches `r sin(theta)`
//!   in the generator for the next call, each value then narrowed to `float`.

/// Below this many values PyTorch takes the scalar (double, cached) path.
const VECTOR_THRESHOLD: usize = 16;

/// PyTorch's `at::mt19937`: the standard 32-bit Mersenne Twister.
#[derive(Clone)]
struct Mt19937 {
    state: [u32; Self::N],
    index: usize,
}

impl Mt19937 {
    const N: usize = 624;
    const M: usize = 397;
    const MATRIX_A: u32 = 0x9908_b0df;
    const UPPER_MASK: u32 = 0x8000_0000;
    const LOWER_MASK: u32 = 0x7fff_ffff;

    fn new(seed: u64) -> Self {
        let mut state = [0u32; Self::N];
        // `init_with_uint32`: only the low 32 bits of the seed reach the state.
        state[0] = (seed & 0xffff_ffff) as u32;
        for i in 1..Self::N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            state,
            index: Self::N,
        }
    }

    fn twist(&mut self) {
        for i in 0..Self::N {
            let y = (self.state[i] & Self::UPPER_MASK)
                | (self.state[(i + 1) % Self::N] & Self::LOWER_MASK);
            let mut v = y >> 1;
            if y & 1 != 0 {
                v ^= Self::MATRIX_A;
            }
            self.state[i] = self.state[(i + Self::M) % Self::N] ^ v;
        }
        self.index = 0;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= Self::N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        let lo = u64::from(self.next_u32());
        (hi << 32) | lo
    }
}

/// A CPU generator that reproduces PyTorch's `torch.Generator("cpu")` draws.
#[derive(Clone)]
pub struct TorchGenerator {
    engine: Mt19937,
    /// `next_double_normal_sample_`: the second Box-Muller value of the scalar path.
    next_double_normal: Option<f64>,
}

impl TorchGenerator {
    /// `torch.Generator("cpu").manual_seed(seed)`.
    pub fn manual_seed(seed: u64) -> Self {
        Self {
            engine: Mt19937::new(seed),
            next_double_normal: None,
        }
    }

    /// `torch.randn(shape, generator=self)` for a `float32` tensor of `numel` values, in
    /// row-major order. Advances the generator exactly as PyTorch does.
    pub fn randn(&mut self, numel: usize) -> Vec<f32> {
        if numel >= VECTOR_THRESHOLD {
            self.randn_vectorized(numel)
        } else {
            (0..numel).map(|_| self.normal_f64() as f32).collect()
        }
    }

    /// `uniform_real_distribution<float>(0, 1)`.
    fn uniform_f32(&mut self) -> f32 {
        const MASK: u32 = (1 << f32::MANTISSA_DIGITS) - 1;
        const DIVISOR: f32 = 1.0 / (1u32 << f32::MANTISSA_DIGITS) as f32;
        (self.engine.next_u32() & MASK) as f32 * DIVISOR
    }

    /// `uniform_real_distribution<double>(0, 1)`.
    fn uniform_f64(&mut self) -> f64 {
        const MASK: u64 = (1 << f64::MANTISSA_DIGITS) - 1;
        const DIVISOR: f64 = 1.0 / (1u64 << f64::MANTISSA_DIGITS) as f64;
        (self.engine.next_u64() & MASK) as f64 * DIVISOR
    }

    /// `exponential_distribution<double>(1)`: `-log(1 - u)` of a double uniform.
    pub(crate) fn exponential(&mut self) -> f64 {
        -libm::log1p(-self.uniform_f64())
    }

    /// `normal_distribution<double>(0, 1)` with the generator's cached second value.
    fn normal_f64(&mut self) -> f64 {
        if let Some(cached) = self.next_double_normal.take() {
            return cached;
        }
        let u1 = self.uniform_f64();
        let u2 = self.uniform_f64();
        let r = libm::sqrt(-2.0 * libm::log1p(-u2));
        let theta = 2.0 * std::f64::consts::PI * u1;
        self.next_double_normal = Some(r * libm::sin(theta));
        r * libm::cos(theta)
    }

    /// `normal_fill_AVX2`: all uniforms first, then Box-Muller per block of 16.
    fn randn_vectorized(&mut self, numel: usize) -> Vec<f32> {
        let mut data: Vec<f32> = (0..numel).map(|_| self.uniform_f32()).collect();
        for block in data.chunks_exact_mut(VECTOR_THRESHOLD) {
            box_muller_16(block);
        }
        if !numel.is_multiple_of(VECTOR_THRESHOLD) {
            let tail = &mut data[numel - VECTOR_THRESHOLD..];
            for value in tail.iter_mut() {
                *value = self.uniform_f32();
            }
            box_muller_16(tail);
        }
        data
    }
}

/// `normal_fill_16_AVX2` on one block of 16 uniforms, in place.
fn box_muller_16(block: &mut [f32]) {
    debug_assert_eq!(block.len(), VECTOR_THRESHOLD);
    // `_mm256_set1_ps(2.0f * c10::pi<double>)`: 2 pi in double, narrowed to float.
    let two_pi = (2.0 * std::f64::consts::PI) as f32;
    for j in 0..VECTOR_THRESHOLD / 2 {
        let u1 = 1.0 - block[j];
        let u2 = block[j + 8];
        let radius = (-2.0 * cephes_log(u1)).sqrt();
        let (sin, cos) = cephes_sincos(two_pi * u2);
        block[j] = radius * cos;
        block[j + 8] = radius * sin;
    }
}

/// One lane of `avx_mathfun.h`'s `log256_ps`, with the compiled build's FMA contractions.
#[allow(clippy::excessive_precision)] // Cephes' constants, verbatim.
fn cephes_log(x: f32) -> f32 {
    const MIN_NORM_POS: f32 = f32::MIN_POSITIVE;
    const INV_MANT_MASK: u32 = !0x7f80_0000;
    const SQRTHF: f32 = std::f32::consts::FRAC_1_SQRT_2; // Cephes' 0.707106781186547524
    const P: [f32; 9] = [
        7.037_683_629_2e-2,
        -1.151_461_031_0e-1,
        1.167_699_874_0e-1,
        -1.242_014_084_6e-1,
        1.424_932_278_7e-1,
        -1.666_805_766_5e-1,
        2.000_071_476_5e-1,
        -2.499_999_399_3e-1,
        3.333_333_117_4e-1,
    ];
    const Q1: f32 = -2.121_944_40e-4;
    const Q2: f32 = 0.693_359_375;

    let x = x.max(MIN_NORM_POS);
    let exponent = (x.to_bits() >> 23) as i32 - 0x7f;
    let mut x = f32::from_bits((x.to_bits() & INV_MANT_MASK) | 0.5f32.to_bits());
    let mut e = exponent as f32 + 1.0;
    let below = x < SQRTHF;
    let tmp = if below { x } else { 0.0 };
    x -= 1.0;
    if below {
        e -= 1.0;
    }
    x += tmp;

    let z = x * x;
    let mut y = P[0];
    for &p in &P[1..] {
        y = y.mul_add(x, p);
    }
    y *= x;
    y = y.mul_add(z, e * Q1);
    y = z.mul_add(-0.5, y);
    x += y;
    e.mul_add(Q2, x)
}

/// One lane of `avx_mathfun.h`'s `sincos256_ps`, with the compiled build's FMA
/// contractions. Returns `(sin, cos)`.
#[allow(clippy::excessive_precision)] // Cephes' constants, verbatim.
fn cephes_sincos(theta: f32) -> (f32, f32) {
    const FOPI: f32 = 1.273_239_544_735_16; // 4 / pi
    const DP1: f32 = -0.785_156_25;
    const DP2: f32 = -2.418_756_484_985_351_562_5e-4;
    const DP3: f32 = -3.774_894_977_445_941_08e-8;
    const SIN_P: [f32; 3] = [-1.951_529_589_1e-4, 8.332_160_873_6e-3, -1.666_665_461_1e-1];
    const COS_P: [f32; 3] = [
        2.443_315_711_809_948e-5,
        -1.388_731_625_493_765e-3,
        4.166_664_568_298_827e-2,
    ];
    const SIGN: u32 = 0x8000_0000;

    let mut sign_sin = theta.to_bits() & SIGN;
    let x = f32::from_bits(theta.to_bits() & !SIGN);

    // Octant, rounded up to even (`cvttps` truncates).
    let octant = (((x * FOPI) as i32) + 1) & !1;
    let y = octant as f32;
    let swap_sign_sin = ((octant & 4) as u32) << 29;
    let use_sin_poly = octant & 2 == 0;
    let sign_cos = ((!(octant - 2) & 4) as u32) << 29;
    sign_sin ^= swap_sign_sin;

    // Extended-precision range reduction.
    let x = y.mul_add(DP1, x);
    let x = y.mul_add(DP2, x);
    let x = y.mul_add(DP3, x);
    let z = x * x;

    let mut cos_poly = COS_P[0].mul_add(z, COS_P[1]);
    cos_poly = cos_poly.mul_add(z, COS_P[2]);
    cos_poly *= z;
    cos_poly = cos_poly.mul_add(z, -(z * 0.5));
    cos_poly += 1.0;

    let mut sin_poly = SIN_P[0].mul_add(z, SIN_P[1]);
    sin_poly = sin_poly.mul_add(z, SIN_P[2]);
    sin_poly *= z;
    sin_poly = sin_poly.mul_add(x, x);

    let (sin, cos) = if use_sin_poly {
        (sin_poly, cos_poly)
    } else {
        (cos_poly, sin_poly)
    };
    (
        f32::from_bits(sin.to_bits() ^ sign_sin),
        f32::from_bits(cos.to_bits() ^ sign_cos),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_sequence() {
        // The 10000th output of the default-seeded (5489) std::mt19937 is 4123659995.
        let mut mt = Mt19937::new(5489);
        let value = (0..10_000).map(|_| mt.next_u32()).last();
        assert_eq!(value, Some(4_123_659_995));
    }

    #[test]
    fn cephes_log_and_sincos_are_close_to_libm() {
        for i in 1..1000 {
            let x = i as f32 / 1000.0;
            assert!((cephes_log(x) - x.ln()).abs() < 1e-6, "log({x})");
            let theta = x * std::f32::consts::TAU;
            let (s, c) = cephes_sincos(theta);
            assert!((s - theta.sin()).abs() < 1e-6 && (c - theta.cos()).abs() < 1e-6);
        }
    }
}
