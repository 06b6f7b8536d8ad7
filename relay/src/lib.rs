//! Tessera's relay: stores and serves the bulky data the chain cannot hold (task
//! arguments, result files, model files) so that every answer can be checked against the
//! chain. A compromised relay can delay the network, never fool it:
//!
//! - task arguments are accepted only if their keccak256 is the task's on-chain hash, and
//!   only from the task's creator; only the creator and the task's nodes may read them;
//! - results are accepted only from the node the contract designated, after the reveal,
//!   and only if their recomputed score equals the revealed score exactly;
//! - model files are named by their SHA-256.
//!
//! The relay learns task state by following the chain's events ([`chain`]), stores
//! records in SQLite or PostgreSQL ([`db`]) and bytes on disk or in object storage
//! ([`blob`]), and authenticates callers by EIP-191 signatures ([`auth`], whose message
//! format clients must follow). [`http::app`] is the whole HTTP API as a router;
//! [`server`] assembles it from a [`config::Config`].
//!
//! Without its default `server` feature the crate is only [`auth`], which builds for
//! `wasm32-unknown-unknown`, so clients sign requests with the same code that checks them.

pub mod api;
pub mod auth;
#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "server")]
pub mod blob;
#[cfg(feature = "server")]
pub mod chain;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod hashes;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod models;
#[cfg(feature = "server")]
pub mod replay;
#[cfg(feature = "server")]
pub mod score;
#[cfg(feature = "server")]
pub mod server;

#[cfg(feature = "server")]
pub use http::{AppState, app};
