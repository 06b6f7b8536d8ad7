//! Links the browser node's worker (`web_node`) with a larger stack.
//!
//! wasm-ld gives a wasm32 program 1 MiB of stack, growing down towards address 0; a deeper
//! stack does not trap where it overflows but wraps and reads out of bounds somewhere else
//! ("memory access out of bounds"). The engine's unoptimized code (the test build of the
//! worker, the debug profile) needs more than 1 MiB during a Stable Diffusion step; 16 MiB is
//! room for both builds and costs a browser tab nothing until it is used.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bin=web_node=-zstack-size=16777216");
    }
}
