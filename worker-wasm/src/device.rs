//! Choosing the compute backend: the one place in the engine that names one.
//!
//! Which backends exist is decided by Cargo features (`cpu`, `wgpu`, `cuda`); which one a
//! run uses is decided at run time by [`Backend`].

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::{EngineError, Result};

/// A compute backend the engine can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (Flex), native and wasm. Feature `cpu`.
    Cpu,
    /// wgpu: Vulkan, Metal or DX12 natively, WebGPU in a browser. Feature `wgpu`.
    Wgpu,
    /// CUDA, native only. Feature `cuda`.
    Cuda,
}

impl Backend {
    /// Every backend, compiled in or not.
    pub const ALL: [Backend; 3] = [Backend::Cpu, Backend::Wgpu, Backend::Cuda];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        }
    }

    /// Whether this build includes the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Cpu => cfg!(feature = "cpu"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The device for this backend, natively (in a browser, wgpu must be initialized
    /// asynchronously: see [`Backend::device_async`]).
    pub fn device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "cpu")]
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok(Device::wgpu(Default::default())),
            #[cfg(feature = "cuda")]
            Self::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => Err(other.not_compiled()),
        }
    }

    /// The device for this backend, initializing wgpu asynchronously as browsers require.
    pub async fn device_async(self) -> Result<Device> {
        match self {
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Device::wgpu_options()
                .init_async()
                .await
                .map_err(|e| EngineError::Backend(format!("cannot initialize wgpu: {e:?}"))),
            other => other.device(),
        }
    }

    fn not_compiled(self) -> EngineError {
        EngineError::Backend(format!(
            "backend `{}` is not compiled in; rebuild with `--features {}`",
            self.name(),
            self.name()
        ))
    }
}

impl Default for Backend {
    /// The first compiled-in backend in the order GPU before CPU.
    fn default() -> Self {
        [Self::Cuda, Self::Wgpu, Self::Cpu]
            .into_iter()
            .find(|backend| backend.is_compiled())
            .unwrap_or(Self::Cpu)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|backend| backend.name() == s)
            .ok_or_else(|| {
                EngineError::argument("backend", format!("{s:?} is not one of cpu, wgpu, cuda"))
            })
    }
}
