//! Replay protection: the `(signer, nonce)` pairs seen within the signature window, kept in
//! the database so that every relay instance on it, and a restarted one, refuses a replay.

use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::Address;

use relay_api::auth::{AuthError, Nonce};

use crate::db::{Db, DbError};

/// Every this many accepted nonces, the expired ones are deleted.
const SWEEP_EVERY: u64 = 1024;

/// Why a nonce was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The pair was used within the window.
    #[error(transparent)]
    Replayed(#[from] AuthError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Records nonces in a [`Db`] and sweeps the expired ones now and then.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    accepted: AtomicU64,
}

impl ReplayGuard {
    /// Records the pair, or fails if it was seen and has not expired. `expires` is the
    /// last second at which the request's timestamp is still accepted.
    pub async fn remember(
        &self,
        db: &dyn Db,
        address: Address,
        nonce: &Nonce,
        expires: u64,
        now: u64,
    ) -> Result<(), ReplayError> {
        if !db
            .remember_nonce(address, nonce.as_str(), expires, now)
            .await?
        {
            return Err(AuthError::Replayed {
                address,
                nonce: nonce.to_string(),
            }
            .into());
        }
        if self.accepted.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let swept = db.sweep_nonces(now).await?;
            tracing::debug!(swept, "expired request nonces deleted");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replays_are_refused_and_expired_nonces_swept() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("relay.db").display());
        let db = crate::db::connect(&url).await.unwrap();
        let guard = ReplayGuard::default();
        let a = Address::repeat_byte(1);
        let n = Nonce::from_bytes(&[7; 8]).unwrap();
        guard.remember(db.as_ref(), a, &n, 160, 100).await.unwrap();
        assert!(matches!(
            guard.remember(db.as_ref(), a, &n, 160, 150).await,
            Err(ReplayError::Replayed(AuthError::Replayed { .. }))
        ));
        // A restarted relay (a new guard, the same database) still refuses it.
        let restarted = ReplayGuard::default();
        assert!(
            restarted
                .remember(db.as_ref(), a, &n, 160, 150)
                .await
                .is_err()
        );
        // Fill up to a sweep: every nonce before it has expired by then.
        for i in 0..(SWEEP_EVERY - 2) {
            let n = Nonce::from_bytes(&i.to_be_bytes()).unwrap();
            guard.remember(db.as_ref(), a, &n, 1000, 999).await.unwrap();
        }
        let n = Nonce::from_bytes(&[9; 8]).unwrap();
        guard
            .remember(db.as_ref(), a, &n, 5000, 2000)
            .await
            .unwrap();
        // Only the last nonce is left: a nonce swept may be reused (its timestamp is stale).
        assert_eq!(db.sweep_nonces(2000).await.unwrap(), 0);
        let first = Nonce::from_bytes(&[7; 8]).unwrap();
        guard
            .remember(db.as_ref(), a, &first, 5000, 2000)
            .await
            .unwrap();
    }
}
