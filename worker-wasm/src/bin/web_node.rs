//! `web_node`: the browser node's web worker. Trunk builds it for wasm32 with the `wgpu`
//! feature beside the app (see `app/index.html`); the Provide page starts it. The worker
//! itself is `worker_wasm::web::worker`.

#[cfg(target_arch = "wasm32")]
fn main() {
    worker_wasm::web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("web_node is a web worker: trunk builds it for wasm32 (cargo xtask up)");
}
