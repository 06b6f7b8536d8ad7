//! The page's entry point: mounts the app on `<body>`.

#[cfg(target_arch = "wasm32")]
fn main() {
    app::ui::mount();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "the Tessera web app runs in a browser: `cargo xtask up` builds it with trunk and serves it"
    );
    std::process::exit(1);
}
