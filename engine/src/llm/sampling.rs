//! Choosing the next token from the logits, as `transformers`' `generate` does:
//! the repetition penalty, then temperature, top-k, top-p and min-p, then greedy argmax
//! or a seeded draw.

use crate::randn::TorchGenerator;

/// How the next token is chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingConfig {
    /// Draw from the distribution instead of taking the most likely token.
    pub do_sample: bool,
    /// Softmax temperature (sampling only).
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens; 0 keeps all (sampling only).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches `top_p` (sampling only).
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one (sampling only).
    pub min_p: f32,
    /// CTRL's repetition penalty over every token seen so far; 1 disables it.
    pub repetition_penalty: f32,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            do_sample: false,
            temperature: 1.0,
            top_k: 50,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
        }
    }
}

/// `RepetitionPenaltyLogitsProcessor`: divides positive and multiplies negative logits of
/// every token in `seen` by `penalty`.
pub(super) fn apply_repetition_penalty(logits: &mut [f32], seen: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    let mut unique = seen.to_vec();
    unique.sort_unstable();
    unique.dedup();
    for id in unique {
        if let Some(score) = logits.get_mut(id as usize) {
            *score = if *score < 0.0 {
                *score * penalty
            } else {
                *score / penalty
            };
        }
    }
}

/// The index of the largest logit; the first one on ties (`torch.argmax`).
pub(super) fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &value) in logits.iter().enumerate() {
        if value > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Applies the sampling warpers in `transformers`' order: temperature, top-k, top-p, min-p.
/// Filtered tokens get `-inf`.
pub(super) fn warp(logits: &mut [f32], config: &SamplingConfig) {
    if config.temperature != 1.0 {
        for score in logits.iter_mut() {
            *score /= config.temperature;
        }
    }
    if config.top_k > 0 && config.top_k < logits.len() {
        let mut sorted = logits.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let kth = sorted[config.top_k - 1];
        for score in logits.iter_mut() {
            if *score < kth {
                *score = f32::NEG_INFINITY;
            }
        }
    }
    if config.top_p < 1.0 {
        // Ascending order; drop the low tail whose cumulative probability is <= 1 - top_p,
        // always keeping the most likely token.
        let probs = softmax(logits);
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[a].total_cmp(&logits[b]));
        let mut cumulative = 0.0f32;
        for (rank, &i) in order.iter().enumerate() {
            cumulative += probs[i];
            if cumulative <= 1.0 - config.top_p && rank + 1 < order.len() {
                logits[i] = f32::NEG_INFINITY;
            }
        }
    }
    if config.min_p > 0.0 {
        let probs = softmax(logits);
        let top = probs.iter().copied().fold(0.0f32, f32::max);
        let threshold = config.min_p * top;
        let best = argmax(logits) as usize;
        for (i, score) in logits.iter_mut().enumerate() {
            if probs[i] < threshold && i != best {
                *score = f32::NEG_INFINITY;
            }
        }
    }
}

/// Draws a token from `softmax(logits)` with `torch.multinomial`'s exponential trick:
/// `argmax(p / q)` with `q ~ Exp(1)` drawn per token from `generator`.
pub(super) fn sample(logits: &[f32], generator: &mut TorchGenerator) -> u32 {
    let probs = softmax(logits);
    let ratios: Vec<f32> = probs
        .iter()
        .map(|&p| {
            let q = generator.exponential();
            (f64::from(p) / q) as f32
        })
        .collect();
    argmax(&ratios)
}

/// A numerically stable softmax in `f32`.
pub(super) fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_penalty_shrinks_seen_tokens_towards_zero() {
        let mut logits = [2.0, -2.0, 1.0];
        apply_repetition_penalty(&mut logits, &[0, 1, 1], 2.0);
        // Token 1 is seen twice but penalized once, as transformers' gather/scatter does.
        assert_eq!(logits, [1.0, -4.0, 1.0]);
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.5, 2.0, 2.0, 1.0]), 1);
    }

    #[test]
    fn top_k_and_top_p_filter_the_tail() {
        let config = SamplingConfig {
            do_sample: true,
            top_k: 2,
            ..SamplingConfig::default()
        };
        let mut logits = [3.0, 1.0, 2.0, 0.0];
        warp(&mut logits, &config);
        assert_eq!(logits[1], f32::NEG_INFINITY);
        assert_eq!(logits[3], f32::NEG_INFINITY);
        assert!(logits[0].is_finite() && logits[2].is_finite());

        let config = SamplingConfig {
            do_sample: true,
            top_k: 0,
            top_p: 0.5,
            ..SamplingConfig::default()
        };
        let mut logits = [5.0, 0.0, 0.0, 0.0];
        warp(&mut logits, &config);
        assert_eq!(argmax(&logits), 0);
        assert!(logits[1..].iter().all(|s| *s == f32::NEG_INFINITY));
    }

    #[test]
    fn sampling_is_reproducible_per_seed_and_respects_filters() {
        let logits = [0.0, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY];
        let draw = |seed| {
            let mut generator = TorchGenerator::manual_seed(seed);
            (0..32)
                .map(|_| sample(&logits, &mut generator))
                .collect::<Vec<_>>()
        };
        let first = draw(7);
        assert_eq!(first, draw(7));
        assert!(first.iter().all(|&t| t == 0 || t == 2));
        assert!(first.contains(&0) && first.contains(&2));
    }
}
