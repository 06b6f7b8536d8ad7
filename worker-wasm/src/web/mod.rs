//! The browser side of the node: the node worker (`web_node`) and what it stands on.
//!
//! - [`worker`]: the provider's node worker: typed messages from the page
//!   (`worker_protocol`), the node loop of [`crate::node::runner`] over a browser host
//!   (IndexedDB for the key and kept outcomes, the Cache API for models, the engine on
//!   WebGPU or the wasm CPU backend).
//! - `host`: the browser's [`crate::node::host::Host`]; `cache`: the Cache API,
//!   content-addressed by SHA-256; `idb`: IndexedDB; `probe`: the WebGPU adapter, cores,
//!   storage, and the engine's matmul benchmark; `js`: small JavaScript helpers.

mod cache;
mod host;
mod idb;
mod js;
mod probe;
pub mod worker;
