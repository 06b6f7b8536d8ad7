//! Locating the shared reference data (`TESSERA_SHARED`, or `../shared` beside the workspace).

#![allow(dead_code)]

use std::path::PathBuf;

/// The shared folder; panics with a clear message when it is missing.
pub fn shared() -> PathBuf {
    let dir = match std::env::var_os("TESSERA_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    assert!(
        dir.join("reference").is_dir(),
        "reference data not found at {}: set TESSERA_SHARED to the shared folder",
        dir.display()
    );
    dir
}

/// `shared/reference/<name>`.
pub fn reference(name: &str) -> PathBuf {
    shared().join("reference").join(name)
}

/// Reads and parses a JSON file of the reference data.
pub fn reference_json(name: &str) -> serde_json::Value {
    let path = reference(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The backend the tests run on: `TESSERA_BACKEND` (`cpu`, `wgpu`, `cuda`), `cpu` by default.
pub fn device() -> burn::tensor::Device {
    let backend: worker_wasm::device::Backend = std::env::var("TESSERA_BACKEND")
        .unwrap_or_else(|_| "cpu".into())
        .parse()
        .expect("TESSERA_BACKEND names a backend");
    backend.device().expect("the backend is compiled in")
}
