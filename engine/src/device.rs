//! Choosing the compute backend: the one place in the engine that names one.
//!
//! Which backends exist is decided by Cargo features (`cpu`, `wgpu`, `cuda`); which one a
//! run uses is decided at run time by [`Backend`].
//!
//! **WebGPU buffer limits.** A WebGPU device gets the spec's default limits unless it asks
//! for more: 128 MiB per storage-buffer binding, 256 MiB per buffer, too small for SD 1.5
//! (its CLIP token table alone is 152 MB, GPT-2's 154 MB). Burn's wgpu runtime (cubecl-wgpu
//! 0.11, `try_request_device`) requests the adapter's own maximum limits (`adapter.limits()`),
//! natively and in the browser; this module opens the device through
//! `init_with_setup[_async]` so that the limits actually granted are known
//! ([`wgpu_limits`]). Tables above 128 MiB are also kept in row blocks
//! ([`crate::nn::Table`]), so the weights fit even an adapter that offers only the default.

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
            Self::Wgpu => wgpu_device(),
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
            Self::Wgpu => {
                if let Some((device, _)) = WGPU.get() {
                    return Ok(device.clone());
                }
                let (device, setup) = Device::wgpu_options()
                    .init_with_setup_async()
                    .await
                    .map_err(|e| EngineError::Backend(format!("cannot initialize wgpu: {e:?}")))?;
                Ok(remember_wgpu(device, &setup))
            }
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

/// The buffer limits of the wgpu device: what the adapter offers and what the device got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WgpuLimits {
    /// The device's `maxStorageBufferBindingSize`, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// The device's `maxBufferSize`, in bytes.
    pub max_buffer_size: u64,
    /// The adapter's `maxStorageBufferBindingSize`, in bytes.
    pub adapter_max_storage_buffer_binding_size: u64,
    /// The adapter's `maxBufferSize`, in bytes.
    pub adapter_max_buffer_size: u64,
}

#[cfg(feature = "wgpu")]
static WGPU: std::sync::OnceLock<(Device, WgpuLimits)> = std::sync::OnceLock::new();

/// The buffer limits of the wgpu device this process opened through [`Backend`], if any.
pub fn wgpu_limits() -> Option<WgpuLimits> {
    #[cfg(feature = "wgpu")]
    {
        WGPU.get().map(|(_, limits)| *limits)
    }
    #[cfg(not(feature = "wgpu"))]
    {
        None
    }
}

/// In a browser the device must be opened asynchronously first ([`Backend::device_async`]).
#[cfg(all(feature = "wgpu", target_arch = "wasm32"))]
fn wgpu_device() -> Result<Device> {
    WGPU.get().map(|(device, _)| device.clone()).ok_or_else(|| {
        EngineError::Backend("in a browser, open wgpu with `Backend::device_async` first".into())
    })
}

/// Opens the wgpu device once (Burn requests the adapter's maximum limits) and reuses it.
#[cfg(all(feature = "wgpu", not(target_arch = "wasm32")))]
fn wgpu_device() -> Result<Device> {
    if let Some((device, _)) = WGPU.get() {
        return Ok(device.clone());
    }
    let (device, setup) = Device::wgpu_options()
        .init_with_setup()
        .map_err(|e| EngineError::Backend(format!("cannot initialize wgpu: {e:?}")))?;
    Ok(remember_wgpu(device, &setup))
}

#[cfg(feature = "wgpu")]
fn remember_wgpu(device: Device, setup: &burn::tensor::wgpu::WgpuSetup) -> Device {
    let (granted, offered) = (setup.device.limits(), setup.adapter.limits());
    let limits = WgpuLimits {
        max_storage_buffer_binding_size: granted.max_storage_buffer_binding_size,
        max_buffer_size: granted.max_buffer_size,
        adapter_max_storage_buffer_binding_size: offered.max_storage_buffer_binding_size,
        adapter_max_buffer_size: offered.max_buffer_size,
    };
    WGPU.get_or_init(|| (device, limits)).0.clone()
}

/// The adapter the native wgpu backend runs on, as wgpu describes it: enough for a node to
/// say what hardware it announces and where that hardware's memory can be read (WebGPU
/// reports no memory sizes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgpuAdapter {
    /// The adapter's name (`NVIDIA H200`, `llvmpipe (LLVM 15.0.6, 256 bits)`).
    pub name: String,
    /// The PCI vendor id (`0x10de` for NVIDIA).
    pub vendor: u32,
    /// Whether it is a CPU (software) adapter, such as lavapipe.
    pub is_cpu: bool,
}

impl WgpuAdapter {
    /// NVIDIA's PCI vendor id.
    pub const NVIDIA: u32 = 0x10de;
}

/// The high-performance adapter the native wgpu backend would pick.
#[cfg(all(feature = "wgpu", not(target_arch = "wasm32")))]
pub fn wgpu_adapter() -> Result<WgpuAdapter> {
    use burn::tensor::wgpu::wgpu;
    let instance = wgpu::Instance::new(&wgpu::InstanceDescriptor::from_env_or_default());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .map_err(|e| EngineError::Backend(format!("no wgpu adapter: {e}")))?;
    let info = adapter.get_info();
    Ok(WgpuAdapter {
        is_cpu: info.device_type == wgpu::DeviceType::Cpu,
        vendor: info.vendor,
        name: info.name,
    })
}

/// The high-performance adapter the native wgpu backend would pick (not compiled in here).
#[cfg(not(all(feature = "wgpu", not(target_arch = "wasm32"))))]
pub fn wgpu_adapter() -> Result<WgpuAdapter> {
    Err(Backend::Wgpu.not_compiled())
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
