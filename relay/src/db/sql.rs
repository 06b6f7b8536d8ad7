//! Every query the relay runs, valid for both SQLite and PostgreSQL.

pub(super) const PING: &str = "SELECT 1";

pub(super) const INSERT_ARGS: &str = "INSERT INTO task_args (task_id, sha256, size, uploader, created_at, visibility) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (task_id) DO NOTHING";

pub(super) const SELECT_ARGS: &str =
    "SELECT sha256, size, visibility FROM task_args WHERE task_id = $1";

pub(super) const INSERT_RESULTS: &str = "INSERT INTO task_results (task_id, uploader, score, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (task_id) DO NOTHING";

pub(super) const INSERT_RESULT_FILE: &str = "INSERT INTO result_files (task_id, idx, name, sha256, size, content_type) \
     VALUES ($1, $2, $3, $4, $5, $6)";

pub(super) const SELECT_RESULTS: &str =
    "SELECT uploader, score FROM task_results WHERE task_id = $1";

pub(super) const SELECT_RESULT_FILES: &str =
    "SELECT name, sha256, size, content_type FROM result_files WHERE task_id = $1 ORDER BY idx";

pub(super) const DELETE_ARGS: &str = "DELETE FROM task_args WHERE task_id = $1 AND sha256 = $2";

/// The files of a task's results, if those are `$2`'s for score `$3` (before the row).
pub(super) const DELETE_RESULT_FILES: &str = "DELETE FROM result_files WHERE task_id = $1 \
     AND EXISTS (SELECT 1 FROM task_results WHERE task_id = $1 AND uploader = $2 AND score = $3)";

pub(super) const DELETE_RESULTS: &str =
    "DELETE FROM task_results WHERE task_id = $1 AND uploader = $2 AND score = $3";

pub(super) const UPSERT_MODEL_FILE: &str = "INSERT INTO model_files (model, path, sha256, size, created_at) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (model, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size";

/// Unordered: collations differ between the backends, so the caller sorts.
pub(super) const SELECT_MODEL_FILES: &str = "SELECT model, path, sha256, size FROM model_files";

pub(super) const SELECT_MODEL_BLOB: &str = "SELECT size FROM model_files WHERE sha256 = $1 LIMIT 1";

/// Inserts a `(signer, nonce)` pair, or revives an expired one; affects no row while the
/// pair is still live (a replay).
pub(super) const REMEMBER_NONCE: &str = "INSERT INTO request_nonces (address, nonce, expires) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (address, nonce) DO UPDATE SET expires = excluded.expires \
     WHERE request_nonces.expires < $4";

pub(super) const SWEEP_NONCES: &str = "DELETE FROM request_nonces WHERE expires < $1";

/// A node's latest progress on a task replaces its earlier one.
pub(super) const UPSERT_PROGRESS: &str = "INSERT INTO task_progress (task_id, node, step, steps, updated_at) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (task_id, node) DO UPDATE SET step = excluded.step, steps = excluded.steps, \
     updated_at = excluded.updated_at";

pub(super) const SELECT_PROGRESS: &str =
    "SELECT node, step, steps, updated_at FROM task_progress WHERE task_id = $1 ORDER BY node";
