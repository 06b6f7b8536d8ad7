//! Request signing: the message every caller signs, and its verification.
//!
//! It compiles for `wasm32-unknown-unknown`, so the app, browser nodes and native nodes
//! build their requests with the same code the relay checks them with.
//!
//! # The signed message
//!
//! A request that needs an identity carries four headers:
//!
//! | header | value |
//! |---|---|
//! | `x-tessera-address` | the signer, `0x` + 40 hex digits (any case) |
//! | `x-tessera-timestamp` | Unix time in seconds, decimal |
//! | `x-tessera-nonce` | 16 to 64 hex digits, fresh for every request |
//! | `x-tessera-signature` | the 65-byte `r ‖ s ‖ v` signature, `0x` + 130 hex digits |
//!
//! The signature is an EIP-191 `personal_sign` (version `0x45`) over this UTF-8 text,
//! lines separated by a single `\n`, no trailing newline:
//!
//! ```text
//! Tessera relay request
//! chain: 31337
//! method: PUT
//! path: /v1/tasks/7/args
//! body-sha256: 0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! timestamp: 1764045000
//! nonce: 0x5f1c2a9be0d3477c
//! ```
//!
//! - `chain`: the chain id the relay follows, decimal.
//! - `method`: the HTTP method in upper case.
//! - `path`: the request target exactly as sent (path, and `?query` if any).
//! - `body-sha256`: SHA-256 of the exact body bytes, lower-case hex (the hash of the empty
//!   string for a body-less request).
//! - `timestamp`, `nonce`: as in the headers, the nonce in lower case with its `0x`.
//!
//! A streamed upload (a model file) also sends `x-tessera-body-sha256` with the body's hash:
//! the relay checks the signature over that value first and refuses the body if it hashes
//! to anything else.
//!
//! A browser wallet signs it with `personal_sign(message, address)`; a key held in the page
//! or a node signs `keccak256("\x19Ethereum Signed Message:\n" ‖ len ‖ message)`, which is
//! what alloy's `Signer::sign_message` does. The relay accepts a request when the
//! recovered address equals `x-tessera-address`, the timestamp is within its window of its
//! own clock, and it has not seen the `(address, nonce)` pair within that window. (Nonces
//! are remembered per relay process: relays behind a load balancer should route a client
//! to one instance, or a replay could reach another within the window.)

use std::fmt;

use alloy_primitives::{Address, B256, Signature};

/// Header carrying the signer's address.
pub const ADDRESS_HEADER: &str = "x-tessera-address";
/// Header carrying the Unix timestamp in seconds.
pub const TIMESTAMP_HEADER: &str = "x-tessera-timestamp";
/// Header carrying the request nonce.
pub const NONCE_HEADER: &str = "x-tessera-nonce";
/// Header carrying the 65-byte signature.
pub const SIGNATURE_HEADER: &str = "x-tessera-signature";

/// Header naming the body's SHA-256 on a streamed upload (a model file), where the relay
/// checks the signature before the body has arrived and the body against it afterwards.
pub const BODY_SHA256_HEADER: &str = "x-tessera-body-sha256";

/// Shortest accepted nonce, in hex digits (64 bits).
pub const MIN_NONCE_DIGITS: usize = 16;
/// Longest accepted nonce, in hex digits (256 bits).
pub const MAX_NONCE_DIGITS: usize = 64;

/// Why a request's authentication headers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A required header is absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A header is present but not in the documented form.
    #[error("header `{header}` is malformed: {reason}")]
    Malformed {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature is valid but was made by another key.
    #[error("signature was made by {recovered}, not by {claimed}")]
    WrongSigner {
        /// The address in `x-tessera-address`.
        claimed: Address,
        /// The address that made the signature.
        recovered: Address,
    },
    /// The signature does not recover to any address.
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    /// The timestamp is outside the accepted window.
    #[error(
        "timestamp {timestamp} is more than {window_secs} s away from the relay's clock ({now})"
    )]
    Expired {
        /// The request's timestamp.
        timestamp: u64,
        /// The relay's clock.
        now: u64,
        /// The accepted distance.
        window_secs: u64,
    },
    /// The `(address, nonce)` pair was already used within the window.
    #[error("nonce {nonce} was already used by {address}")]
    Replayed {
        /// The signer.
        address: Address,
        /// The reused nonce.
        nonce: String,
    },
}

/// A request nonce: 16 to 64 hex digits, kept in canonical form (`0x` + lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// Parses a nonce header value, with or without `0x`.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let digits = value.strip_prefix("0x").unwrap_or(value);
        let malformed = |reason: String| AuthError::Malformed {
            header: NONCE_HEADER,
            reason,
        };
        if !(MIN_NONCE_DIGITS..=MAX_NONCE_DIGITS).contains(&digits.len()) {
            return Err(malformed(format!(
                "{} hex digits, expected {MIN_NONCE_DIGITS} to {MAX_NONCE_DIGITS}",
                digits.len()
            )));
        }
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed(format!("`{value}` is not hexadecimal")));
        }
        Ok(Self(format!("0x{}", digits.to_ascii_lowercase())))
    }

    /// A nonce from raw random bytes (8 to 32 of them).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuthError> {
        Self::parse(&hex::encode(bytes))
    }

    /// The canonical text, `0x` + lower-case hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything the signed message names about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestToSign<'a> {
    /// The chain id the relay follows.
    pub chain_id: u64,
    /// HTTP method, any case (it is upper-cased in the message).
    pub method: &'a str,
    /// The request target: path and, if any, `?query`.
    pub path: &'a str,
    /// SHA-256 of the body (see [`body_sha256`]).
    pub body_sha256: B256,
    /// Unix time in seconds.
    pub timestamp: u64,
    /// A fresh nonce.
    pub nonce: &'a Nonce,
}

impl RequestToSign<'_> {
    /// The exact text to pass to `personal_sign` (see the module docs).
    pub fn message(&self) -> String {
        format!(
            "Tessera relay request\nchain: {}\nmethod: {}\npath: {}\nbody-sha256: {:#x}\ntimestamp: {}\nnonce: {}",
            self.chain_id,
            self.method.to_ascii_uppercase(),
            self.path,
            self.body_sha256,
            self.timestamp,
            self.nonce,
        )
    }

    /// Recovers the address that signed this request with `signature`.
    pub fn recover(&self, signature: &Signature) -> Result<Address, AuthError> {
        signature
            .recover_address_from_msg(self.message())
            .map_err(|e| AuthError::BadSignature(e.to_string()))
    }

    /// Checks that `signature` over this request was made by `claimed`.
    pub fn verify(&self, claimed: Address, signature: &Signature) -> Result<(), AuthError> {
        let recovered = self.recover(signature)?;
        if recovered == claimed {
            Ok(())
        } else {
            Err(AuthError::WrongSigner { claimed, recovered })
        }
    }
}

/// SHA-256 of a request body, as named in the signed message.
pub fn body_sha256(body: &[u8]) -> B256 {
    B256::from(verifier::digest::sha256(body))
}

/// Parses the `x-tessera-address` header.
pub fn parse_address(value: &str) -> Result<Address, AuthError> {
    value.parse().map_err(|e| AuthError::Malformed {
        header: ADDRESS_HEADER,
        reason: format!("`{value}`: {e}"),
    })
}

/// Parses the `x-tessera-timestamp` header.
pub fn parse_timestamp(value: &str) -> Result<u64, AuthError> {
    value.parse().map_err(|_| AuthError::Malformed {
        header: TIMESTAMP_HEADER,
        reason: format!("`{value}` is not a Unix time in seconds"),
    })
}

/// Parses a 32-byte hash in hex, with or without `0x` (`header` names it in errors).
pub fn parse_hash(header: &'static str, value: &str) -> Result<B256, AuthError> {
    value.parse().map_err(|_| AuthError::Malformed {
        header,
        reason: format!("`{value}` is not a 32-byte hex hash"),
    })
}

/// Parses the `x-tessera-signature` header: 65 bytes `r ‖ s ‖ v` in hex.
pub fn parse_signature(value: &str) -> Result<Signature, AuthError> {
    let malformed = |reason: String| AuthError::Malformed {
        header: SIGNATURE_HEADER,
        reason,
    };
    let bytes = hex::decode(value.strip_prefix("0x").unwrap_or(value))
        .map_err(|e| malformed(format!("not hexadecimal: {e}")))?;
    Signature::from_raw(&bytes).map_err(|e| malformed(format!("{} bytes: {e}", bytes.len())))
}

/// Checks that `timestamp` is within `window_secs` of `now`, either side.
pub fn check_timestamp(timestamp: u64, now: u64, window_secs: u64) -> Result<(), AuthError> {
    if timestamp.abs_diff(now) <= window_secs {
        Ok(())
    } else {
        Err(AuthError::Expired {
            timestamp,
            now,
            window_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{b256, hex};

    fn nonce() -> Nonce {
        Nonce::parse("5F1C2A9BE0D3477C").unwrap()
    }

    #[test]
    fn message_has_the_documented_form() {
        let nonce = nonce();
        let request = RequestToSign {
            chain_id: 31337,
            method: "put",
            path: "/v1/tasks/7/args",
            body_sha256: body_sha256(b"test"),
            timestamp: 1_764_045_000,
            nonce: &nonce,
        };
        assert_eq!(
            request.message(),
            "Tessera relay request\nchain: 31337\nmethod: PUT\npath: /v1/tasks/7/args\n\
             body-sha256: 0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\
             timestamp: 1764045000\nnonce: 0x5f1c2a9be0d3477c"
        );
    }

    #[test]
    fn empty_body_hash_is_sha256_of_nothing() {
        assert_eq!(
            body_sha256(b""),
            b256!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn nonce_rules() {
        assert_eq!(nonce().as_str(), "0x5f1c2a9be0d3477c");
        assert!(matches!(
            Nonce::parse("abc"),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            Nonce::parse(&"a".repeat(65)),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            Nonce::parse("zzzzzzzzzzzzzzzz"),
            Err(AuthError::Malformed { .. })
        ));
        assert_eq!(
            Nonce::from_bytes(&[0xab; 8]).unwrap().as_str(),
            "0xabababababababab"
        );
    }

    #[test]
    fn timestamp_window_is_symmetric_and_inclusive() {
        assert!(check_timestamp(100, 160, 60).is_ok());
        assert!(check_timestamp(220, 160, 60).is_ok());
        assert!(matches!(
            check_timestamp(99, 160, 60),
            Err(AuthError::Expired { .. })
        ));
        assert!(check_timestamp(221, 160, 60).is_err());
    }

    #[test]
    fn signature_parse_refuses_wrong_lengths() {
        let err = parse_signature(&hex::encode([1u8; 64])).unwrap_err();
        assert!(matches!(err, AuthError::Malformed { header, .. } if header == SIGNATURE_HEADER));
        assert!(parse_signature("0xnothex").is_err());
    }
}
