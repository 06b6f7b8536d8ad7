//! Diffusion schedulers, ported from `diffusers` and built from a checkpoint's
//! `scheduler_config.json` as `Scheduler.from_config(pipeline.scheduler.config)` does:
//! DPM-Solver++ multistep (the network's default), Euler ancestral, DDIM and LCM.
//!
//! Per-step coefficients are computed on the host in `f32`, in the order `diffusers`
//! computes them with `float32` tensors; the latent updates run on the device.

use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;

use crate::error::{EngineError, Result};
use crate::randn::TorchGenerator;

/// The fields of `scheduler_config.json` the schedulers read (any scheduler class's file).
#[derive(Clone, Debug, Deserialize)]
pub struct SchedulerConfig {
    /// Training steps, 1000 for SD 1.x.
    #[serde(default = "default_train_steps")]
    pub num_train_timesteps: usize,
    /// First beta.
    #[serde(default = "default_beta_start")]
    pub beta_start: f64,
    /// Last beta.
    #[serde(default = "default_beta_end")]
    pub beta_end: f64,
    /// `scaled_linear` (SD) or `linear`.
    #[serde(default = "default_beta_schedule")]
    pub beta_schedule: String,
    /// Explicit betas, overriding the schedule.
    #[serde(default)]
    pub trained_betas: Option<Vec<f64>>,
    /// Only `epsilon` is supported.
    #[serde(default = "default_prediction")]
    pub prediction_type: String,
    /// Added to every inference timestep (`leading` spacing).
    #[serde(default)]
    pub steps_offset: usize,
    /// `leading`, `trailing` or `linspace`.
    #[serde(default = "default_spacing")]
    pub timestep_spacing: String,
    /// DDIM / LCM: use alpha 1 past the last step instead of `alphas_cumprod[0]`.
    #[serde(default)]
    pub set_alpha_to_one: Option<bool>,
    /// DDIM: clip the predicted clean sample to `[-1, 1]` (`diffusers`' default: true).
    #[serde(default)]
    pub clip_sample: Option<bool>,
}

fn default_train_steps() -> usize {
    1000
}
fn default_beta_start() -> f64 {
    0.0001
}
fn default_beta_end() -> f64 {
    0.02
}
fn default_beta_schedule() -> String {
    "linear".into()
}
fn default_prediction() -> String {
    "epsilon".into()
}
fn default_spacing() -> String {
    "linspace".into()
}

/// The schedulers a task may name in `scheduler.method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerKind {
    /// `DPMSolverMultistepScheduler`: DPM-Solver++ (2M), the network's default.
    DpmSolverMultistep,
    /// `EulerAncestralDiscreteScheduler`.
    EulerAncestral,
    /// `DDIMScheduler` (eta 0).
    Ddim,
    /// `LCMScheduler`.
    Lcm,
}

/// A scheduler prepared for a given number of inference steps.
pub struct Scheduler {
    kind: SchedulerKind,
    alphas_cumprod: Vec<f32>,
    /// The timestep of each inference step, as passed to the UNet.
    timesteps: Vec<f32>,
    /// Karras-style sigmas per step plus a final one (Euler, DPM-Solver).
    sigmas: Vec<f32>,
    final_alpha_cumprod: f32,
    clip_sample: bool,
    init_noise_sigma: f32,
    /// DPM-Solver: the clean-sample predictions of the previous steps, latest last.
    previous_x0: Option<Tensor<4>>,
    lower_order_nums: usize,
}

impl Scheduler {
    /// Builds `kind` from `config` for `steps` inference steps.
    pub fn new(kind: SchedulerKind, config: &SchedulerConfig, steps: usize) -> Result<Self> {
        if config.prediction_type != "epsilon" {
            return Err(EngineError::InvalidModel(format!(
                "scheduler_config.json: prediction_type {:?} is not supported (only epsilon)",
                config.prediction_type
            )));
        }
        let train = config.num_train_timesteps;
        if steps == 0 || steps > train {
            return Err(EngineError::argument(
                "task_config.steps",
                format!("{steps} must be in 1..={train}"),
            ));
        }
        let alphas_cumprod = alphas_cumprod(config)?;
        let set_alpha_to_one = config
            .set_alpha_to_one
            .unwrap_or(matches!(kind, SchedulerKind::Ddim | SchedulerKind::Lcm));
        let final_alpha_cumprod = if set_alpha_to_one {
            1.0
        } else {
            alphas_cumprod[0]
        };
        let sigma_table: Vec<f32> = alphas_cumprod
            .iter()
            .map(|&a| ((1.0 - a) / a).sqrt())
            .collect();
        let mut scheduler = Self {
            kind,
            timesteps: Vec::new(),
            sigmas: Vec::new(),
            final_alpha_cumprod,
            clip_sample: config.clip_sample.unwrap_or(true),
            init_noise_sigma: 1.0,
            previous_x0: None,
            lower_order_nums: 0,
            alphas_cumprod,
        };
        match kind {
            SchedulerKind::Ddim => {
                scheduler.timesteps = spaced_timesteps(config, steps)?;
            }
            SchedulerKind::EulerAncestral => {
                let timesteps = spaced_timesteps(config, steps)?;
                let mut sigmas: Vec<f32> = timesteps
                    .iter()
                    .map(|&t| interp(f64::from(t), &sigma_table) as f32)
                    .collect();
                sigmas.push(0.0);
                let max = sigmas.iter().copied().fold(0.0f32, f32::max);
                scheduler.init_noise_sigma = match config.timestep_spacing.as_str() {
                    "linspace" | "trailing" => max,
                    _ => (max * max + 1.0).sqrt(),
                };
                scheduler.timesteps = timesteps;
                scheduler.sigmas = sigmas;
            }
            SchedulerKind::DpmSolverMultistep => {
                let timesteps = dpm_timesteps(config, steps)?;
                let mut sigmas: Vec<f32> = timesteps
                    .iter()
                    .map(|&t| interp(f64::from(t), &sigma_table) as f32)
                    .collect();
                sigmas.push(0.0); // final_sigmas_type "zero"
                scheduler.timesteps = timesteps;
                scheduler.sigmas = sigmas;
            }
            SchedulerKind::Lcm => {
                scheduler.timesteps = lcm_timesteps(train, steps)?;
            }
        }
        Ok(scheduler)
    }

    /// The UNet timestep of each inference step.
    pub fn timesteps(&self) -> &[f32] {
        &self.timesteps
    }

    /// The factor the initial noise is multiplied by.
    pub fn init_noise_sigma(&self) -> f32 {
        self.init_noise_sigma
    }

    /// Scales the latents before the UNet sees them at step `index`.
    pub fn scale_model_input(&self, sample: Tensor<4>, index: usize) -> Tensor<4> {
        match self.kind {
            SchedulerKind::EulerAncestral => {
                let sigma = self.sigmas[index];
                sample / (sigma * sigma + 1.0).sqrt()
            }
            _ => sample,
        }
    }

    /// Advances `sample` by step `index` given the UNet's noise prediction `eps`. Ancestral
    /// schedulers draw their noise from `generator`.
    pub fn step(
        &mut self,
        eps: Tensor<4>,
        index: usize,
        sample: Tensor<4>,
        generator: &mut TorchGenerator,
    ) -> Tensor<4> {
        match self.kind {
            SchedulerKind::Ddim => self.ddim_step(eps, index, sample),
            SchedulerKind::EulerAncestral => {
                self.euler_ancestral_step(eps, index, sample, generator)
            }
            SchedulerKind::DpmSolverMultistep => self.dpm_step(eps, index, sample),
            SchedulerKind::Lcm => self.lcm_step(eps, index, sample, generator),
        }
    }

    fn alpha_at(&self, timestep: i64) -> f32 {
        if timestep >= 0 {
            self.alphas_cumprod[timestep as usize]
        } else {
            self.final_alpha_cumprod
        }
    }

    fn ddim_step(&self, eps: Tensor<4>, index: usize, sample: Tensor<4>) -> Tensor<4> {
        let t = self.timesteps[index] as i64;
        let ratio = (self.alphas_cumprod.len() / self.timesteps.len()) as i64;
        let alpha_t = self.alpha_at(t);
        let alpha_prev = self.alpha_at(t - ratio);
        let beta_t = 1.0 - alpha_t;
        let mut x0 = (sample - eps.clone() * beta_t.sqrt()) / alpha_t.sqrt();
        if self.clip_sample {
            x0 = x0.clamp(-1.0, 1.0);
        }
        x0 * alpha_prev.sqrt() + eps * (1.0 - alpha_prev).sqrt()
    }

    fn euler_ancestral_step(
        &self,
        eps: Tensor<4>,
        index: usize,
        sample: Tensor<4>,
        generator: &mut TorchGenerator,
    ) -> Tensor<4> {
        let sigma_from = self.sigmas[index];
        let sigma_to = self.sigmas[index + 1];
        let sigma_up = (sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to)
            / (sigma_from * sigma_from))
            .sqrt();
        let sigma_down = (sigma_to * sigma_to - sigma_up * sigma_up).sqrt();
        // x0 = sample - sigma * eps; derivative = (sample - x0) / sigma; prev = sample + d * dt.
        let x0 = sample.clone() - eps * sigma_from;
        let derivative = (sample.clone() - x0) / sigma_from;
        let prev = sample + derivative * (sigma_down - sigma_from);
        let noise = noise_like(&prev, generator);
        prev + noise * sigma_up
    }

    fn dpm_step(&mut self, eps: Tensor<4>, index: usize, sample: Tensor<4>) -> Tensor<4> {
        // With final_sigmas_type "zero", the last step is always first order.
        let last = index + 1 == self.timesteps.len();
        let (alpha_s0, sigma_s0) = alpha_sigma(self.sigmas[index]);
        let x0 = (sample.clone() - eps * sigma_s0) / alpha_s0;
        let previous = self.previous_x0.replace(x0.clone());
        let (alpha_t, sigma_t) = alpha_sigma(self.sigmas[index + 1]);
        let lambda_t = alpha_t.ln() - sigma_t.ln();
        let lambda_s0 = alpha_s0.ln() - sigma_s0.ln();
        let h = lambda_t - lambda_s0;
        let second_order = self.lower_order_nums >= 1 && !last;
        let result = match previous {
            Some(m1) if second_order => {
                let (alpha_s1, sigma_s1) = alpha_sigma(self.sigmas[index - 1]);
                let lambda_s1 = alpha_s1.ln() - sigma_s1.ln();
                let r0 = (lambda_s0 - lambda_s1) / h;
                let d1 = (x0.clone() - m1) * (1.0 / r0);
                let coeff = alpha_t * ((-h).exp() - 1.0);
                sample * (sigma_t / sigma_s0) - x0 * coeff - d1 * (0.5 * coeff)
            }
            _ => {
                if sigma_t == 0.0 {
                    // lambda_t = inf: the update is exactly the clean-sample prediction.
                    x0
                } else {
                    sample * (sigma_t / sigma_s0) - x0 * (alpha_t * ((-h).exp() - 1.0))
                }
            }
        };
        if self.lower_order_nums < 2 {
            self.lower_order_nums += 1;
        }
        result
    }

    fn lcm_step(
        &self,
        eps: Tensor<4>,
        index: usize,
        sample: Tensor<4>,
        generator: &mut TorchGenerator,
    ) -> Tensor<4> {
        let t = self.timesteps[index] as i64;
        let last = index + 1 == self.timesteps.len();
        let prev_t = if last {
            t
        } else {
            self.timesteps[index + 1] as i64
        };
        let alpha_t = self.alpha_at(t);
        let alpha_prev = self.alpha_at(prev_t);
        let beta_t = 1.0 - alpha_t;
        let beta_prev = 1.0 - alpha_prev;
        let (c_skip, c_out) = lcm_boundary_scalings(t as f32);
        let x0 = (sample.clone() - eps * beta_t.sqrt()) / alpha_t.sqrt();
        let denoised = x0 * c_out + sample * c_skip;
        if last {
            denoised
        } else {
            let noise = noise_like(&denoised, generator);
            denoised * alpha_prev.sqrt() + noise * beta_prev.sqrt()
        }
    }
}

/// `_sigma_to_alpha_sigma_t`: `alpha = 1 / sqrt(sigma^2 + 1)`, `sigma_t = sigma * alpha`.
fn alpha_sigma(sigma: f32) -> (f32, f32) {
    let alpha = 1.0 / (sigma * sigma + 1.0).sqrt();
    (alpha, sigma * alpha)
}

/// LCM's `get_scalings_for_boundary_condition_discrete` (sigma_data 0.5, scaling 10).
fn lcm_boundary_scalings(timestep: f32) -> (f32, f32) {
    let sigma_data = 0.5f32;
    let scaled = timestep * 10.0;
    let c_skip = sigma_data * sigma_data / (scaled * scaled + sigma_data * sigma_data);
    let c_out = scaled / (scaled * scaled + sigma_data * sigma_data).sqrt();
    (c_skip, c_out)
}

/// Standard normal noise of `like`'s shape from `generator`, on `like`'s device.
fn noise_like(like: &Tensor<4>, generator: &mut TorchGenerator) -> Tensor<4> {
    let dims = like.dims();
    let values = generator.randn(dims.iter().product());
    let device: Device = like.device();
    Tensor::from_data(TensorData::new(values, dims), &device)
}

/// `alphas_cumprod` in `float32`, with `torch.cumprod`'s double accumulator.
fn alphas_cumprod(config: &SchedulerConfig) -> Result<Vec<f32>> {
    let n = config.num_train_timesteps;
    let betas: Vec<f32> = match (&config.trained_betas, config.beta_schedule.as_str()) {
        (Some(betas), _) => betas.iter().map(|&b| b as f32).collect(),
        (None, "linear") => linspace_f32(config.beta_start as f32, config.beta_end as f32, n),
        (None, "scaled_linear") => linspace_f32(
            config.beta_start.sqrt() as f32,
            config.beta_end.sqrt() as f32,
            n,
        )
        .into_iter()
        .map(|b| b * b)
        .collect(),
        (None, other) => {
            return Err(EngineError::InvalidModel(format!(
                "scheduler_config.json: beta_schedule {other:?} is not supported"
            )));
        }
    };
    if betas.len() != n {
        return Err(EngineError::InvalidModel(format!(
            "scheduler_config.json: {} trained_betas for {n} timesteps",
            betas.len()
        )));
    }
    let mut product = 1.0f64;
    Ok(betas
        .iter()
        .map(|&beta| {
            product *= f64::from(1.0 - beta);
            product as f32
        })
        .collect())
}

/// `torch.linspace(start, end, steps, dtype=float32)` (scalar formula).
fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f32;
    let halfway = steps / 2;
    (0..steps)
        .map(|i| {
            if i < halfway {
                start + step * i as f32
            } else {
                end - step * (steps - i - 1) as f32
            }
        })
        .collect()
}

/// `np.interp(t, arange(len(table)), table)`.
fn interp(t: f64, table: &[f32]) -> f64 {
    let last = table.len() - 1;
    if t <= 0.0 {
        return f64::from(table[0]);
    }
    if t >= last as f64 {
        return f64::from(table[last]);
    }
    let i = t.floor() as usize;
    let frac = t - i as f64;
    let (a, b) = (f64::from(table[i]), f64::from(table[i + 1]));
    // numpy: slope * (x - xp[j]) + fp[j]
    (b - a) * frac + a
}

/// DDIM / Euler timesteps for `timestep_spacing`, descending.
fn spaced_timesteps(config: &SchedulerConfig, steps: usize) -> Result<Vec<f32>> {
    let train = config.num_train_timesteps;
    Ok(match config.timestep_spacing.as_str() {
        "leading" => {
            let ratio = train / steps;
            (0..steps)
                .rev()
                .map(|i| (i * ratio + config.steps_offset) as f32)
                .collect()
        }
        "trailing" => {
            let ratio = train as f64 / steps as f64;
            let mut ts: Vec<f32> = (1..=steps)
                .rev()
                .map(|i| ((i as f64 * ratio).round() - 1.0) as f32)
                .collect();
            ts.dedup();
            ts
        }
        "linspace" => {
            let last = (train - 1) as f64;
            (0..steps)
                .rev()
                .map(|i| {
                    let t = if steps == 1 {
                        0.0
                    } else {
                        last * i as f64 / (steps - 1) as f64
                    };
                    t.round() as f32
                })
                .collect()
        }
        other => {
            return Err(EngineError::InvalidModel(format!(
                "scheduler_config.json: timestep_spacing {other:?} is not supported"
            )));
        }
    })
}

/// DPM-Solver multistep timesteps: its spacing works on `steps + 1` points.
fn dpm_timesteps(config: &SchedulerConfig, steps: usize) -> Result<Vec<f32>> {
    let train = config.num_train_timesteps;
    Ok(match config.timestep_spacing.as_str() {
        "leading" => {
            let ratio = train / (steps + 1);
            (1..=steps)
                .rev()
                .map(|i| (i * ratio + config.steps_offset) as f32)
                .collect()
        }
        "trailing" => {
            let ratio = train as f64 / steps as f64;
            (1..=steps)
                .rev()
                .map(|i| ((i as f64 * ratio).round() - 1.0) as f32)
                .collect()
        }
        "linspace" => {
            let last = (train - 1) as f64;
            (1..=steps)
                .rev()
                .map(|i| (last * i as f64 / steps as f64).round() as f32)
                .collect()
        }
        other => {
            return Err(EngineError::InvalidModel(format!(
                "scheduler_config.json: timestep_spacing {other:?} is not supported"
            )));
        }
    })
}

/// LCM's timesteps: `steps` of the 50 original skipping-step timesteps.
fn lcm_timesteps(train: usize, steps: usize) -> Result<Vec<f32>> {
    const ORIGINAL_STEPS: usize = 50;
    if steps > ORIGINAL_STEPS {
        return Err(EngineError::argument(
            "task_config.steps",
            format!("{steps}: LCM supports at most {ORIGINAL_STEPS} steps"),
        ));
    }
    let k = train / ORIGINAL_STEPS;
    let origin: Vec<usize> = (1..=ORIGINAL_STEPS).rev().map(|i| i * k - 1).collect();
    Ok((0..steps)
        .map(|i| {
            let index = (i as f64 * ORIGINAL_STEPS as f64 / steps as f64).floor() as usize;
            origin[index] as f32
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd_config() -> SchedulerConfig {
        serde_json::from_str(
            r#"{"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                "num_train_timesteps": 1000, "set_alpha_to_one": false, "steps_offset": 1,
                "timestep_spacing": "leading", "prediction_type": "epsilon"}"#,
        )
        .unwrap()
    }

    #[test]
    fn timesteps_follow_diffusers() {
        let config = sd_config();
        let ddim = Scheduler::new(SchedulerKind::Ddim, &config, 10).unwrap();
        assert_eq!(ddim.timesteps()[..3], [901.0, 801.0, 701.0]);
        assert_eq!(*ddim.timesteps().last().unwrap(), 1.0);
        let dpm = Scheduler::new(SchedulerKind::DpmSolverMultistep, &config, 10).unwrap();
        // step_ratio = 1000 // 11 = 90: 900, 810, ..., 90, plus the offset.
        assert_eq!(dpm.timesteps()[..2], [901.0, 811.0]);
        assert_eq!(*dpm.timesteps().last().unwrap(), 91.0);
        let lcm = Scheduler::new(SchedulerKind::Lcm, &config, 4).unwrap();
        assert_eq!(lcm.timesteps(), [999.0, 759.0, 499.0, 259.0]);
    }

    #[test]
    fn alphas_cumprod_matches_diffusers() {
        let alphas = alphas_cumprod(&sd_config()).unwrap();
        // diffusers: scheduler.alphas_cumprod[[0, 999]] for SD 1.5's config.
        assert!((alphas[0] - 0.99915).abs() < 1e-6, "{}", alphas[0]);
        assert!((alphas[999] - 0.0046600).abs() < 1e-6, "{}", alphas[999]);
    }
}
