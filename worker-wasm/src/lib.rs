//! Tessera's inference engine: Stable Diffusion 1.x and GPT-2 on Burn.
//!
//! One code base for the browser (WebGPU through wgpu, or the pure-Rust CPU backend in
//! wasm) and native nodes (wgpu, CUDA or CPU). Model code never names a backend: tensors
//! live on a [`burn::tensor::Device`], chosen once in [`device`].
//!
//! The outputs must equal those of the reference network's PyTorch workers from the same
//! checkpoint and arguments, so the pieces that decide them are ports of PyTorch's exact
//! behaviour: [`randn`] reproduces `torch.randn` on a seeded CPU generator bit for bit, the
//! tokenizers and chat templates follow `transformers`, and the schedulers follow
//! `diffusers`.

pub mod device;
pub mod error;
pub mod files;
pub mod llm;
pub mod nn;
pub mod node;
pub mod randn;
pub mod sd;
pub mod task;
pub mod tokenizer;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;

pub use error::{EngineError, Result};
