//! `relay_api::auth`: parsing a signed request's headers the way the relay does (address,
//! timestamp, nonce, signature, body hash), then recovering the signer, plus the origin and
//! description every signature covers. The input is header lines, `name: value`.

use relay_api::auth::{self, Nonce, RequestToSign};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let mut get = std::collections::HashMap::new();
        for line in text.lines() {
            if let Some((name, value)) = line.split_once(':') {
                get.insert(name.trim().to_ascii_lowercase(), value.trim());
            }
        }
        let header = |name: &str| get.get(name).copied().unwrap_or_default();
        let _ = Nonce::from_bytes(data);
        let _ = auth::parse_hash(auth::BODY_SHA256_HEADER, header(auth::BODY_SHA256_HEADER));
        let method = header("method");
        let path = header("path");
        let _ = auth::describe(method, path);
        let relay = auth::origin(header(auth::RELAY_HEADER)).unwrap_or_default();
        let (Ok(address), Ok(timestamp), Ok(nonce), Ok(signature)) = (
            auth::parse_address(header(auth::ADDRESS_HEADER)),
            auth::parse_timestamp(header(auth::TIMESTAMP_HEADER)),
            Nonce::parse(header(auth::NONCE_HEADER)),
            auth::parse_signature(header(auth::SIGNATURE_HEADER)),
        ) else {
            return;
        };
        let _ = auth::check_timestamp(timestamp, 1_700_000_000, 300);
        let request = RequestToSign {
            chain_id: 31337,
            relay: &relay,
            method,
            path,
            body_sha256: auth::body_sha256(data),
            timestamp,
            nonce: &nonce,
        };
        let _ = request.typed_data_json();
        if let Ok(signer) = request.recover(&signature) {
            // Whoever the signature recovers to is the one it verifies for.
            request
                .verify(signer, &signature)
                .expect("recovered signer verifies");
            if signer != address {
                assert!(request.verify(address, &signature).is_err());
            }
        }
    });
}
