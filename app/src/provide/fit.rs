//! What this browser can serve: which of the relay's models fit its GPU (or, on the CPU
//! backend, are tiny enough), which task types that leaves, and which backend to offer.

use relay_api::{Layout, ModelListing};
use worker_protocol::{Backend, Capability};

use crate::format::mib;

/// Largest model the CPU (wasm) backend is offered: the tiny models only.
pub const CPU_MODEL_LIMIT: u64 = 50 * 1_000_000;

/// The backend to offer first: WebGPU when the browser has a hardware adapter, otherwise
/// the wasm CPU backend. A software adapter (SwiftShader) emulates the GPU on the CPU far
/// more slowly than the CPU backend computes: `cargo xtask bench node` measured 13.9 s per
/// step of the tiny SD task on SwiftShader against 0.61 s on the wasm CPU backend.
pub fn default_backend(capability: Option<&Capability>) -> Backend {
    match capability.and_then(|c| c.webgpu.as_ref()) {
        Some(adapter) if !adapter.software => Backend::Webgpu,
        _ => Backend::Cpu,
    }
}

/// The backend's name on the page and in `<option value>`.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Webgpu => "webgpu",
        Backend::Cpu => "cpu",
    }
}

/// The backend named `name` (`webgpu` or `cpu`).
pub fn parse_backend(name: &str) -> Option<Backend> {
    match name {
        "webgpu" => Some(Backend::Webgpu),
        "cpu" => Some(Backend::Cpu),
        _ => None,
    }
}

/// The kind of task a model serves.
pub fn task_kind(layout: Layout) -> &'static str {
    match layout {
        Layout::DiffusersPipeline => "images (Stable Diffusion)",
        Layout::Transformers => "text (LLM)",
        Layout::Lora => "LoRA adapters for images",
        Layout::Other => "no known task type",
    }
}

/// Whether one of the relay's models can be served from this browser, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFit {
    /// The model's name.
    pub name: String,
    /// Its layout (the task type it serves).
    pub layout: Layout,
    /// Its total bytes.
    pub size: u64,
    /// Its largest file's bytes.
    pub largest_file: u64,
    /// Why it cannot be served here; `None` when it can (or when nothing is known yet).
    pub problem: Option<String>,
}

impl ModelFit {
    /// Whether it can be served here.
    pub fn fits(&self) -> bool {
        self.problem.is_none()
    }
}

/// Judges each of the relay's models against this browser: on WebGPU every file must fit
/// one GPU buffer (`maxBufferSize`), on the CPU backend the whole model must be a tiny one
/// (under [`CPU_MODEL_LIMIT`]); either way it must fit the storage left to this origin.
/// Before the browser was probed (`capability` is `None`) nothing is ruled out.
pub fn model_fits(
    models: &[ModelListing],
    capability: Option<&Capability>,
    backend: Backend,
) -> Vec<ModelFit> {
    models
        .iter()
        .map(|model| {
            let largest_file = model.files.iter().map(|f| f.size).max().unwrap_or(0);
            let size = model.size.max(model.files.iter().map(|f| f.size).sum());
            let problem =
                capability.and_then(|c| fit_problem(model, size, largest_file, c, backend));
            ModelFit {
                name: model.name.clone(),
                layout: model.layout,
                size,
                largest_file,
                problem,
            }
        })
        .collect()
}

fn fit_problem(
    model: &ModelListing,
    size: u64,
    largest_file: u64,
    capability: &Capability,
    backend: Backend,
) -> Option<String> {
    if model.layout == Layout::Other {
        return Some("the engine runs no task of this layout".into());
    }
    match (backend, &capability.webgpu) {
        (Backend::Webgpu, None) => {
            return Some(format!(
                "this browser has no WebGPU ({})",
                capability.webgpu_missing.as_deref().unwrap_or("no adapter")
            ));
        }
        (Backend::Webgpu, Some(adapter)) if largest_file as f64 > adapter.max_buffer => {
            return Some(format!(
                "a file of {} MiB exceeds the GPU's largest buffer ({} MiB)",
                mib(largest_file as f64),
                mib(adapter.max_buffer)
            ));
        }
        (Backend::Cpu, _) if size > CPU_MODEL_LIMIT => {
            return Some(format!(
                "{} MiB is too large for the CPU backend (tiny models under {} MiB only)",
                mib(size as f64),
                mib(CPU_MODEL_LIMIT as f64)
            ));
        }
        _ => {}
    }
    if let Some(quota) = capability.storage_quota {
        let free = (quota - capability.storage_usage.unwrap_or(0.0)).max(0.0);
        if size as f64 > free {
            return Some(format!(
                "{} MiB exceeds the storage left to this site ({} MiB)",
                mib(size as f64),
                mib(free)
            ));
        }
    }
    None
}

/// One task type, and whether this browser can serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTypeFit {
    /// `images (Stable Diffusion)` or `text (LLM)`.
    pub kind: &'static str,
    /// The relay's models of this type that fit.
    pub models: Vec<String>,
    /// Why none can be served, when none can.
    pub why_not: Option<String>,
}

/// Which task types this browser can serve, given the models' fits.
pub fn task_types(fits: &[ModelFit]) -> Vec<TaskTypeFit> {
    [Layout::DiffusersPipeline, Layout::Transformers]
        .into_iter()
        .map(|layout| {
            let of_kind: Vec<&ModelFit> = fits.iter().filter(|f| f.layout == layout).collect();
            let models: Vec<String> = of_kind
                .iter()
                .filter(|f| f.fits())
                .map(|f| f.name.clone())
                .collect();
            let why_not = if !models.is_empty() {
                None
            } else if of_kind.is_empty() {
                Some("the relay holds no model of this type".to_owned())
            } else {
                Some(
                    of_kind
                        .iter()
                        .filter_map(|f| f.problem.as_ref().map(|p| format!("{}: {p}", f.name)))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            };
            TaskTypeFit {
                kind: task_kind(layout),
                models,
                why_not,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloy::primitives::B256;
    use relay_api::ModelFile;
    use worker_protocol::Adapter;

    pub(crate) fn listing(name: &str, layout: Layout, files: &[u64]) -> ModelListing {
        ModelListing {
            name: name.into(),
            layout,
            size: files.iter().sum(),
            files: files
                .iter()
                .enumerate()
                .map(|(i, size)| ModelFile {
                    path: format!("f{i}"),
                    sha256: B256::ZERO,
                    size: *size,
                })
                .collect(),
        }
    }

    pub(crate) fn gpu(max_buffer: f64) -> Capability {
        Capability {
            webgpu: Some(Adapter {
                name: "Test GPU".into(),
                max_binding: max_buffer,
                max_buffer,
                ..Adapter::default()
            }),
            cores: 8,
            storage_quota: Some(10e9),
            storage_usage: Some(0.0),
            ..Capability::default()
        }
    }

    const MB: u64 = 1_000_000;

    #[test]
    fn models_fit_by_buffer_size_on_webgpu_and_by_total_size_on_cpu() {
        let models = [
            listing("sd-tiny", Layout::DiffusersPipeline, &[3 * MB, 2 * MB]),
            listing("sd-1.5", Layout::DiffusersPipeline, &[3400 * MB, 500 * MB]),
            listing("gpt2-tiny", Layout::Transformers, &[MB]),
            listing("gpt2", Layout::Transformers, &[30 * MB, 30 * MB]),
        ];
        let fits = model_fits(&models, Some(&gpu(2e9)), Backend::Webgpu);
        let ok: Vec<_> = fits
            .iter()
            .filter(|f| f.fits())
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(ok, ["sd-tiny", "gpt2-tiny", "gpt2"]);
        let big = fits.iter().find(|f| f.name == "sd-1.5").unwrap();
        assert!(
            big.problem.as_ref().unwrap().contains("largest buffer"),
            "{big:?}"
        );
        assert_eq!(big.largest_file, 3400 * MB);

        let cpu = Capability {
            webgpu_missing: Some("navigator.gpu is undefined".into()),
            cores: 2,
            ..Capability::default()
        };
        let fits = model_fits(&models, Some(&cpu), Backend::Cpu);
        let ok: Vec<_> = fits
            .iter()
            .filter(|f| f.fits())
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            ok,
            ["sd-tiny", "gpt2-tiny"],
            "60 MB of gpt2 is over the CPU limit"
        );
        let on_gpu = model_fits(&models, Some(&cpu), Backend::Webgpu);
        assert!(
            on_gpu
                .iter()
                .all(|f| f.problem.as_ref().unwrap().contains("navigator.gpu"))
        );

        // Storage: a model larger than what is left of the quota does not fit.
        let mut full = gpu(2e9);
        full.storage_quota = Some(10.0 * MB as f64);
        full.storage_usage = Some(6.0 * MB as f64);
        let fits = model_fits(&models, Some(&full), Backend::Webgpu);
        assert!(
            fits[0].problem.as_ref().unwrap().contains("storage"),
            "{:?}",
            fits[0]
        );
        assert!(fits[2].fits());

        // Nothing known yet: nothing ruled out.
        assert!(
            model_fits(&models, None, Backend::Cpu)
                .iter()
                .all(ModelFit::fits)
        );
    }

    #[test]
    fn task_types_say_why_not() {
        let models = [
            listing("sd-1.5", Layout::DiffusersPipeline, &[3400 * MB]),
            listing("gpt2-tiny", Layout::Transformers, &[MB]),
        ];
        let types = task_types(&model_fits(&models, Some(&gpu(1e9)), Backend::Webgpu));
        assert_eq!(types.len(), 2);
        assert!(types[0].models.is_empty());
        assert!(
            types[0].why_not.as_ref().unwrap().starts_with("sd-1.5: "),
            "{types:?}"
        );
        assert_eq!(types[1].models, ["gpt2-tiny"]);
        assert_eq!(types[1].why_not, None);
        let none = task_types(&[]);
        assert!(none[0].why_not.as_ref().unwrap().contains("no model"));
    }

    #[test]
    fn backend_names_match_the_wire_format() {
        for name in ["webgpu", "cpu"] {
            let backend = parse_backend(name).unwrap();
            assert_eq!(backend_name(backend), name);
            assert_eq!(serde_json::to_value(backend).unwrap(), name);
        }
        assert_eq!(parse_backend("gpu"), None);
    }

    #[test]
    fn a_hardware_gpu_is_offered_first_and_a_software_one_not() {
        let mut cap = gpu(1e9);
        assert_eq!(default_backend(Some(&cap)), Backend::Webgpu);
        assert_eq!(default_backend(None), Backend::Cpu);
        if let Some(adapter) = cap.webgpu.as_mut() {
            adapter.software = true;
        }
        assert_eq!(default_backend(Some(&cap)), Backend::Cpu);
    }
}
