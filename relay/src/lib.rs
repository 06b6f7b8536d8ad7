//! Tessera's relay: stores and serves the bulky data the chain cannot hold (task
//! arguments, result files, model files) so that every answer can be checked against the
//! chain. A compromised relay can delay the network, never fool it:
//!
//! - task arguments are accepted only if their keccak256 is the task's on-chain hash, and
//!   only from the task's creator; only the creator and the task's nodes may read them;
//! - results are accepted only from the node the contract designated, after the reveal,
//!   only if their recomputed score equals the revealed score exactly and their bytes
//!   have the digest the uploader committed to; the relay then signs a receipt
//!   ([`receipts`]) the contract needs to count the upload;
//! - model files are named by their SHA-256;
//! - a record is served only while it matches the chain as it is now: should a
//!   reorganisation replace a task (its id created again with another hash) or its reveal,
//!   the arguments and results accepted for the old one are not served, and the new
//!   task's replace them. The chain view itself follows reorganisations ([`chain`]).
//!
//! The relay learns task state by following the chain's events ([`chain`]), stores
//! records in SQLite or PostgreSQL ([`db`]) and bytes on disk or in object storage
//! ([`blob`]), and authenticates callers by EIP-712 signatures (`relay_api::auth`, the rule
//! clients sign by). Result files are decoded and hashed on a few threads of their own
//! ([`work`]), never on the threads that answer small requests. [`http::app`] is the whole HTTP API as a router; [`server`] assembles
//! it from a [`config::Config`]. The wire types are `relay-api`'s, the client is
//! `relay-client`.

pub mod blob;
pub mod chain;
pub mod config;
pub mod db;
pub mod hashes;
pub mod http;
pub mod metrics;
pub mod models;
pub mod receipts;
pub mod replay;
pub mod score;
pub mod server;
pub mod work;

pub use http::{AppState, app, openapi_document};
