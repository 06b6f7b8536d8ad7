//! Stable Diffusion task arguments (schema versions 1.0.0 to 3.0.0, and the versionless
//! 2024 format).

use super::{ArgsError, Checker, from_json};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Schema versions the network has used. Versionless arguments are the 2024 format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SdVersion {
    /// `1.0.0`
    V1_0_0,
    /// `2.0.0`
    V2_0_0,
    /// `2.1.0`
    V2_1_0,
    /// `2.5.0`, the current reference version.
    V2_5_0,
    /// `3.0.0`
    V3_0_0,
}

impl SdVersion {
    const ALL: [(Self, &'static str); 5] = [
        (Self::V1_0_0, "1.0.0"),
        (Self::V2_0_0, "2.0.0"),
        (Self::V2_1_0, "2.1.0"),
        (Self::V2_5_0, "2.5.0"),
        (Self::V3_0_0, "3.0.0"),
    ];

    /// The version string.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map(|(_, s)| *s)
            .expect("every version is listed")
    }
}

impl TryFrom<String> for SdVersion {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(v, _)| *v)
            .ok_or_else(|| {
                format!("unknown version {s:?}; allowed: 1.0.0, 2.0.0, 2.1.0, 2.5.0, 3.0.0")
            })
    }
}

impl From<SdVersion> for String {
    fn from(v: SdVersion) -> String {
        v.as_str().to_owned()
    }
}

/// The base checkpoint: a model name (a Hugging Face id in the reference network), and an
/// optional weight variant such as `fp16`. Written either as a plain string or as
/// `{"name": ..., "variant": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseModel {
    /// Model name.
    pub name: String,
    /// Weight variant, if any.
    pub variant: Option<String>,
}

impl<'de> Deserialize<'de> for BaseModel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Full {
            name: String,
            #[serde(default)]
            variant: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Full(Full),
        }
        match Repr::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected a model name or an object {\"name\": string, \"variant\": string or null}",
            )
        })? {
            Repr::Name(name) => Ok(Self {
                name,
                variant: None,
            }),
            Repr::Full(Full { name, variant }) => Ok(Self { name, variant }),
        }
    }
}

/// Generation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdTaskConfig {
    /// Image width in pixels: a multiple of 8. Default 512.
    #[serde(default = "default_size")]
    pub image_width: i64,
    /// Image height in pixels: a multiple of 8. Default 512.
    #[serde(default = "default_size")]
    pub image_height: i64,
    /// Denoising steps, `1..=100`. When absent: 25 for versionless (2024) arguments, 1 for
    /// versioned ones, as the reference schemas default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<i64>,
    /// Seed of the CPU generator shared by all images, `0..2^31`. Default 0.
    #[serde(default)]
    pub seed: i64,
    /// Number of images, `1..=10`. Default 6.
    #[serde(default = "default_num_images")]
    pub num_images: i64,
    /// Whether NSFW images are blacked out. Default true.
    #[serde(default = "default_true")]
    pub safety_checker: bool,
    /// Classifier-free guidance scale, `0..=20` (an integer in the 2024 format). Default 5.
    #[serde(default = "default_cfg")]
    pub cfg: f64,
    /// Fields this version of Tessera does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_size() -> i64 {
    512
}
fn default_num_images() -> i64 {
    6
}
fn default_true() -> bool {
    true
}
fn default_cfg() -> f64 {
    5.0
}

/// A LoRA applied to the base model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraArgs {
    /// LoRA model name or URL.
    pub model: String,
    /// File inside the model to load, if it holds several.
    #[serde(default)]
    pub weight_file_name: String,
    /// Strength in `(0, 100]`: values above 1 are percentages, values up to 1 fractions,
    /// as the reference parses them. Default 100. See [`LoraArgs::weight_fraction`].
    #[serde(default = "default_percent")]
    pub weight: f64,
    /// Fields this version of Tessera does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LoraArgs {
    /// The strength as a fraction, as the reference computes it.
    pub fn weight_fraction(&self) -> f64 {
        percent_or_fraction(self.weight)
    }
}

fn default_percent() -> f64 {
    100.0
}

fn percent_or_fraction(v: f64) -> f64 {
    if v > 1.0 { v / 100.0 } else { v }
}

/// An SDXL refiner pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefinerArgs {
    /// Refiner model name.
    pub model: String,
    /// Weight variant.
    #[serde(default)]
    pub variant: Option<String>,
    /// Where the base model hands over, in `(0, 100]` (percent or fraction). Default 80.
    #[serde(default = "default_cutoff")]
    pub denoising_cutoff: f64,
    /// Refiner steps, `1..=100`. Default 20.
    #[serde(default = "default_refiner_steps")]
    pub steps: i64,
    /// Fields this version of Tessera does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_cutoff() -> f64 {
    80.0
}
fn default_refiner_steps() -> i64 {
    20
}

/// Scheduler methods, by their diffusers class names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SchedulerMethod {
    /// DPM-Solver++ multistep, the network's default.
    #[default]
    DpmSolverMultistep,
    /// Euler ancestral.
    EulerAncestralDiscrete,
    /// Latent consistency models.
    Lcm,
    /// DDIM.
    Ddim,
}

impl SchedulerMethod {
    const ALL: [(Self, &'static str); 4] = [
        (Self::DpmSolverMultistep, "DPMSolverMultistepScheduler"),
        (
            Self::EulerAncestralDiscrete,
            "EulerAncestralDiscreteScheduler",
        ),
        (Self::Lcm, "LCMScheduler"),
        (Self::Ddim, "DDIMScheduler"),
    ];

    /// The diffusers class name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map(|(_, s)| *s)
            .expect("every method is listed")
    }
}

impl TryFrom<String> for SchedulerMethod {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(m, _)| *m)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|(_, n)| *n).collect();
                format!("unknown scheduler {s:?}; allowed: {}", names.join(", "))
            })
    }
}

impl From<SchedulerMethod> for String {
    fn from(m: SchedulerMethod) -> String {
        m.as_str().to_owned()
    }
}

/// The scheduler and its configuration overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerArgs {
    /// Which scheduler.
    #[serde(default)]
    pub method: SchedulerMethod,
    /// Overrides of the checkpoint's `scheduler_config.json` (e.g. `timestep_spacing`).
    #[serde(default)]
    pub args: Option<Map<String, Value>>,
}

/// Stable Diffusion image-generation arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdTaskArgs {
    /// Schema version; absent in the 2024 format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SdVersion>,
    /// The base checkpoint.
    pub base_model: BaseModel,
    /// Compute precision requested (`auto` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<super::Dtype>,
    /// A replacement UNet, if any.
    #[serde(default)]
    pub unet: String,
    /// The prompt, with Compel weighting syntax (`word++`, `(words)1.3`). Non-empty.
    pub prompt: String,
    /// The negative prompt.
    #[serde(default)]
    pub negative_prompt: String,
    /// Generation settings.
    pub task_config: SdTaskConfig,
    /// A LoRA, if any.
    #[serde(default)]
    pub lora: Option<LoraArgs>,
    /// ControlNet settings, kept as sent (Tessera's engine does not run ControlNet yet).
    #[serde(default)]
    pub controlnet: Option<Value>,
    /// The scheduler; DPM-Solver++ multistep when absent.
    #[serde(default)]
    pub scheduler: Option<SchedulerArgs>,
    /// A replacement VAE, if any.
    #[serde(default)]
    pub vae: String,
    /// An SDXL refiner, if any.
    #[serde(default)]
    pub refiner: Option<RefinerArgs>,
    /// A textual-inversion embedding, if any.
    #[serde(default)]
    pub textual_inversion: String,
    /// Fields this version of Tessera does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SdTaskArgs {
    /// Parses and validates SD task arguments.
    pub fn parse(json: &[u8]) -> Result<Self, ArgsError> {
        let args: Self = from_json(json)?;
        args.validate()?;
        Ok(args)
    }

    /// Checks every field against the network's ranges and reports all problems at once.
    pub fn validate(&self) -> Result<(), ArgsError> {
        let mut c = Checker::default();
        c.non_empty("base_model.name", &self.base_model.name);
        c.non_empty("prompt", &self.prompt);
        let tc = &self.task_config;
        for (field, v) in [
            ("task_config.image_width", tc.image_width),
            ("task_config.image_height", tc.image_height),
        ] {
            if !(8..=2048).contains(&v) || v % 8 != 0 {
                c.fail(field, v, "a multiple of 8 in 8..=2048");
            }
        }
        c.range("task_config.steps", self.steps(), 1, 100);
        c.range("task_config.seed", tc.seed, 0, (1 << 31) - 1);
        c.range("task_config.num_images", tc.num_images, 1, 10);
        if !(0.0..=20.0).contains(&tc.cfg) {
            c.fail("task_config.cfg", tc.cfg, "0..=20");
        }
        if let Some(lora) = &self.lora {
            c.non_empty("lora.model", &lora.model);
            if !(lora.weight > 0.0 && lora.weight <= 100.0) {
                c.fail("lora.weight", lora.weight, "greater than 0, at most 100");
            }
        }
        if let Some(refiner) = &self.refiner {
            c.non_empty("refiner.model", &refiner.model);
            c.range("refiner.steps", refiner.steps, 1, 100);
            let cut = refiner.denoising_cutoff;
            if !(cut > 0.0 && cut <= 100.0) {
                c.fail(
                    "refiner.denoising_cutoff",
                    cut,
                    "greater than 0, at most 100",
                );
            }
        }
        c.finish()
    }

    /// Denoising steps, with the default of the arguments' format applied.
    pub fn steps(&self) -> i64 {
        self.task_config
            .steps
            .unwrap_or(if self.version.is_none() { 25 } else { 1 })
    }

    /// Units of work the task declares on chain (`TaskRequest.size`): one unit is one
    /// 512×512 image at 25 denoising steps. Per image, pixels in 512² blocks (rounded up)
    /// times steps, the refiner's included, in blocks of 25 (rounded up). The fee floor
    /// and the commit deadline scale with it; at most 10 × 16 × 8 = 1280.
    pub fn work_units(&self) -> u64 {
        let tc = &self.task_config;
        let pixels = tc.image_width.max(1) as u64 * tc.image_height.max(1) as u64;
        let refiner = self.refiner.as_ref().map_or(0, |r| r.steps.max(0) as u64);
        let steps = self.steps().max(1) as u64 + refiner;
        tc.num_images.max(1) as u64 * pixels.div_ceil(512 * 512) * steps.div_ceil(25)
    }

    /// The scheduler method, DPM-Solver++ multistep by default.
    pub fn scheduler_method(&self) -> SchedulerMethod {
        self.scheduler
            .as_ref()
            .map(|s| s.method)
            .unwrap_or_default()
    }
}
