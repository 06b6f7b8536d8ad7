//! Remembers the `(signer, nonce)` pairs seen within the signature window.

use std::collections::HashMap;
use std::sync::Mutex;

use alloy_primitives::Address;

use relay_api::auth::{AuthError, Nonce};

/// Past this many remembered nonces, expired ones are swept on the next insert.
const SWEEP_AT: usize = 4096;

/// The nonces seen recently, each kept until its request's timestamp leaves the window.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    expiry: HashMap<(Address, Nonce), u64>,
    sweep_at: usize,
}

impl ReplayGuard {
    /// Records the pair, or fails if it was seen and has not expired. `expires` is the
    /// last second at which the request's timestamp is still accepted.
    pub fn remember(
        &self,
        address: Address,
        nonce: &Nonce,
        expires: u64,
        now: u64,
    ) -> Result<(), AuthError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.expiry.len() >= seen.sweep_at.max(SWEEP_AT) {
            seen.expiry.retain(|_, &mut until| until >= now);
            seen.sweep_at = seen.expiry.len() * 2;
        }
        let key = (address, nonce.clone());
        match seen.expiry.get(&key) {
            Some(&until) if until >= now => Err(AuthError::Replayed {
                address,
                nonce: nonce.to_string(),
            }),
            _ => {
                seen.expiry.insert(key, expires);
                Ok(())
            }
        }
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expiry
            .len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_until_expiry_and_swept_after() {
        let guard = ReplayGuard::default();
        let a = Address::repeat_byte(1);
        let n = Nonce::from_bytes(&[7; 8]).unwrap();
        guard.remember(a, &n, 160, 100).unwrap();
        assert!(matches!(
            guard.remember(a, &n, 160, 150),
            Err(AuthError::Replayed { .. })
        ));
        // Another signer may use the same nonce.
        guard
            .remember(Address::repeat_byte(2), &n, 160, 150)
            .unwrap();
        // After expiry the pair is forgotten (its timestamp check fails anyway).
        guard.remember(a, &n, 300, 161).unwrap();

        // Fill up to the sweep threshold without crossing it.
        for i in 0..(SWEEP_AT as u64 - 2) {
            let n = Nonce::from_bytes(&i.to_be_bytes()).unwrap();
            guard.remember(a, &n, 1000, 999).unwrap();
        }
        let before = guard.len();
        guard
            .remember(a, &Nonce::from_bytes(&[9; 8]).unwrap(), 5000, 2000)
            .unwrap();
        assert_eq!(before, SWEEP_AT);
        assert_eq!(guard.len(), 1, "expired nonces were not swept");
    }
}
