//! LoRA adapters for Stable Diffusion, merged into the base weights as they load.
//!
//! A LoRA changes a layer's weight `W` (`[out, in]`, or a convolution's `[out, in, k, k]`)
//! by a low-rank product: `W' = W + scale * strength * up @ down`, with `down` `[rank, in
//! (, k, k)]` and `up` `[out, rank (, 1, 1)]`. [`Lora`] reads and checks the adapter file;
//! [`Lora::merge`] resolves it against one component of the base checkpoint (the UNet or
//! the CLIP text encoder), checking that every tensor it changes exists there with a
//! matching shape; the [`Merge`] it gives is the [`Deltas`] that the component's
//! [`Scope`](crate::weights::Scope) adds to the weights it loads. The merged model runs at
//! exactly the base model's cost.
//!
//! **Formats.** Both ways LoRAs are published are read:
//! - diffusers / peft (`pytorch_lora_weights.safetensors`): `unet.<module>.lora_A.weight`
//!   (`down`) and `lora_B.weight` (`up`), `text_encoder.<module>...` for the text encoder;
//!   also diffusers' older `<module>.lora.down.weight`, `lora_linear_layer.down.weight` and
//!   `<attention>.processor.to_q_lora.down.weight` names. The alpha comes from the header's
//!   `lora_adapter_metadata` (`unet.lora_alpha`, `unet.alpha_pattern`, `use_rslora`), or a
//!   `<module>.alpha` tensor.
//! - Kohya (most LoRAs in the wild): `lora_unet_<module path joined by _>.lora_down.weight`,
//!   `.lora_up.weight`, `.alpha`, and `lora_te_...` for the text encoder. The underscore path
//!   is ambiguous (`to_out_0` is `to_out.0`), so it is matched against the base checkpoint's
//!   own tensor names with `.` replaced by `_`; a path matching none or several is an error.
//!
//! **Scale.** `scale = alpha / rank` when the file gives an alpha (`alpha / sqrt(rank)` with
//! peft's `use_rslora`), else 1. Convolution LoRAs (LoCon: 4-D `down` and `up`, any kernel)
//! merge the same way. LyCORIS variants (LoHa, LoKr, Tucker `lora_mid`), DoRA, SDXL's second
//! text encoder and LDM-style block names are refused, naming the tensor. One divergence
//! from diffusers: a peft file with adapters of different ranks and no alpha is scaled by 1
//! here, by the first adapter's rank over each one's there.
//!
//! **Strength.** The task's `lora.weight` (1..100, meaning /100) is honoured as the
//! adapter's strength, as a user means it. The reference worker passes it to diffusers'
//! `load_lora_weights(..., lora_scale=weight)`, which ignores it, so the reference network
//! runs every LoRA at full strength (`shared/PROTOCOL.md`); the reference cases
//! (`lora-cases/`) apply it as we do.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::files::ModelFiles;
use crate::weights::{Deltas, SafetensorsFile};

/// The file read from a LoRA model whose task names none (`lora.weight_file_name` empty):
/// the name diffusers saves and loads by default.
pub const DEFAULT_WEIGHT_FILE: &str = "pytorch_lora_weights.safetensors";

/// The header key under which diffusers keeps the adapters' peft configuration.
const ADAPTER_METADATA_KEY: &str = "lora_adapter_metadata";

/// The path of the weight file a task's `lora.weight_file_name` names inside the LoRA
/// model ([`DEFAULT_WEIGHT_FILE`] when empty): a relative path to a `.safetensors` file,
/// without `.` or `..` components, so it cannot leave the model's folder.
pub fn weight_file(weight_file_name: &str) -> Result<String> {
    let name = weight_file_name.trim();
    if name.is_empty() {
        return Ok(DEFAULT_WEIGHT_FILE.to_owned());
    }
    let field = "lora.weight_file_name";
    if name.starts_with('/')
        || name.contains(['\\', ':', '\0'])
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(EngineError::argument(
            field,
            format!("{name:?} is not a relative path inside the LoRA model"),
        ));
    }
    if !name.ends_with(".safetensors") {
        return Err(EngineError::argument(
            field,
            format!("{name:?}: only .safetensors LoRA files are read (pickled files are not)"),
        ));
    }
    Ok(name.to_owned())
}

/// The part of the pipeline an adapter changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The UNet (`unet.` / `lora_unet_`).
    Unet,
    /// The CLIP text encoder (`text_encoder.` / `lora_te_`).
    TextEncoder,
}

impl Component {
    /// The component's name in diffusers' layout and in peft keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unet => "unet",
            Self::TextEncoder => "text_encoder",
        }
    }
}

/// How an adapter names the module it changes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Module {
    /// The dotted module path (peft, diffusers): `down_blocks.1.attentions.0.proj_in`.
    Path(String),
    /// Kohya's underscore-joined path (`down_blocks_1_attentions_0_proj_in`), resolved
    /// against the base checkpoint's names.
    Kohya(String),
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(path) | Self::Kohya(path) => f.write_str(path),
        }
    }
}

/// What a tensor of the LoRA file is to its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Down,
    Up,
    Alpha,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Self::Down => "down (lora_A / lora_down)",
            Self::Up => "up (lora_B / lora_up)",
            Self::Alpha => "alpha",
        }
    }
}

/// One adapter: `delta W = scale * up @ down` on one module.
#[derive(Clone, Debug)]
struct Adapter {
    component: Component,
    module: Module,
    /// The names of its factors in the LoRA file.
    down: String,
    up: String,
    /// `down`'s shape, `[rank, in (, k, k)]`.
    down_shape: Vec<usize>,
    /// `up`'s rows, the layer's output width.
    out: usize,
    /// Its own alpha (a Kohya `.alpha` tensor), if any.
    alpha: Option<f64>,
}

impl Adapter {
    fn rank(&self) -> usize {
        self.down_shape[0]
    }
}

/// The peft configuration diffusers keeps for one component in the header.
#[derive(Clone, Debug, Default)]
struct PeftConfig {
    lora_alpha: Option<f64>,
    /// `(pattern, alpha)`: peft matches a module whose name is the pattern or ends with
    /// `.pattern`.
    alpha_pattern: Vec<(String, f64)>,
    use_rslora: bool,
}

/// A LoRA adapter file, parsed and checked: every tensor is a factor or alpha of a known
/// format, every module has both factors, their shapes compose.
pub struct Lora<'a> {
    file: SafetensorsFile<'a>,
    adapters: Vec<Adapter>,
    configs: HashMap<Component, PeftConfig>,
}

impl Lora<'static> {
    /// Parses the safetensors `bytes`; `what` names the file in errors.
    pub fn from_bytes(what: impl Into<String>, bytes: Vec<u8>) -> Result<Self> {
        Self::parse(SafetensorsFile::from_bytes(what, bytes)?)
    }

    /// Reads `path` (see [`weight_file`]) from a LoRA model's `files`.
    pub fn read(files: &(impl ModelFiles + ?Sized), path: &str) -> Result<Self> {
        let bytes = files.required(path)?;
        Self::from_bytes(files.describe(path), bytes)
    }
}

impl<'a> Lora<'a> {
    /// Reads the adapters in `file`.
    pub fn parse(file: SafetensorsFile<'a>) -> Result<Self> {
        let bad = |name: &str, message: String| EngineError::BadTensor {
            what: file.what().to_owned(),
            name: name.to_owned(),
            message,
        };
        let mut names: Vec<&str> = file.names().collect();
        names.sort_unstable();
        if names.is_empty() {
            return Err(EngineError::InvalidModel(format!(
                "{}: the LoRA file holds no tensors",
                file.what()
            )));
        }
        let mut groups: BTreeMap<(Component, Module), [Option<&str>; 3]> = BTreeMap::new();
        for &name in &names {
            let (component, module, role) = classify(name).map_err(|why| bad(name, why))?;
            let slot = &mut groups.entry((component, module)).or_default()[role as usize];
            if let Some(first) = slot.replace(name) {
                return Err(bad(
                    name,
                    format!(
                        "a second {} factor for the module of `{first}`",
                        role.name()
                    ),
                ));
            }
        }
        let mut adapters = Vec::with_capacity(groups.len());
        for ((component, module), [down, up, alpha]) in groups {
            let present = down.or(up).or(alpha).unwrap_or_default();
            let (Some(down), Some(up)) = (down, up) else {
                let missing = if down.is_none() { Role::Down } else { Role::Up };
                return Err(bad(
                    present,
                    format!(
                        "module `{module}` of the {} has no {} factor",
                        component.name(),
                        missing.name()
                    ),
                ));
            };
            let down_shape = file.shape(down)?.to_vec();
            let up_shape = file.shape(up)?.to_vec();
            let rank = down_shape.first().copied().unwrap_or(0);
            if down_shape.len() < 2 || rank == 0 || down_shape.contains(&0) {
                return Err(bad(
                    down,
                    format!("shape {down_shape:?} is not a down factor [rank, in, ...]"),
                ));
            }
            if up_shape.len() < 2
                || up_shape[1] != rank
                || up_shape[0] == 0
                || up_shape[2..].iter().any(|&d| d != 1)
            {
                return Err(bad(
                    up,
                    format!(
                        "shape {up_shape:?} is not an up factor [out, {rank}] (or [out, {rank}, \
                         1, 1]) for down factor `{down}` of shape {down_shape:?}"
                    ),
                ));
            }
            let alpha = match alpha {
                None => None,
                Some(name) => {
                    let (values, shape) = file.read_f32(name)?;
                    match values.as_slice() {
                        [value] if value.is_finite() => Some(f64::from(*value)),
                        _ => {
                            return Err(bad(
                                name,
                                format!("an alpha must be one finite number, not {shape:?}"),
                            ));
                        }
                    }
                }
            };
            adapters.push(Adapter {
                component,
                module,
                down: down.to_owned(),
                up: up.to_owned(),
                down_shape,
                out: up_shape[0],
                alpha,
            });
        }
        let configs = match file.metadata(ADAPTER_METADATA_KEY) {
            Some(text) => peft_configs(file.what(), text)?,
            None => HashMap::new(),
        };
        Ok(Self {
            file,
            adapters,
            configs,
        })
    }

    /// How error messages name the file.
    pub fn what(&self) -> &str {
        self.file.what()
    }

    /// How many adapters (changed modules) the file holds for `component`.
    pub fn adapters(&self, component: Component) -> usize {
        self.adapters
            .iter()
            .filter(|a| a.component == component)
            .count()
    }

    /// Resolves the adapters of `component` against its base checkpoint `base` at
    /// `strength` (the task's `lora.weight` / 100): every module must be a tensor of `base`
    /// whose shape the factors compose to, else an error names the LoRA tensor.
    pub fn merge(
        &self,
        component: Component,
        base: &SafetensorsFile<'_>,
        strength: f64,
    ) -> Result<Merge<'_>> {
        if !(strength.is_finite() && strength > 0.0) {
            return Err(EngineError::argument(
                "lora.weight",
                format!("strength {strength} must be positive"),
            ));
        }
        let config = self.configs.get(&component).cloned().unwrap_or_default();
        let mut kohya: Option<HashMap<String, Vec<String>>> = None;
        let mut targets: BTreeMap<String, Target> = BTreeMap::new();
        for adapter in self.adapters.iter().filter(|a| a.component == component) {
            let bad = |message: String| EngineError::BadTensor {
                what: self.what().to_owned(),
                name: adapter.down.clone(),
                message,
            };
            let (target, module) = match &adapter.module {
                Module::Path(path) => {
                    let module = match component {
                        Component::Unet => path.as_str(),
                        Component::TextEncoder => path.strip_prefix("text_model.").unwrap_or(path),
                    };
                    let candidates = match component {
                        Component::Unet => vec![format!("{module}.weight")],
                        Component::TextEncoder => vec![
                            format!("text_model.{module}.weight"),
                            format!("{module}.weight"),
                        ],
                    };
                    let found = candidates.iter().find(|name| base.contains(name)).cloned();
                    let target = found.ok_or_else(|| {
                        bad(format!(
                            "changes `{}`, which {} does not have",
                            candidates[0],
                            base.what()
                        ))
                    })?;
                    (target, module.to_owned())
                }
                Module::Kohya(key) => {
                    let index = kohya.get_or_insert_with(|| kohya_index(component, base));
                    let key = match component {
                        Component::Unet => key.as_str(),
                        Component::TextEncoder => key.strip_prefix("text_model_").unwrap_or(key),
                    };
                    match index.get(key).map(Vec::as_slice) {
                        Some([target]) => {
                            let module = target.strip_suffix(".weight").unwrap_or(target);
                            let module = module.strip_prefix("text_model.").unwrap_or(module);
                            (target.clone(), module.to_owned())
                        }
                        Some(several) => {
                            return Err(bad(format!(
                                "Kohya module `{key}` could be any of {several:?} in {}",
                                base.what()
                            )));
                        }
                        None => {
                            return Err(bad(format!(
                                "Kohya module `{key}` is no weight of {} (only diffusers \
                                 module names are mapped, not LDM/SGM block names)",
                                base.what()
                            )));
                        }
                    }
                }
            };
            let shape = base.shape(&target)?.to_vec();
            let trimmed = |dims: &[usize]| {
                let end = dims.iter().rposition(|&d| d != 1).map_or(0, |i| i + 1);
                dims[..end].to_vec()
            };
            if shape.len() < 2
                || shape[0] != adapter.out
                || trimmed(&shape[1..]) != trimmed(&adapter.down_shape[1..])
            {
                return Err(bad(format!(
                    "factors `{}` {:?} and `{}` [{}, {}, ...] make a change of shape [{}, {}], \
                     but `{target}` in {} has shape {shape:?}",
                    adapter.down,
                    adapter.down_shape,
                    adapter.up,
                    adapter.out,
                    adapter.rank(),
                    adapter.out,
                    adapter.down_shape[1..]
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    base.what()
                )));
            }
            let alpha = match adapter.alpha {
                Some(alpha) => Some(alpha),
                None => config.alpha_for(&module).map_err(bad)?,
            };
            let rank = adapter.rank() as f64;
            let scale = match alpha {
                Some(alpha) if config.use_rslora => alpha / rank.sqrt(),
                Some(alpha) => alpha / rank,
                None => 1.0,
            };
            let merged = Target {
                down: adapter.down.clone(),
                up: adapter.up.clone(),
                rank: adapter.rank(),
                out: adapter.out,
                multiplier: scale * strength,
                shape,
            };
            if let Some(other) = targets.insert(target.clone(), merged) {
                return Err(bad(format!(
                    "changes `{target}`, which `{}` changes too",
                    other.down
                )));
            }
        }
        Ok(Merge {
            file: &self.file,
            component,
            targets,
            applied: RefCell::new(BTreeSet::new()),
        })
    }
}

/// Where tensor `name` of a LoRA file belongs, or why it does not.
fn classify(name: &str) -> std::result::Result<(Component, Module, Role), String> {
    const SDXL: &str = "changes a second text encoder (SDXL), which this pipeline does not have";
    let kohya = [
        ("lora_unet_", Component::Unet),
        ("lora_te_", Component::TextEncoder),
        ("lora_te1_", Component::TextEncoder),
    ];
    if name.starts_with("lora_te2_") {
        return Err(SDXL.into());
    }
    if let Some((component, rest)) = kohya
        .iter()
        .find_map(|(prefix, component)| Some((*component, name.strip_prefix(prefix)?)))
    {
        let (key, suffix) = rest.split_once('.').unwrap_or((rest, ""));
        let role = match suffix {
            "lora_down.weight" => Role::Down,
            "lora_up.weight" => Role::Up,
            "alpha" => Role::Alpha,
            _ => return Err(unsupported(name)),
        };
        if key.is_empty() {
            return Err("names no module".into());
        }
        return Ok((component, Module::Kohya(key.to_owned()), role));
    }
    if name.starts_with("text_encoder_2.") {
        return Err(SDXL.into());
    }
    let (component, rest) = if let Some(rest) = name.strip_prefix("unet.") {
        (Component::Unet, rest)
    } else if let Some(rest) = name.strip_prefix("text_encoder.") {
        (Component::TextEncoder, rest)
    } else if name.starts_with("lora_") {
        return Err(
            "is a Kohya name of no component this pipeline has (lora_unet_, lora_te_)".into(),
        );
    } else {
        // Unprefixed diffusers keys (`unet.save_attn_procs`) are the UNet's.
        (Component::Unet, name)
    };
    const SUFFIXES: [(&str, Role); 9] = [
        (".lora_A.weight", Role::Down),
        (".lora_B.weight", Role::Up),
        (".lora.down.weight", Role::Down),
        (".lora.up.weight", Role::Up),
        (".lora_linear_layer.down.weight", Role::Down),
        (".lora_linear_layer.up.weight", Role::Up),
        (".lora_down.weight", Role::Down),
        (".lora_up.weight", Role::Up),
        (".alpha", Role::Alpha),
    ];
    let module = |path: &str| {
        if path.is_empty() {
            Err("names no module".to_owned())
        } else {
            Ok(Module::Path(path.to_owned()))
        }
    };
    if let Some((path, role)) = SUFFIXES
        .iter()
        .find_map(|(suffix, role)| Some((rest.strip_suffix(suffix)?, *role)))
    {
        return Ok((component, module(path)?, role));
    }
    // diffusers' attention-processor format: `<attention>.processor.to_q_lora.down.weight`.
    if let Some((attention, tail)) = rest.split_once(".processor.") {
        for (projection, layer) in [
            ("to_q_lora", "to_q"),
            ("to_k_lora", "to_k"),
            ("to_v_lora", "to_v"),
            ("to_out_lora", "to_out.0"),
        ] {
            let role = match tail.strip_prefix(projection) {
                Some(".down.weight") => Role::Down,
                Some(".up.weight") => Role::Up,
                _ => continue,
            };
            return Ok((component, module(&format!("{attention}.{layer}"))?, role));
        }
    }
    Err(unsupported(name))
}

/// Why tensor `name`, of an adapter kind this engine does not merge, is refused.
fn unsupported(name: &str) -> String {
    let what = if name.contains("hada_") {
        "a LoHa (LyCORIS) factor"
    } else if name.contains("lokr_") {
        "a LoKr (LyCORIS) factor"
    } else if name.contains("lora_mid") {
        "a Tucker (LoCon lora_mid) factor"
    } else if name.contains("dora_scale") || name.contains("magnitude") {
        "a DoRA magnitude"
    } else if name.ends_with("bias") || name.ends_with(".diff") || name.ends_with(".diff_b") {
        "a bias or a full weight difference"
    } else {
        "not a LoRA factor (lora_A/lora_B, lora_down/lora_up or alpha)"
    };
    format!("{what}: this engine merges plain LoRA factors only")
}

/// The base checkpoint's weights by Kohya's name for them: the module path (without
/// `text_model.` for the text encoder) with `.` replaced by `_`.
fn kohya_index(component: Component, base: &SafetensorsFile<'_>) -> HashMap<String, Vec<String>> {
    let mut index: HashMap<String, Vec<String>> = HashMap::new();
    for name in base.names() {
        let Some(module) = name.strip_suffix(".weight") else {
            continue;
        };
        let module = match component {
            Component::Unet => module,
            Component::TextEncoder => module.strip_prefix("text_model.").unwrap_or(module),
        };
        index
            .entry(module.replace('.', "_"))
            .or_default()
            .push(name.to_owned());
    }
    for names in index.values_mut() {
        names.sort_unstable();
    }
    index
}

/// The peft configurations in the header's `lora_adapter_metadata`: a JSON object with
/// keys `unet.lora_alpha`, `text_encoder.alpha_pattern`, ... (or one object per component).
fn peft_configs(what: &str, text: &str) -> Result<HashMap<Component, PeftConfig>> {
    let invalid = |message: String| {
        EngineError::InvalidModel(format!("{what}: {ADAPTER_METADATA_KEY}: {message}"))
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| EngineError::json(format!("{what}: {ADAPTER_METADATA_KEY}"), e))?;
    let Value::Object(entries) = value else {
        return Err(invalid("not a JSON object".into()));
    };
    let mut fields: HashMap<Component, serde_json::Map<String, Value>> = HashMap::new();
    for (key, value) in entries {
        for component in [Component::Unet, Component::TextEncoder] {
            let prefix = component.name();
            if key == prefix
                && let Value::Object(nested) = &value
            {
                fields.entry(component).or_default().extend(nested.clone());
            } else if let Some(field) = key
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('.'))
            {
                fields
                    .entry(component)
                    .or_default()
                    .insert(field.to_owned(), value.clone());
            }
        }
    }
    let number = |component: Component, field: &str, value: &Value| {
        value.as_f64().filter(|v| v.is_finite()).ok_or_else(|| {
            invalid(format!(
                "{}.{field}: {value} is not a number",
                component.name()
            ))
        })
    };
    let mut configs = HashMap::new();
    for (component, fields) in fields {
        let mut config = PeftConfig::default();
        if let Some(value) = fields.get("lora_alpha").filter(|v| !v.is_null()) {
            config.lora_alpha = Some(number(component, "lora_alpha", value)?);
        }
        if let Some(Value::Object(patterns)) = fields.get("alpha_pattern") {
            for (pattern, value) in patterns {
                let alpha = number(component, &format!("alpha_pattern.{pattern}"), value)?;
                config.alpha_pattern.push((pattern.clone(), alpha));
            }
        }
        config.use_rslora = fields.get("use_rslora").and_then(Value::as_bool) == Some(true);
        if fields.get("use_dora").and_then(Value::as_bool) == Some(true) {
            return Err(EngineError::Unsupported(format!(
                "{what}: a DoRA adapter ({}.use_dora): this engine merges plain LoRA factors only",
                component.name()
            )));
        }
        configs.insert(component, config);
    }
    Ok(configs)
}

impl PeftConfig {
    /// The alpha of `module` (its dotted path in the component, without the text encoder's
    /// `text_model.`): the one `alpha_pattern` entry matching it, else `lora_alpha`.
    fn alpha_for(&self, module: &str) -> std::result::Result<Option<f64>, String> {
        let matching: Vec<&(String, f64)> = self
            .alpha_pattern
            .iter()
            .filter(|(pattern, _)| {
                let pattern = pattern.strip_prefix("text_model.").unwrap_or(pattern);
                module == pattern
                    || module
                        .strip_suffix(pattern)
                        .is_some_and(|head| head.ends_with('.'))
            })
            .collect();
        match matching.as_slice() {
            [] => Ok(self.lora_alpha),
            [(_, alpha)] => Ok(Some(*alpha)),
            several => Err(format!(
                "module `{module}` matches several alpha_pattern entries: {:?}",
                several.iter().map(|(p, _)| p).collect::<Vec<_>>()
            )),
        }
    }
}

/// One weight a [`Merge`] changes.
#[derive(Clone, Debug)]
struct Target {
    down: String,
    up: String,
    rank: usize,
    out: usize,
    /// `scale * strength`.
    multiplier: f64,
    /// The base weight's shape.
    shape: Vec<usize>,
}

/// A [`Lora`]'s adapters for one component, resolved against its base checkpoint: the
/// [`Deltas`] its loader adds (`scale * strength * up @ down`, computed on the device).
///
/// It records what was merged, so [`Merge::finish`] can refuse an adapter the loaded model
/// never used (a tensor the base file has but this engine's architecture does not load):
/// a LoRA is applied entirely or not at all.
pub struct Merge<'a> {
    file: &'a SafetensorsFile<'a>,
    component: Component,
    targets: BTreeMap<String, Target>,
    applied: RefCell<BTreeSet<String>>,
}

impl Merge<'_> {
    /// The base tensors this merge changes, by their full names in the base file.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.targets.keys().map(String::as_str)
    }

    /// The `scale * strength` applied to the change of base tensor `name`.
    pub fn multiplier(&self, name: &str) -> Option<f64> {
        self.targets.get(name).map(|t| t.multiplier)
    }

    /// Checks that the model loaded every tensor this merge changes.
    pub fn finish(&self) -> Result<()> {
        let applied = self.applied.borrow();
        match self
            .targets
            .iter()
            .find(|(name, _)| !applied.contains(*name))
        {
            None => Ok(()),
            Some((name, target)) => Err(EngineError::BadTensor {
                what: self.file.what().to_owned(),
                name: target.down.clone(),
                message: format!(
                    "changes `{name}`, which this engine's {} does not load",
                    self.component.name()
                ),
            }),
        }
    }
}

impl Deltas for Merge<'_> {
    fn delta(&self, name: &str, shape: &[usize], device: &Device) -> Result<Option<Tensor<2>>> {
        let Some(target) = self.targets.get(name) else {
            return Ok(None);
        };
        if shape != target.shape.as_slice() {
            return Err(EngineError::BadTensor {
                what: self.file.what().to_owned(),
                name: target.down.clone(),
                message: format!(
                    "changes `{name}` of shape {:?}, loaded as {shape:?}",
                    target.shape
                ),
            });
        }
        let (down, _) = self.file.read_f32(&target.down)?;
        let (up, _) = self.file.read_f32(&target.up)?;
        let width = down.len() / target.rank;
        let down = Tensor::<2>::from_data(TensorData::new(down, [target.rank, width]), device);
        let up = Tensor::<2>::from_data(TensorData::new(up, [target.out, target.rank]), device);
        self.applied.borrow_mut().insert(name.to_owned());
        Ok(Some(up.matmul(down) * target.multiplier))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::Scope;
    use safetensors::{Dtype, tensor::TensorView};

    /// A safetensors file of f32 tensors `(name, shape, values)`, with header `metadata`.
    fn file(
        what: &str,
        tensors: &[(&str, Vec<usize>, Vec<f32>)],
        metadata: Option<(&str, &str)>,
    ) -> SafetensorsFile<'static> {
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let views = tensors.iter().zip(&bytes).map(|((name, shape, _), bytes)| {
            (
                name.to_string(),
                TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap(),
            )
        });
        let metadata = metadata.map(|(k, v)| HashMap::from([(k.to_owned(), v.to_owned())]));
        let data = safetensors::serialize(views, metadata).unwrap();
        SafetensorsFile::from_bytes(what, data).unwrap()
    }

    fn counting(n: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 - n as f32 / 2.0) * scale)
            .collect()
    }

    fn base() -> SafetensorsFile<'static> {
        file(
            "base.safetensors",
            &[
                ("blocks.0.to_q.weight", vec![3, 2], counting(6, 1.0)),
                ("blocks.0.to_out.0.weight", vec![3, 3], counting(9, 0.5)),
                ("blocks.0.conv.weight", vec![2, 3, 3, 3], counting(54, 0.1)),
                (
                    "blocks.0.proj_in.weight",
                    vec![3, 3, 1, 1],
                    counting(9, 0.2),
                ),
                ("blocks.0.unused.weight", vec![2, 2], counting(4, 1.0)),
            ],
            None,
        )
    }

    fn lora(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Result<Lora<'static>> {
        Lora::parse(file("lora.safetensors", tensors, None))
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn device() -> Device {
        crate::device::Backend::Cpu.device().unwrap()
    }

    /// `multiplier * up @ down`, on the CPU in f64.
    fn product(up: &[f32], down: &[f32], out: usize, rank: usize, multiplier: f64) -> Vec<f32> {
        let width = down.len() / rank;
        (0..out * width)
            .map(|i| {
                let (row, col) = (i / width, i % width);
                let sum: f64 = (0..rank)
                    .map(|r| f64::from(up[row * rank + r]) * f64::from(down[r * width + col]))
                    .sum();
                (sum * multiplier) as f32
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    #[test]
    fn peft_kohya_and_old_diffusers_names_merge_alike() {
        let (down, up) = (counting(4, 0.3), counting(6, 0.7));
        let forms = [
            vec![
                ("unet.blocks.0.to_q.lora_A.weight", vec![2, 2], down.clone()),
                ("unet.blocks.0.to_q.lora_B.weight", vec![3, 2], up.clone()),
            ],
            vec![
                ("blocks.0.to_q.lora.down.weight", vec![2, 2], down.clone()),
                ("blocks.0.to_q.lora.up.weight", vec![3, 2], up.clone()),
            ],
            vec![
                (
                    "lora_unet_blocks_0_to_q.lora_down.weight",
                    vec![2, 2],
                    down.clone(),
                ),
                (
                    "lora_unet_blocks_0_to_q.lora_up.weight",
                    vec![3, 2],
                    up.clone(),
                ),
                ("lora_unet_blocks_0_to_q.alpha", vec![], vec![2.0]),
            ],
        ];
        let base = base();
        let device = device();
        let expected = product(&up, &down, 3, 2, 0.5);
        for tensors in forms {
            let lora = lora(&tensors).unwrap();
            let merge = lora.merge(Component::Unet, &base, 0.5).unwrap();
            assert_eq!(
                merge.targets().collect::<Vec<_>>(),
                ["blocks.0.to_q.weight"]
            );
            let delta = merge
                .delta("blocks.0.to_q.weight", &[3, 2], &device)
                .unwrap()
                .unwrap();
            assert!(close(&values(delta), &expected), "{tensors:?}");
        }
    }

    #[test]
    fn kohya_names_resolve_against_the_checkpoint_and_ambiguity_is_refused() {
        let lora = lora(&[
            (
                "lora_unet_blocks_0_to_out_0.lora_down.weight",
                vec![1, 3],
                counting(3, 1.0),
            ),
            (
                "lora_unet_blocks_0_to_out_0.lora_up.weight",
                vec![3, 1],
                counting(3, 1.0),
            ),
        ])
        .unwrap();
        let merge = lora.merge(Component::Unet, &base(), 1.0).unwrap();
        assert_eq!(
            merge.targets().collect::<Vec<_>>(),
            ["blocks.0.to_out.0.weight"]
        );
        let ambiguous = file(
            "ambiguous.safetensors",
            &[
                ("blocks.0.to_out_0.weight", vec![3, 3], counting(9, 1.0)),
                ("blocks.0.to_out.0.weight", vec![3, 3], counting(9, 1.0)),
            ],
            None,
        );
        let error = lora
            .merge(Component::Unet, &ambiguous, 1.0)
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("lora_unet_blocks_0_to_out_0.lora_down.weight")
                && error.contains("blocks.0.to_out_0.weight")
                && error.contains("blocks.0.to_out.0.weight"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_target_is_named() {
        for (down, up) in [
            (
                "unet.blocks.7.to_q.lora_A.weight",
                "unet.blocks.7.to_q.lora_B.weight",
            ),
            (
                "lora_unet_blocks_7_to_q.lora_down.weight",
                "lora_unet_blocks_7_to_q.lora_up.weight",
            ),
        ] {
            let lora = lora(&[
                (down, vec![2, 2], counting(4, 1.0)),
                (up, vec![3, 2], counting(6, 1.0)),
            ])
            .unwrap();
            let error = lora
                .merge(Component::Unet, &base(), 1.0)
                .err()
                .unwrap()
                .to_string();
            assert!(
                error.contains(down) && error.contains("lora.safetensors"),
                "{error}"
            );
            assert!(
                error.contains("blocks") && error.contains("to_q"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_shape_mismatch_is_named() {
        // to_q is [3, 2]: a down factor for 4 inputs does not fit it.
        let lora = lora(&[
            (
                "unet.blocks.0.to_q.lora_A.weight",
                vec![2, 4],
                counting(8, 1.0),
            ),
            (
                "unet.blocks.0.to_q.lora_B.weight",
                vec![3, 2],
                counting(6, 1.0),
            ),
        ])
        .unwrap();
        let error = lora
            .merge(Component::Unet, &base(), 1.0)
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("unet.blocks.0.to_q.lora_A.weight")
                && error.contains("blocks.0.to_q.weight")
                && error.contains("[3, 2]"),
            "{error}"
        );
        // An up factor whose rank differs from its down factor's.
        let error = lora_error(&[
            (
                "unet.blocks.0.to_q.lora_A.weight",
                vec![2, 2],
                counting(4, 1.0),
            ),
            (
                "unet.blocks.0.to_q.lora_B.weight",
                vec![3, 1],
                counting(3, 1.0),
            ),
        ]);
        assert!(
            error.contains("unet.blocks.0.to_q.lora_B.weight"),
            "{error}"
        );
    }

    fn lora_error(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> String {
        lora(tensors).err().unwrap().to_string()
    }

    #[test]
    fn incomplete_and_unsupported_files_are_refused_by_tensor() {
        let error = lora_error(&[(
            "unet.blocks.0.to_q.lora_A.weight",
            vec![2, 2],
            counting(4, 1.0),
        )]);
        assert!(
            error.contains("unet.blocks.0.to_q.lora_A.weight") && error.contains("up"),
            "{error}"
        );
        let error = lora_error(&[("lora_unet_blocks_0_to_q.alpha", vec![], vec![4.0])]);
        assert!(error.contains("lora_unet_blocks_0_to_q.alpha"), "{error}");
        for (name, words) in [
            ("lora_unet_blocks_0_to_q.hada_w1_a", "LoHa"),
            ("lora_unet_blocks_0_conv.lora_mid.weight", "Tucker"),
            ("lora_unet_blocks_0_to_q.dora_scale", "DoRA"),
            (
                "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
                "SDXL",
            ),
            (
                "text_encoder_2.text_model.encoder.layers.0.mlp.fc1.lora_A.weight",
                "SDXL",
            ),
            ("unet.blocks.0.to_q.weight", "not a LoRA factor"),
        ] {
            let error = lora_error(&[(name, vec![2, 2], counting(4, 1.0))]);
            assert!(error.contains(name) && error.contains(words), "{error}");
        }
        let error = lora_error(&[
            (
                "lora_unet_blocks_0_to_q.lora_down.weight",
                vec![2, 2],
                counting(4, 1.0),
            ),
            (
                "lora_unet_blocks_0_to_q.lora_up.weight",
                vec![3, 2],
                counting(6, 1.0),
            ),
            ("lora_unet_blocks_0_to_q.alpha", vec![2], vec![1.0, 2.0]),
        ]);
        assert!(error.contains("lora_unet_blocks_0_to_q.alpha"), "{error}");
    }

    #[test]
    fn conv_loras_merge_into_convolutions_and_1x1_projections() {
        let device = device();
        let base = base();
        let (down, up) = (counting(27, 0.05), counting(2, 1.5));
        let (pdown, pup) = (counting(6, 0.2), counting(6, 0.4));
        let lora = lora(&[
            (
                "lora_unet_blocks_0_conv.lora_down.weight",
                vec![1, 3, 3, 3],
                down.clone(),
            ),
            (
                "lora_unet_blocks_0_conv.lora_up.weight",
                vec![2, 1, 1, 1],
                up.clone(),
            ),
            ("lora_unet_blocks_0_conv.alpha", vec![], vec![1.0]),
            // A linear LoRA (peft) on a 1x1 convolution.
            (
                "unet.blocks.0.proj_in.lora_A.weight",
                vec![2, 3],
                pdown.clone(),
            ),
            (
                "unet.blocks.0.proj_in.lora_B.weight",
                vec![3, 2],
                pup.clone(),
            ),
        ])
        .unwrap();
        let merge = lora.merge(Component::Unet, &base, 1.0).unwrap();
        let scope = Scope::detect(&base, &[""], "blocks.0.conv.weight")
            .unwrap()
            .with_deltas(Some(&merge));
        let conv: Vec<f32> = scope
            .tensor("blocks.0.conv.weight", [2, 3, 3, 3], &device)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let delta = product(&up, &down, 2, 1, 1.0);
        let expected: Vec<f32> = counting(54, 0.1)
            .iter()
            .zip(&delta)
            .map(|(w, d)| w + d)
            .collect();
        assert!(close(&conv, &expected));
        let proj: Vec<f32> = scope
            .tensor("blocks.0.proj_in.weight", [3, 3, 1, 1], &device)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let delta = product(&pup, &pdown, 3, 2, 1.0);
        let expected: Vec<f32> = counting(9, 0.2)
            .iter()
            .zip(&delta)
            .map(|(w, d)| w + d)
            .collect();
        assert!(close(&proj, &expected));
        merge.finish().unwrap();
    }

    #[test]
    fn a_target_the_model_never_loads_fails_the_merge() {
        let lora = lora(&[
            (
                "unet.blocks.0.unused.lora_A.weight",
                vec![1, 2],
                counting(2, 1.0),
            ),
            (
                "unet.blocks.0.unused.lora_B.weight",
                vec![2, 1],
                counting(2, 1.0),
            ),
        ])
        .unwrap();
        let merge = lora.merge(Component::Unet, &base(), 1.0).unwrap();
        let error = merge.finish().unwrap_err().to_string();
        assert!(
            error.contains("unet.blocks.0.unused.lora_A.weight")
                && error.contains("blocks.0.unused.weight")
                && error.contains("does not load"),
            "{error}"
        );
    }

    #[test]
    fn alphas_come_from_tensors_or_the_peft_metadata() {
        let tensors = [
            (
                "unet.blocks.0.to_q.lora_A.weight",
                vec![2, 2],
                counting(4, 1.0),
            ),
            (
                "unet.blocks.0.to_q.lora_B.weight",
                vec![3, 2],
                counting(6, 1.0),
            ),
            (
                "unet.blocks.0.to_out.0.lora_A.weight",
                vec![2, 3],
                counting(6, 1.0),
            ),
            (
                "unet.blocks.0.to_out.0.lora_B.weight",
                vec![3, 2],
                counting(6, 1.0),
            ),
            (
                "text_encoder.layers.0.fc1.lora_A.weight",
                vec![2, 3],
                counting(6, 1.0),
            ),
            (
                "text_encoder.layers.0.fc1.lora_B.weight",
                vec![3, 2],
                counting(6, 1.0),
            ),
        ];
        let base = base();
        let multipliers = |metadata: Option<&str>| {
            let lora = Lora::parse(file(
                "lora.safetensors",
                &tensors,
                metadata.map(|m| (ADAPTER_METADATA_KEY, m)),
            ))
            .unwrap();
            let merge = lora.merge(Component::Unet, &base, 0.5).unwrap();
            [
                merge.multiplier("blocks.0.to_q.weight").unwrap(),
                merge.multiplier("blocks.0.to_out.0.weight").unwrap(),
            ]
        };
        assert_eq!(multipliers(None), [0.5, 0.5]);
        assert_eq!(
            multipliers(Some(
                r#"{"unet.r": 2, "unet.lora_alpha": 8, "text_encoder.lora_alpha": 1}"#
            )),
            [2.0, 2.0]
        );
        assert_eq!(
            multipliers(Some(
                r#"{"unet.lora_alpha": 8, "unet.alpha_pattern": {"to_out.0": 2}}"#
            )),
            [2.0, 0.5]
        );
        assert_eq!(
            multipliers(Some(r#"{"unet": {"lora_alpha": 8, "use_rslora": true}}"#)),
            [8.0 / 2f64.sqrt() * 0.5; 2]
        );
        let error = Lora::parse(file(
            "lora.safetensors",
            &tensors,
            Some((ADAPTER_METADATA_KEY, r#"{"unet.use_dora": true}"#)),
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(error.contains("DoRA"), "{error}");
    }

    #[test]
    fn text_encoder_loras_resolve_with_or_without_text_model() {
        let prefixed = file(
            "te.safetensors",
            &[(
                "text_model.encoder.layers.0.mlp.fc1.weight",
                vec![3, 2],
                counting(6, 1.0),
            )],
            None,
        );
        let bare = file(
            "te.safetensors",
            &[(
                "encoder.layers.0.mlp.fc1.weight",
                vec![3, 2],
                counting(6, 1.0),
            )],
            None,
        );
        for names in [
            [
                "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight",
                "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_B.weight",
            ],
            [
                "text_encoder.encoder.layers.0.mlp.fc1.lora_linear_layer.down.weight",
                "text_encoder.encoder.layers.0.mlp.fc1.lora_linear_layer.up.weight",
            ],
            [
                "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
                "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight",
            ],
        ] {
            let lora = lora(&[
                (names[0], vec![1, 2], counting(2, 1.0)),
                (names[1], vec![3, 1], counting(3, 1.0)),
            ])
            .unwrap();
            assert_eq!(
                (
                    lora.adapters(Component::TextEncoder),
                    lora.adapters(Component::Unet)
                ),
                (1, 0)
            );
            for (base, target) in [
                (&prefixed, "text_model.encoder.layers.0.mlp.fc1.weight"),
                (&bare, "encoder.layers.0.mlp.fc1.weight"),
            ] {
                let merge = lora.merge(Component::TextEncoder, base, 1.0).unwrap();
                assert_eq!(merge.targets().collect::<Vec<_>>(), [target], "{names:?}");
                // The UNet's merge has nothing to do.
                assert_eq!(
                    lora.merge(Component::Unet, base, 1.0)
                        .unwrap()
                        .targets()
                        .count(),
                    0
                );
            }
        }
    }

    #[test]
    fn weight_file_names_stay_inside_the_model() {
        assert_eq!(weight_file("").unwrap(), DEFAULT_WEIGHT_FILE);
        assert_eq!(
            weight_file("sub/style.safetensors").unwrap(),
            "sub/style.safetensors"
        );
        for bad in [
            "../escape.safetensors",
            "/etc/lora.safetensors",
            "a//b.safetensors",
            "C:\\lora.safetensors",
            "lora.bin",
            "./lora.safetensors",
        ] {
            let error = weight_file(bad).unwrap_err().to_string();
            assert!(error.contains("lora.weight_file_name"), "{bad}: {error}");
        }
    }
}
