//! Helpers shared by the relay's integration tests.
#![allow(dead_code)]

pub(crate) mod chain;
pub(crate) mod moto;
pub(crate) mod process;
#[path = "../../src/db/testpg.rs"]
#[allow(unreachable_pub)]
pub(crate) mod testpg;

use std::io::Cursor;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use relay_api::auth::{self, Nonce, RequestToSign};

/// A deterministic test key.
pub(crate) fn key(n: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(n)).expect("valid key")
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A fresh random-enough nonce (unique per call within a process).
pub(crate) fn fresh_nonce() -> Nonce {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let salt = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[8..].copy_from_slice(&salt.to_be_bytes());
    Nonce::from_bytes(&bytes).unwrap()
}

/// The public URL the in-process test relays answer at (requests are signed for it).
pub(crate) const RELAY_URL: &str = "http://relay.test";

/// The authentication headers for a request.
pub(crate) struct AuthHeaders {
    pub address: Address,
    pub relay: String,
    pub timestamp: u64,
    pub nonce: Nonce,
    pub body_sha256: B256,
    pub signature: String,
}

impl AuthHeaders {
    pub(crate) fn pairs(&self) -> [(&'static str, String); 6] {
        [
            (auth::ADDRESS_HEADER, self.address.to_string()),
            (auth::RELAY_HEADER, self.relay.clone()),
            (auth::TIMESTAMP_HEADER, self.timestamp.to_string()),
            (auth::NONCE_HEADER, self.nonce.to_string()),
            (auth::BODY_SHA256_HEADER, format!("{:#x}", self.body_sha256)),
            (auth::SIGNATURE_HEADER, self.signature.clone()),
        ]
    }
}

/// Signs a request for [`RELAY_URL`] the way a client does.
pub(crate) fn sign(
    signer: &PrivateKeySigner,
    chain_id: u64,
    method: &str,
    path: &str,
    body_sha256: B256,
    timestamp: u64,
) -> AuthHeaders {
    sign_for(
        RELAY_URL,
        signer,
        chain_id,
        method,
        path,
        body_sha256,
        timestamp,
    )
}

/// Signs a request for the relay at `relay_url`.
pub(crate) fn sign_for(
    relay_url: &str,
    signer: &PrivateKeySigner,
    chain_id: u64,
    method: &str,
    path: &str,
    body_sha256: B256,
    timestamp: u64,
) -> AuthHeaders {
    let nonce = fresh_nonce();
    let relay = auth::origin(relay_url).expect("a relay URL");
    let hash = RequestToSign {
        chain_id,
        relay: &relay,
        method,
        path,
        body_sha256,
        timestamp,
        nonce: &nonce,
    }
    .signing_hash();
    let signature = signer.sign_hash_sync(&hash).expect("signing works");
    AuthHeaders {
        address: signer.address(),
        relay,
        timestamp,
        nonce,
        body_sha256,
        signature: format!("0x{}", alloy::hex::encode(signature.as_bytes())),
    }
}

/// An RGB 8-bit PNG with a pattern that depends on `seed`.
pub(crate) fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    png_with_text(width, height, seed, None)
}

/// [`png`] with a `tEXt` comment: the same pixels (so the same perceptual hash) in other
/// bytes.
pub(crate) fn png_with_text(width: u32, height: u32, seed: u32, text: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(Cursor::new(&mut out), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    if let Some(text) = text {
        encoder
            .add_text_chunk("Comment".into(), text.into())
            .expect("text chunk");
    }
    let mut writer = encoder.write_header().expect("PNG header");
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let v = x.wrapping_mul(seed + 3) ^ y.wrapping_mul(seed * 7 + 1);
            pixels.extend_from_slice(&[
                (v % 256) as u8,
                ((x + seed) % 256) as u8,
                ((y * seed) % 256) as u8,
            ]);
        }
    }
    writer.write_image_data(&pixels).expect("PNG data");
    writer.finish().expect("PNG end");
    out
}

/// A multipart/form-data body with one file part per `(name, bytes)`.
pub(crate) fn multipart(files: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "tessera-test-boundary-7d1e";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A free loopback port (bound, then released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}
