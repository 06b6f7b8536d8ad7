//! Tessera's inference engine on Burn: Stable Diffusion 1.x and SDXL (with LoRAs), GPT-2 and
//! the Llama family (Llama, Qwen2, Qwen3).
//!
//! One code base for the browser (WebGPU through wgpu, or the pure-Rust CPU backend in
//! wasm) and native nodes (wgpu, CUDA or CPU). Model code never names a backend: tensors
//! live on a [`Device`], chosen once in [`device`].
//!
//! The outputs must equal those of the reference network's PyTorch workers from the same
//! checkpoint and arguments, so the pieces that decide them are ports of PyTorch's exact
//! behaviour: [`randn`] reproduces `torch.randn` on a seeded CPU generator bit for bit, the
//! tokenizers and chat templates follow `transformers`, and the schedulers follow
//! `diffusers`.
//!
//! - [`task`]: one network task end to end (arguments and the files of every model it names
//!   in, result files and score out, with per-step [`task::Progress`]); what a node calls.
//! - [`sd`], [`llm`]: the two pipelines; [`tokenizer`], [`nn`], [`weights`], [`randn`]:
//!   their parts. An SD task's LoRA ([`sd::lora`], diffusers/peft or Kohya files) is merged
//!   into the UNet and text encoder as they load, at the task's `lora.weight` / 100: we honour
//!   that weight as the adapter's strength, whereas the reference worker hands it to
//!   diffusers, which ignores it (its images carry every LoRA at full strength).
//! - [`files`]: a model's files from a folder or from memory, so one loader serves a native
//!   node and a browser tab.
//! - [`device`]: the backends and their devices; [`timing`]: how fast a device computes.
//!
//! The engine knows nothing of the chain, the relay or a page: those are the node's.

pub mod device;
pub mod error;
pub mod files;
pub mod llm;
pub mod nn;
pub mod randn;
pub mod sd;
pub mod task;
pub mod timing;
pub mod tokenizer;
pub mod weights;

pub use burn::tensor::Device;
pub use error::{EngineError, Result};
