//! `node`: a Tessera node for a GPU (or CPU) machine; the commands are in `worker_wasm::cli`.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    worker_wasm::cli::run()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
