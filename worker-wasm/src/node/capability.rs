//! What the node announces on chain about its hardware: measured, never made up.
//!
//! - `cpu`: the name `cpu` and the machine's memory in whole GB (rounded down), which is
//!   what bounds the models the CPU backend can hold.
//! - `wgpu`: the adapter's name as wgpu reports it followed by ` (wgpu)`, since the same
//!   GPU computes other bits under wgpu than under CUDA and an LLM group must be
//!   bit-equal; its memory from `nvidia-smi` on NVIDIA
//!   hardware, the machine's memory for a CPU adapter (lavapipe), and otherwise only from
//!   the operator's `gpu_vram` setting, since WebGPU does not expose memory sizes.
//! - `cuda`: name and memory from `nvidia-smi`, as the reference network's nodes do.

use engine::device::{Backend, WgpuAdapter};

/// A node's announced hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    /// GPU model name (`cpu` for the CPU backend).
    pub gpu_name: String,
    /// Memory in GB.
    pub gpu_vram: u64,
}

/// Why the hardware could not be measured.
#[derive(Debug, thiserror::Error)]
#[error("cannot tell the {backend} backend's {what}: {reason}")]
pub struct CapabilityError {
    backend: Backend,
    what: &'static str,
    reason: String,
}

/// Measures the hardware behind `backend`; `vram_override` (the `gpu_vram` setting) is used
/// only where the memory cannot be measured.
pub fn detect(backend: Backend, vram_override: Option<u64>) -> Result<Capability, CapabilityError> {
    let error = |what, reason: String| CapabilityError {
        backend,
        what,
        reason,
    };
    match backend {
        Backend::Cpu => Ok(Capability {
            gpu_name: "cpu".into(),
            gpu_vram: system_memory_gb().or(vram_override).ok_or_else(|| {
                error("memory", "/proc/meminfo is unreadable; set gpu_vram".into())
            })?,
        }),
        Backend::Cuda => {
            let (name, vram) = nvidia_smi().map_err(|r| error("GPU", r))?;
            Ok(Capability {
                gpu_name: name,
                gpu_vram: vram,
            })
        }
        Backend::Wgpu => wgpu_adapter(vram_override).map_err(|r| error("adapter", r)),
    }
}

/// Total memory of the machine in whole GB, rounded down.
pub fn system_memory_gb() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib / (1024 * 1024)).filter(|&gb| gb > 0)
}

/// The first GPU's name and memory (GB, rounded up) from `nvidia-smi`.
fn nvidia_smi() -> Result<(String, u64), String> {
    let output = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
        ])
        .output()
        .map_err(|e| format!("nvidia-smi: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "nvidia-smi failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse_nvidia_smi(&String::from_utf8_lossy(&output.stdout))
}

fn parse_nvidia_smi(text: &str) -> Result<(String, u64), String> {
    let line = text.lines().next().ok_or("nvidia-smi listed no GPU")?;
    let (name, mib) = line
        .rsplit_once(',')
        .ok_or_else(|| format!("unexpected nvidia-smi line {line:?}"))?;
    let mib: u64 = mib
        .trim()
        .parse()
        .map_err(|_| format!("unexpected memory {mib:?} from nvidia-smi"))?;
    Ok((name.trim().to_owned(), mib.div_ceil(1024)))
}

fn wgpu_adapter(vram_override: Option<u64>) -> Result<Capability, String> {
    let adapter = engine::device::wgpu_adapter().map_err(|e| e.to_string())?;
    let vram = if adapter.vendor == WgpuAdapter::NVIDIA {
        nvidia_smi().ok().map(|(_, vram)| vram)
    } else if adapter.is_cpu {
        system_memory_gb()
    } else {
        None
    };
    Ok(Capability {
        gpu_name: format!("{} (wgpu)", adapter.name),
        gpu_vram: vram.or(vram_override).ok_or(
            "WebGPU does not report memory sizes and this is not an NVIDIA or CPU adapter: \
             set gpu_vram in the node's configuration",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_smi_lines_parse_with_memory_rounded_up() {
        assert_eq!(
            parse_nvidia_smi("NVIDIA GeForce RTX 4090, 24564\n").unwrap(),
            ("NVIDIA GeForce RTX 4090".into(), 24)
        );
        assert_eq!(
            parse_nvidia_smi("NVIDIA H200, 143771").unwrap(),
            ("NVIDIA H200".into(), 141)
        );
        assert!(parse_nvidia_smi("").is_err());
        assert!(parse_nvidia_smi("GPU, lots").is_err());
    }

    #[test]
    fn the_cpu_backend_announces_measured_memory() {
        let cap = detect(Backend::Cpu, None).unwrap();
        assert_eq!(cap.gpu_name, "cpu");
        assert_eq!(Some(cap.gpu_vram), system_memory_gb());
    }
}
