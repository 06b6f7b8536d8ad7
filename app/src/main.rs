//! Tessera web app.
//!
//! Not built yet: the Leptos app (wallet, task creation, live timeline, in-browser
//! verification) arrives with its own issue. This crate exists so the workspace layout is
//! the final one; it does nothing and claims nothing.

fn main() {
    eprintln!("the Tessera web app is not implemented yet; see README.md");
    std::process::exit(1);
}
