//! Tessera's Solidity contracts and their Rust bindings. Not implemented yet: see README.md.
