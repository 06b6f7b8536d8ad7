//! Request signing: the typed data every caller signs, and its verification.
//!
//! It compiles for `wasm32-unknown-unknown`, so the app, browser nodes and native nodes
//! build their requests with the same code the relay checks them with.
//!
//! # The signed request
//!
//! A request that needs an identity carries six headers:
//!
//! | header | value |
//! |---|---|
//! | `x-tessera-address` | the signer, `0x` + 40 hex digits (any case) |
//! | `x-tessera-relay` | the relay the request is for: the origin of its URL, e.g. `http://127.0.0.1:8600` |
//! | `x-tessera-timestamp` | Unix time in seconds, decimal |
//! | `x-tessera-nonce` | 16 to 64 hex digits, fresh for every request |
//! | `x-tessera-body-sha256` | SHA-256 of the exact body bytes (of nothing for a body-less request) |
//! | `x-tessera-signature` | the 65-byte `r ‖ s ‖ v` signature, `0x` + 130 hex digits |
//!
//! The signature is an [EIP-712] signature (`eth_signTypedData_v4`) of a `RelayRequest` in
//! the domain `{name: "Tessera relay", version: "1", chainId}`:
//!
//! ```solidity
//! struct RelayRequest {
//!     string action;      // what the request does, in words: "Read the results of task 7"
//!     string relay;       // the relay's origin, as in `x-tessera-relay`
//!     string method;      // the HTTP method, upper case
//!     string path;        // the request target exactly as sent (path and `?query`)
//!     bytes32 bodySha256; // as in `x-tessera-body-sha256`
//!     uint64 timestamp;   // as in `x-tessera-timestamp`
//!     string nonce;       // as in `x-tessera-nonce`, lower case with its `0x`
//! }
//! ```
//!
//! The domain names the chain and the message names the relay, so a signature made for one
//! relay or chain is worthless at another; `action` is derived from the method and path by
//! [`describe`] on both sides, so what a wallet shows a person is what the relay checks.
//! The relay checks the signature from the headers *before* it reads a body, and the body
//! against `x-tessera-body-sha256` afterwards.
//!
//! A browser wallet signs [`RequestToSign::typed_data_json`] with `eth_signTypedData_v4`; a
//! key held in the page or a node signs [`RequestToSign::signing_hash`]. The relay accepts a
//! request when the recovered address equals `x-tessera-address`, the relay is one of its
//! public origins, the timestamp is within its window of its own clock, and no request with
//! the same `(address, nonce)` was accepted within that window, by this instance or by
//! any other on the same database.
//!
//! [EIP-712]: https://eips.ethereum.org/EIPS/eip-712

use std::fmt;

use alloy_primitives::{Address, B256, Signature};
use alloy_sol_types::{Eip712Domain, SolStruct, eip712_domain, sol};

/// Header carrying the signer's address.
pub const ADDRESS_HEADER: &str = "x-tessera-address";
/// Header naming the relay the request was signed for (the origin of its URL).
pub const RELAY_HEADER: &str = "x-tessera-relay";
/// Header carrying the Unix timestamp in seconds.
pub const TIMESTAMP_HEADER: &str = "x-tessera-timestamp";
/// Header carrying the request nonce.
pub const NONCE_HEADER: &str = "x-tessera-nonce";
/// Header carrying the 65-byte signature.
pub const SIGNATURE_HEADER: &str = "x-tessera-signature";

/// Header naming the body's SHA-256: the relay checks the signature before the body has
/// arrived, and the body against this hash afterwards.
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
    /// The request was signed for another relay (a replay, or a client misconfigured).
    #[error("request was signed for relay `{signed_for}`; this relay is {this}")]
    WrongRelay {
        /// The origin in `x-tessera-relay`.
        signed_for: String,
        /// This relay's public origins, comma-separated.
        this: String,
    },
    /// The body does not hash to the signed `x-tessera-body-sha256`.
    #[error("body hashes to {actual}, the request signed {signed}")]
    BodyMismatch {
        /// The signed hash.
        signed: B256,
        /// The body's hash.
        actual: B256,
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

sol! {
    /// The EIP-712 struct a relay request's signature covers (see the module docs).
    #[derive(Debug)]
    struct RelayRequest {
        string action;
        string relay;
        string method;
        string path;
        bytes32 bodySha256;
        uint64 timestamp;
        string nonce;
    }
}

/// The EIP-712 domain's `name`.
pub const DOMAIN_NAME: &str = "Tessera relay";
/// The EIP-712 domain's `version`.
pub const DOMAIN_VERSION: &str = "1";

/// Everything the signed request names about one HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestToSign<'a> {
    /// The chain id the relay follows.
    pub chain_id: u64,
    /// The relay's origin (see [`origin`]).
    pub relay: &'a str,
    /// HTTP method, any case (it is upper-cased when signed).
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
    /// The EIP-712 domain: Tessera's relay API on this chain.
    pub fn domain(&self) -> Eip712Domain {
        eip712_domain! {
            name: DOMAIN_NAME,
            version: DOMAIN_VERSION,
            chain_id: self.chain_id,
        }
    }

    fn typed(&self) -> RelayRequest {
        let method = self.method.to_ascii_uppercase();
        RelayRequest {
            action: describe(&method, self.path),
            relay: self.relay.to_owned(),
            method,
            path: self.path.to_owned(),
            bodySha256: self.body_sha256,
            timestamp: self.timestamp,
            nonce: self.nonce.to_string(),
        }
    }

    /// The 32-byte EIP-712 hash a local key signs.
    pub fn signing_hash(&self) -> B256 {
        self.typed().eip712_signing_hash(&self.domain())
    }

    /// The typed data to pass to a wallet's `eth_signTypedData_v4(address, json)`.
    pub fn typed_data_json(&self) -> String {
        let typed = self.typed();
        let field = |name: &str, ty: &str| serde_json::json!({ "name": name, "type": ty });
        serde_json::json!({
            "types": {
                "EIP712Domain": [
                    field("name", "string"),
                    field("version", "string"),
                    field("chainId", "uint256"),
                ],
                "RelayRequest": [
                    field("action", "string"),
                    field("relay", "string"),
                    field("method", "string"),
                    field("path", "string"),
                    field("bodySha256", "bytes32"),
                    field("timestamp", "uint64"),
                    field("nonce", "string"),
                ],
            },
            "primaryType": "RelayRequest",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": self.chain_id,
            },
            "message": {
                "action": typed.action,
                "relay": typed.relay,
                "method": typed.method,
                "path": typed.path,
                "bodySha256": format!("{:#x}", typed.bodySha256),
                "timestamp": typed.timestamp,
                "nonce": typed.nonce,
            },
        })
        .to_string()
    }

    /// Recovers the address that signed this request with `signature`.
    pub fn recover(&self, signature: &Signature) -> Result<Address, AuthError> {
        signature
            .recover_address_from_prehash(&self.signing_hash())
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

/// What a request does, in the words a wallet shows: derived from the method and the
/// target's path (the query is ignored) the same way by clients and the relay.
pub fn describe(method: &str, target: &str) -> String {
    let method = method.to_ascii_uppercase();
    let path = target.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("PUT", ["v1", "tasks", id, "args"]) => format!("Store the arguments of task {id}"),
        ("GET", ["v1", "tasks", id, "args"]) => format!("Read the arguments of task {id}"),
        ("POST", ["v1", "tasks", id, "results"]) => format!("Upload the results of task {id}"),
        ("GET", ["v1", "tasks", id, "results"]) => format!("Read the results of task {id}"),
        ("GET", ["v1", "tasks", id, "results", name]) => {
            format!("Read result file {name} of task {id}")
        }
        ("PUT", ["v1", "tasks", id, "progress"]) => format!("Report progress on task {id}"),
        ("PUT", ["v1", "models", "files"]) => "Publish a model file".to_owned(),
        _ => format!("{method} {path}"),
    }
}

/// The origin of a relay URL, as signed in `relay`: `scheme://host[:port]` in lower case,
/// the scheme's default port omitted (`http://Relay.example:80/x` → `http://relay.example`).
pub fn origin(url: &str) -> Result<String, AuthError> {
    let malformed = |reason: String| AuthError::Malformed {
        header: RELAY_HEADER,
        reason,
    };
    let parsed = url::Url::parse(url).map_err(|e| malformed(format!("`{url}`: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(malformed(format!("`{url}` is not an http(s) URL")));
    }
    match parsed.origin() {
        origin @ url::Origin::Tuple(..) => Ok(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Err(malformed(format!("`{url}` has no origin"))),
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

    fn request(nonce: &Nonce) -> RequestToSign<'_> {
        RequestToSign {
            chain_id: 31337,
            relay: "http://127.0.0.1:8600",
            method: "put",
            path: "/v1/tasks/7/args",
            body_sha256: body_sha256(b"test"),
            timestamp: 1_764_045_000,
            nonce,
        }
    }

    #[test]
    fn the_wallets_typed_data_hashes_to_what_a_key_signs() {
        let nonce = nonce();
        let request = request(&nonce);
        // An independent EIP-712 implementation (alloy's dynamic one, as a wallet would
        // read the JSON) must arrive at the same hash as the compiled struct.
        let typed: alloy_dyn_abi::TypedData =
            serde_json::from_str(&request.typed_data_json()).unwrap();
        assert_eq!(typed.eip712_signing_hash().unwrap(), request.signing_hash());
        let json: serde_json::Value = serde_json::from_str(&request.typed_data_json()).unwrap();
        assert_eq!(json["message"]["action"], "Store the arguments of task 7");
        assert_eq!(json["message"]["method"], "PUT");
        assert_eq!(json["message"]["nonce"], "0x5f1c2a9be0d3477c");
        assert_eq!(json["domain"]["chainId"], 31337);
    }

    #[test]
    fn a_signature_binds_the_chain_the_relay_and_the_request() {
        use alloy_signer::SignerSync as _;
        let key = alloy_signer_local::PrivateKeySigner::from_bytes(&B256::repeat_byte(7)).unwrap();
        let nonce = nonce();
        let request = request(&nonce);
        let signature = key.sign_hash_sync(&request.signing_hash()).unwrap();
        request.verify(key.address(), &signature).unwrap();
        let other_nonce = Nonce::parse("0000000000000001").unwrap();
        let altered = [
            RequestToSign {
                chain_id: 1,
                ..request.clone()
            },
            RequestToSign {
                relay: "https://relay.example",
                ..request.clone()
            },
            RequestToSign {
                method: "GET",
                ..request.clone()
            },
            RequestToSign {
                path: "/v1/tasks/8/args",
                ..request.clone()
            },
            RequestToSign {
                body_sha256: body_sha256(b"other"),
                ..request.clone()
            },
            RequestToSign {
                timestamp: 1,
                ..request.clone()
            },
            RequestToSign {
                nonce: &other_nonce,
                ..request.clone()
            },
        ];
        for other in altered {
            assert!(
                matches!(
                    other.verify(key.address(), &signature),
                    Err(AuthError::WrongSigner { .. } | AuthError::BadSignature(_))
                ),
                "{other:?} verified with a signature made for {request:?}"
            );
        }
    }

    #[test]
    fn actions_are_said_in_words() {
        assert_eq!(
            describe("get", "/v1/tasks/7/results"),
            "Read the results of task 7"
        );
        assert_eq!(
            describe("GET", "/v1/tasks/7/results/0.png"),
            "Read result file 0.png of task 7"
        );
        assert_eq!(
            describe("POST", "/v1/tasks/7/results"),
            "Upload the results of task 7"
        );
        assert_eq!(
            describe("GET", "/v1/tasks/7/args"),
            "Read the arguments of task 7"
        );
        assert_eq!(
            describe("PUT", "/v1/models/files?model=gpt2&path=a"),
            "Publish a model file"
        );
        assert_eq!(
            describe("PUT", "/v1/tasks/7/progress"),
            "Report progress on task 7"
        );
        assert_eq!(describe("DELETE", "/v1/other?x=1"), "DELETE /v1/other");
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            origin("http://127.0.0.1:8600/").unwrap(),
            "http://127.0.0.1:8600"
        );
        assert_eq!(
            origin("HTTP://Relay.Example:80/x?y").unwrap(),
            "http://relay.example"
        );
        assert_eq!(
            origin("https://relay.example:8443").unwrap(),
            "https://relay.example:8443"
        );
        assert!(origin("ftp://relay.example").is_err());
        assert!(origin("not a url").is_err());
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
