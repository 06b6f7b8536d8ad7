//! The backend the tests run on: `TESSERA_BACKEND` (`cpu`, `wgpu`, `cuda`), `cpu` by default.

pub(crate) fn device() -> engine::Device {
    let backend: engine::device::Backend = std::env::var("TESSERA_BACKEND")
        .unwrap_or_else(|_| "cpu".into())
        .parse()
        .expect("TESSERA_BACKEND names a backend");
    backend.device().expect("the backend is compiled in")
}
