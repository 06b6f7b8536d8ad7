//! `web_node`: the browser node's web worker. `cargo xtask up` builds it for wasm32 with the
//! `wgpu` feature and adds it to the app's `dist/` (`xtask/src/app.rs`, `build_node_worker`);
//! the Provide page starts it. The worker itself is `worker_wasm::web::worker`.

#[cfg(target_arch = "wasm32")]
fn main() {
    worker_wasm::web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("web_node is a web worker: `cargo xtask up` builds it for wasm32");
}
