//! How fast a device computes: a task's steps timed from its progress reports, and the
//! matrix-product benchmark a provider sees before serving.

use burn::tensor::{Device, Distribution, Tensor};
use web_time::Instant;

use crate::error::{EngineError, Result};

/// How long a task took, step by step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timing {
    /// Denoising steps over all images, or tokens.
    pub steps: u32,
    /// From the start to the end of the first step: loading the weights, encoding the
    /// prompt, compiling kernels, and the step itself.
    pub first_step_ms: f64,
    /// The median of the other steps.
    pub median_step_ms: f64,
    /// The whole task, result files included.
    pub total_ms: f64,
}

/// Times a run from its progress reports: call [`StepClock::step`] from the progress
/// callback and [`StepClock::finish`] once the run returns.
pub struct StepClock {
    started: Instant,
    marks: Vec<f64>,
}

impl Default for StepClock {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            marks: Vec::new(),
        }
    }
}

impl StepClock {
    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// Marks the end of a step.
    pub fn step(&mut self) {
        let now = self.elapsed_ms();
        self.marks.push(now);
    }

    /// The timing of the run, now that it has finished.
    pub fn finish(&self) -> Timing {
        let mut steps: Vec<f64> = self.marks.windows(2).map(|w| w[1] - w[0]).collect();
        steps.sort_by(f64::total_cmp);
        Timing {
            steps: self.marks.len() as u32,
            first_step_ms: self.marks.first().copied().unwrap_or(0.0),
            median_step_ms: steps.get(steps.len() / 2).copied().unwrap_or(0.0),
            total_ms: self.elapsed_ms(),
        }
    }
}

/// Matrix sizes [`matmul`] tries, smallest first.
const SIZES: [usize; 5] = [128, 256, 512, 1024, 2048];
/// A product at least this long is timed well enough; [`matmul`] stops growing there.
const LONG_ENOUGH_MS: f64 = 25.0;

/// The figure [`matmul`] settled on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matmul {
    /// Matrix size `n` of the `n x n` products timed.
    pub size: u32,
    /// Median time of one product, in milliseconds.
    pub ms: f64,
    /// The rate that gives, in GFLOP/s.
    pub gflops: f64,
}

/// Times `n x n` matrix products on `device`: from 128 up, doubling until one product
/// takes [`LONG_ENOUGH_MS`] (or `largest`), each size timed as the median of three after a
/// warm-up that compiles its kernels. A software adapter stops at the first sizes in
/// seconds (SwiftShader took 14 s for one 1024 product) where a GPU goes on to sizes that
/// keep it busy.
pub async fn matmul(device: &Device, largest: usize) -> Result<Matmul> {
    let mut size = SIZES[0];
    let mut ms = 0.0;
    for n in SIZES.into_iter().filter(|&n| n <= largest) {
        let a = Tensor::<2>::random([n, n], Distribution::Default, device);
        let b = Tensor::<2>::random([n, n], Distribution::Default, device);
        let mut times = Vec::new();
        for round in 0..4 {
            let started = Instant::now();
            let product = a.clone().matmul(b.clone()).sum();
            product
                .into_data_async()
                .await
                .map_err(|e| EngineError::Backend(format!("reading the product: {e:?}")))?;
            if round > 0 {
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(f64::total_cmp);
        size = n;
        ms = times[times.len() / 2];
        if ms >= LONG_ENOUGH_MS {
            break;
        }
    }
    let flops = 2.0 * (size as f64).powi(3);
    Ok(Matmul {
        size: size as u32,
        ms,
        // A browser's clock may be coarse: never divide by a zero reading.
        gflops: flops / (ms.max(0.001) / 1000.0) / 1e9,
    })
}
