//! Rotary position embeddings as transformers computes them (`modeling_rope_utils`): the
//! inverse frequencies in `f32`, scaled per `rope_type`, and `rotate_half` over the two
//! halves of each head.

use burn::tensor::{Device, Tensor, TensorData};

use super::config::RopeScaling;

/// The inverse frequencies of one head and the scale of cos and sin.
#[derive(Clone, Debug)]
pub(super) struct Rope {
    inv_freq: Vec<f32>,
    attention_factor: f32,
}

impl Rope {
    pub(super) fn new(head_dim: usize, theta: f64, scaling: &RopeScaling) -> Self {
        let dim = head_dim as f32;
        // torch: 1 / base ** (arange(0, dim, 2).float() / dim), in float32.
        let pos_freqs: Vec<f32> = (0..head_dim)
            .step_by(2)
            .map(|i| (theta as f32).powf(i as f32 / dim))
            .collect();
        let base: Vec<f32> = pos_freqs.iter().map(|p| 1.0 / p).collect();
        let (inv_freq, attention_factor) = match *scaling {
            RopeScaling::Default => (base, 1.0),
            RopeScaling::Linear { factor } => {
                (base.iter().map(|f| f / factor as f32).collect(), 1.0)
            }
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings: original,
            } => {
                let (factor, low, high, original) = (
                    factor as f32,
                    low_freq_factor as f32,
                    high_freq_factor as f32,
                    original as f32,
                );
                let low_freq_wavelen = original / low;
                let high_freq_wavelen = original / high;
                let scaled = base
                    .iter()
                    .map(|&f| {
                        let wavelen = 2.0 * std::f32::consts::PI / f;
                        if wavelen > low_freq_wavelen {
                            f / factor
                        } else if wavelen < high_freq_wavelen {
                            f
                        } else {
                            let smooth = (original / wavelen - low) / (high - low);
                            (1.0 - smooth) * f / factor + smooth * f
                        }
                    })
                    .collect();
                (scaled, 1.0)
            }
            RopeScaling::Yarn {
                factor,
                original_max_position_embeddings: original,
                attention_factor,
                beta_fast,
                beta_slow,
                mscale,
                truncate,
            } => {
                let get_mscale = |scale: f64, m: f64| {
                    if scale <= 1.0 {
                        1.0
                    } else {
                        0.1 * m * scale.ln() + 1.0
                    }
                };
                let attention_factor = attention_factor.unwrap_or(match mscale {
                    Some((m, all)) => get_mscale(factor, m) / get_mscale(factor, all),
                    None => get_mscale(factor, 1.0),
                });
                let d = head_dim as f64;
                let correction_dim = |rotations: f64| {
                    (d * (original / (rotations * 2.0 * std::f64::consts::PI)).ln())
                        / (2.0 * theta.ln())
                };
                let (mut low, mut high) = (correction_dim(beta_fast), correction_dim(beta_slow));
                if truncate {
                    (low, high) = (low.floor(), high.ceil());
                }
                let (low, high) = (low.max(0.0) as f32, high.min(d - 1.0) as f32);
                let high = if low == high { high + 0.001 } else { high };
                let inv_freq = pos_freqs
                    .iter()
                    .enumerate()
                    .map(|(i, &p)| {
                        let ramp = ((i as f32 - low) / (high - low)).clamp(0.0, 1.0);
                        let extrapolation_factor = 1.0 - ramp;
                        let interpolation = 1.0 / (factor as f32 * p);
                        let extrapolation = 1.0 / p;
                        interpolation * (1.0 - extrapolation_factor)
                            + extrapolation * extrapolation_factor
                    })
                    .collect();
                (inv_freq, attention_factor as f32)
            }
        };
        Self {
            inv_freq,
            attention_factor,
        }
    }

    /// cos and sin for `positions` (`[len, head_dim]`, each half repeated as
    /// `cat(freqs, freqs)` does), scaled by the attention factor.
    pub(super) fn cos_sin(
        &self,
        positions: std::ops::Range<usize>,
        device: &Device,
    ) -> (Tensor<2>, Tensor<2>) {
        let half = self.inv_freq.len();
        let len = positions.len();
        let mut cos = Vec::with_capacity(len * half * 2);
        let mut sin = Vec::with_capacity(len * half * 2);
        for position in positions {
            let angles: Vec<f32> = self.inv_freq.iter().map(|f| position as f32 * f).collect();
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| a.cos() * self.attention_factor));
                sin.extend(angles.iter().map(|a| a.sin() * self.attention_factor));
            }
        }
        let tensor = |values| Tensor::from_data(TensorData::new(values, [len, 2 * half]), device);
        (tensor(cos), tensor(sin))
    }

    #[cfg(test)]
    fn inv_freq(&self) -> &[f32] {
        &self.inv_freq
    }
}

/// `x * cos + rotate_half(x) * sin` for `x` `[b, heads, t, head_dim]` and cos/sin
/// `[t, head_dim]`, where `rotate_half` is `cat(-x2, x1)` of the two halves.
pub(super) fn apply(x: Tensor<4>, cos: &Tensor<2>, sin: &Tensor<2>) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().slice([0..b, 0..h, 0..t, 0..half]);
    let x2 = x.clone().slice([0..b, 0..h, 0..t, half..d]);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    let cos = cos.clone().unsqueeze::<4>();
    let sin = sin.clone().unsqueeze::<4>();
    x * cos + rotated * sin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_frequencies_fall_from_one() {
        let rope = Rope::new(8, 10_000.0, &RopeScaling::Default);
        let expected = [1.0, 0.1, 0.01, 0.001];
        for (got, want) in rope.inv_freq().iter().zip(expected) {
            assert!(
                (got - want).abs() < 1e-6 * want.max(1e-3),
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn llama3_keeps_high_frequencies_and_divides_low_ones() {
        // Llama 3.1 8B's head and scaling.
        let plain = Rope::new(128, 500_000.0, &RopeScaling::Default);
        let scaling = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192.0,
        };
        let scaled = Rope::new(128, 500_000.0, &scaling);
        let (mut kept, mut divided, mut blended) = (0, 0, 0);
        for (&p, &s) in plain.inv_freq().iter().zip(scaled.inv_freq()) {
            let wavelen = 2.0 * std::f32::consts::PI / p;
            if wavelen < 8192.0 / 4.0 {
                assert_eq!(s, p);
                kept += 1;
            } else if wavelen > 8192.0 {
                assert_eq!(s, p / 8.0);
                divided += 1;
            } else {
                assert!(s < p && s > p / 8.0, "{s} between {p} and {}", p / 8.0);
                blended += 1;
            }
        }
        assert!(
            kept > 0 && divided > 0 && blended > 0,
            "{kept} {divided} {blended}"
        );
    }

    #[test]
    fn yarn_interpolates_low_frequencies_and_scales_attention() {
        let scaling = RopeScaling::Yarn {
            factor: 4.0,
            original_max_position_embeddings: 32768.0,
            attention_factor: None,
            beta_fast: 32.0,
            beta_slow: 1.0,
            mscale: None,
            truncate: true,
        };
        let plain = Rope::new(128, 1_000_000.0, &RopeScaling::Default);
        let yarn = Rope::new(128, 1_000_000.0, &scaling);
        // 0.1 ln 4 + 1
        assert!((yarn.attention_factor - 1.138_629_4).abs() < 1e-6);
        let (p, y) = (plain.inv_freq(), yarn.inv_freq());
        assert_eq!(y[0], p[0], "the fastest frequency extrapolates");
        let last = p.len() - 1;
        assert!(
            (y[last] - p[last] / 4.0).abs() < 1e-12,
            "the slowest interpolates"
        );
    }

    #[test]
    fn rotation_keeps_the_norm_and_position_zero_is_identity() {
        let device = crate::device::Backend::Cpu.device().unwrap();
        let rope = Rope::new(4, 10_000.0, &RopeScaling::Default);
        let values = vec![1.0f32, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0];
        let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [1, 1, 2, 4]), &device);
        let (cos, sin) = rope.cos_sin(0..2, &device);
        let y: Vec<f32> = apply(x, &cos, &sin).into_data().try_to_vec().unwrap();
        assert_eq!(&y[..4], &values[..4]);
        let norm = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
        assert!((norm(&y[4..]) - norm(&values[4..])).abs() < 1e-4);
        // Position 1, pair (x0, x2) rotates by angle 1: x0' = x0 cos 1 - x2 sin 1.
        assert!((y[4] - (1.0 * 1f32.cos() - 3.0 * 1f32.sin())).abs() < 1e-6);
    }
}
