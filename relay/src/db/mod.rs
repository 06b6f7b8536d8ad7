//! The relay's records: which blobs were accepted as whose task arguments, results and
//! model files.
//!
//! [`Db`] has two implementations, [`SqliteDb`] (the default, embedded) and [`PgDb`] (for
//! several relay instances), generated from the same SQL text: the schema uses only types
//! both understand and every query uses `$n` parameters, which both accept. Migrations are
//! embedded in the binary and run at connect.

mod sql;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use alloy_primitives::{Address, B256};
use async_trait::async_trait;
use serde::Serialize;
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::chain::TaskId;
pub use relay_api::{ModelFile, NodeProgress, ResultFile, ResultSet, StepReport};

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL's scheme is neither SQLite nor PostgreSQL.
    #[error("database URL `{0}` must start with sqlite: or postgres:")]
    UnknownScheme(String),
    /// The driver failed.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not parse back (the database was edited by hand?).
    #[error("stored value `{value}` in column {column} is corrupt")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The value.
        value: String,
    },
}

/// A task's accepted arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsRecord {
    /// SHA-256 of the bytes (the blob's name).
    pub sha256: B256,
    /// Their size.
    pub size: u64,
    /// Whether anyone may read the task's results once accepted (else only its creator
    /// and selected nodes), as the creator chose when storing them.
    pub public_results: bool,
}

/// A model and its files, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Model {
    /// Its name, e.g. `runwayml/stable-diffusion-v1-5` or `gpt2`.
    pub name: String,
    /// Its files.
    pub files: Vec<ModelFile>,
}

/// Whether an insert created the record or found one already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The record is new.
    New,
    /// A record for that key existed; nothing was changed.
    Existing,
}

/// The relay's records.
#[async_trait]
pub trait Db: Send + Sync + 'static {
    /// Checks the connection.
    async fn ping(&self) -> Result<(), DbError>;
    /// Records a task's arguments, unless some are recorded already.
    async fn insert_args(
        &self,
        task: TaskId,
        args: &ArgsRecord,
        uploader: Address,
    ) -> Result<Inserted, DbError>;
    /// A task's arguments.
    async fn args(&self, task: TaskId) -> Result<Option<ArgsRecord>, DbError>;
    /// Records a task's results, all files in one transaction, unless some are recorded.
    async fn insert_results(&self, task: TaskId, results: &ResultSet) -> Result<Inserted, DbError>;
    /// A task's results.
    async fn results(&self, task: TaskId) -> Result<Option<ResultSet>, DbError>;
    /// Removes a task's arguments if they are still the ones with this SHA-256 (ones a
    /// chain reorganisation made stale); returns whether it did.
    async fn delete_args(&self, task: TaskId, sha256: B256) -> Result<bool, DbError>;
    /// Removes a task's results, files included, in one transaction, if they are still the
    /// ones `uploader` uploaded for `score` (ones a chain reorganisation made stale);
    /// returns whether it did.
    async fn delete_results(
        &self,
        task: TaskId,
        uploader: Address,
        score: &[u8],
    ) -> Result<bool, DbError>;
    /// Records (or replaces) one file of a model.
    async fn upsert_model_file(&self, model: &str, file: &ModelFile) -> Result<(), DbError>;
    /// All models with their files, sorted by name.
    async fn models(&self) -> Result<Vec<Model>, DbError>;
    /// The size of a model file with this hash, if any model has one.
    async fn model_blob_size(&self, sha256: B256) -> Result<Option<u64>, DbError>;
    /// Records that `address` used `nonce` in a request accepted until `expires` (Unix
    /// seconds); `false` if the pair is recorded and still live at `now` (a replay). Atomic
    /// across every relay instance on the database.
    async fn remember_nonce(
        &self,
        address: Address,
        nonce: &str,
        expires: u64,
        now: u64,
    ) -> Result<bool, DbError>;
    /// Forgets the nonces that expired before `now`; returns how many.
    async fn sweep_nonces(&self, now: u64) -> Result<u64, DbError>;
    /// Records `node`'s latest progress report on a task, replacing its earlier one.
    async fn put_progress(
        &self,
        task: TaskId,
        node: Address,
        report: StepReport,
    ) -> Result<(), DbError>;
    /// The latest report of every node that sent one for the task, by address.
    async fn progress(&self, task: TaskId) -> Result<Vec<NodeProgress>, DbError>;
}

/// Connects to `url` (`sqlite:` or `postgres:`), creating a SQLite file if needed, and
/// runs the migrations.
pub async fn connect(url: &str) -> Result<Box<dyn Db>, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(SqliteDb::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Box::new(PgDb::connect(url).await?))
    } else {
        Err(DbError::UnknownScheme(url.to_owned()))
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl SqliteDb {
    /// Opens (creating if needed) a SQLite database in WAL mode with full `fsync` on
    /// commit, so an acknowledged write survives a crash.
    ///
    /// Request nonces go through a connection of their own with `synchronous = NORMAL`: in
    /// WAL mode their commits survive the relay's crash but not the machine's, which skips
    /// an `fsync` on every signed request. A power cut can thus forget the nonces of the
    /// last moments, and a request signed in them could be replayed within its signature
    /// window (60 s by default) after the restart; every record the relay accepts stays
    /// fully synced.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // WAL lets readers run beside the one writer.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let nonces = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.synchronous(SqliteSynchronous::Normal))
            .await?;
        Ok(Self { pool, nonces })
    }
}

impl PgDb {
    /// Connects to a PostgreSQL server.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        // PostgreSQL groups concurrent commits' WAL flushes by itself.
        let nonces = pool.clone();
        Ok(Self { pool, nonces })
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn hex_hash(hash: B256) -> String {
    hex::encode(hash)
}

fn parse<T: FromStr>(column: &'static str, value: String) -> Result<T, DbError> {
    value
        .parse()
        .map_err(|_| DbError::Corrupt { column, value })
}

fn parse_hash(column: &'static str, value: String) -> Result<B256, DbError> {
    match hex::decode(&value) {
        Ok(bytes) if bytes.len() == 32 => Ok(B256::from_slice(&bytes)),
        _ => Err(DbError::Corrupt { column, value }),
    }
}

fn parse_size(column: &'static str, value: i64) -> Result<u64, DbError> {
    u64::try_from(value).map_err(|_| DbError::Corrupt {
        column,
        value: value.to_string(),
    })
}

fn sql_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// Implements [`Db`] for a sqlx pool type; both backends share every query in [`sql`].
macro_rules! sql_db {
    ($(#[$doc:meta])* $name:ident, $pool:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            pool: $pool,
            /// Where request nonces are written (see the constructors).
            nonces: $pool,
        }

        #[async_trait]
        impl Db for $name {
            async fn ping(&self) -> Result<(), DbError> {
                sqlx::query(sql::PING).execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_args(
                &self,
                task: TaskId,
                args: &ArgsRecord,
                uploader: Address,
            ) -> Result<Inserted, DbError> {
                let done = sqlx::query(sql::INSERT_ARGS)
                    .bind(task.to_string())
                    .bind(hex_hash(args.sha256))
                    .bind(sql_size(args.size))
                    .bind(uploader.to_string().to_ascii_lowercase())
                    .bind(now())
                    .bind(if args.public_results { "public" } else { "private" })
                    .execute(&self.pool)
                    .await?;
                Ok(if done.rows_affected() == 1 { Inserted::New } else { Inserted::Existing })
            }

            async fn args(&self, task: TaskId) -> Result<Option<ArgsRecord>, DbError> {
                let row = sqlx::query(sql::SELECT_ARGS)
                    .bind(task.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| {
                    Ok(ArgsRecord {
                        sha256: parse_hash("task_args.sha256", row.try_get("sha256")?)?,
                        size: parse_size("task_args.size", row.try_get("size")?)?,
                        public_results: row.try_get::<String, _>("visibility")? == "public",
                    })
                })
                .transpose()
            }

            async fn insert_results(
                &self,
                task: TaskId,
                results: &ResultSet,
            ) -> Result<Inserted, DbError> {
                let task = task.to_string();
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(sql::INSERT_RESULTS)
                    .bind(&task)
                    .bind(results.uploader.to_string().to_ascii_lowercase())
                    .bind(hex::encode(&results.score))
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(Inserted::Existing);
                }
                for (idx, file) in results.files.iter().enumerate() {
                    sqlx::query(sql::INSERT_RESULT_FILE)
                        .bind(&task)
                        .bind(idx as i64)
                        .bind(&file.name)
                        .bind(hex_hash(file.sha256))
                        .bind(sql_size(file.size))
                        .bind(&file.content_type)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Inserted::New)
            }

            async fn results(&self, task: TaskId) -> Result<Option<ResultSet>, DbError> {
                let task = task.to_string();
                let Some(row) = sqlx::query(sql::SELECT_RESULTS)
                    .bind(&task)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let score: String = row.try_get("score")?;
                let score = hex::decode(&score)
                    .map_err(|_| DbError::Corrupt { column: "task_results.score", value: score })?;
                let files = sqlx::query(sql::SELECT_RESULT_FILES)
                    .bind(&task)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(|row| {
                        Ok(ResultFile {
                            name: row.try_get("name")?,
                            sha256: parse_hash("result_files.sha256", row.try_get("sha256")?)?,
                            size: parse_size("result_files.size", row.try_get("size")?)?,
                            content_type: row.try_get("content_type")?,
                        })
                    })
                    .collect::<Result<_, DbError>>()?;
                Ok(Some(ResultSet {
                    uploader: parse("task_results.uploader", row.try_get("uploader")?)?,
                    score: score.into(),
                    files,
                }))
            }

            async fn delete_args(&self, task: TaskId, sha256: B256) -> Result<bool, DbError> {
                let done = sqlx::query(sql::DELETE_ARGS)
                    .bind(task.to_string())
                    .bind(hex_hash(sha256))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_results(
                &self,
                task: TaskId,
                uploader: Address,
                score: &[u8],
            ) -> Result<bool, DbError> {
                let task = task.to_string();
                let uploader = uploader.to_string().to_ascii_lowercase();
                let score = hex::encode(score);
                let mut tx = self.pool.begin().await?;
                sqlx::query(sql::DELETE_RESULT_FILES)
                    .bind(&task)
                    .bind(&uploader)
                    .bind(&score)
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query(sql::DELETE_RESULTS)
                    .bind(&task)
                    .bind(&uploader)
                    .bind(&score)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn upsert_model_file(&self, model: &str, file: &ModelFile) -> Result<(), DbError> {
                sqlx::query(sql::UPSERT_MODEL_FILE)
                    .bind(model)
                    .bind(&file.path)
                    .bind(hex_hash(file.sha256))
                    .bind(sql_size(file.size))
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn models(&self) -> Result<Vec<Model>, DbError> {
                let rows = sqlx::query(sql::SELECT_MODEL_FILES)
                    .fetch_all(&self.pool)
                    .await?;
                let mut models: BTreeMap<String, Vec<ModelFile>> = BTreeMap::new();
                for row in rows {
                    models.entry(row.try_get("model")?).or_default().push(ModelFile {
                        path: row.try_get("path")?,
                        sha256: parse_hash("model_files.sha256", row.try_get("sha256")?)?,
                        size: parse_size("model_files.size", row.try_get("size")?)?,
                    });
                }
                Ok(models
                    .into_iter()
                    .map(|(name, mut files)| {
                        files.sort_by(|a, b| a.path.cmp(&b.path));
                        Model { name, files }
                    })
                    .collect())
            }

            async fn remember_nonce(
                &self,
                address: Address,
                nonce: &str,
                expires: u64,
                now: u64,
            ) -> Result<bool, DbError> {
                let done = sqlx::query(sql::REMEMBER_NONCE)
                    .bind(address.to_string().to_ascii_lowercase())
                    .bind(nonce)
                    .bind(sql_size(expires))
                    .bind(sql_size(now))
                    .execute(&self.nonces)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn sweep_nonces(&self, now: u64) -> Result<u64, DbError> {
                let done = sqlx::query(sql::SWEEP_NONCES)
                    .bind(sql_size(now))
                    .execute(&self.nonces)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn put_progress(
                &self,
                task: TaskId,
                node: Address,
                report: StepReport,
            ) -> Result<(), DbError> {
                sqlx::query(sql::UPSERT_PROGRESS)
                    .bind(task.to_string())
                    .bind(node.to_string().to_ascii_lowercase())
                    .bind(i64::from(report.step))
                    .bind(i64::from(report.steps))
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn progress(&self, task: TaskId) -> Result<Vec<NodeProgress>, DbError> {
                let rows = sqlx::query(sql::SELECT_PROGRESS)
                    .bind(task.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|row| {
                        let count = |name: &str, column: &'static str| -> Result<u32, DbError> {
                            let value: i64 = row.try_get(name)?;
                            u32::try_from(value).map_err(|_| DbError::Corrupt {
                                column,
                                value: value.to_string(),
                            })
                        };
                        Ok(NodeProgress {
                            node: parse("task_progress.node", row.try_get("node")?)?,
                            step: count("step", "task_progress.step")?,
                            steps: count("steps", "task_progress.steps")?,
                            updated_at: parse_size(
                                "task_progress.updated_at",
                                row.try_get("updated_at")?,
                            )?,
                        })
                    })
                    .collect()
            }

            async fn model_blob_size(&self, sha256: B256) -> Result<Option<u64>, DbError> {
                let row = sqlx::query(sql::SELECT_MODEL_BLOB)
                    .bind(hex_hash(sha256))
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| parse_size("model_files.size", row.try_get("size")?))
                    .transpose()
            }
        }
    };
}

sql_db!(
    /// The embedded default: one SQLite file.
    SqliteDb,
    SqlitePool
);
sql_db!(
    /// PostgreSQL, for relays that share their state.
    PgDb,
    PgPool
);

#[cfg(test)]
pub(crate) mod testpg;

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Bytes;

    fn results(uploader: Address) -> ResultSet {
        ResultSet {
            uploader,
            score: Bytes::from(vec![0xab; 16]),
            files: (0..2)
                .map(|i| ResultFile {
                    name: format!("{i}.png"),
                    sha256: B256::repeat_byte(i as u8 + 1),
                    size: 1000 + i,
                    content_type: "image/png".into(),
                })
                .collect(),
        }
    }

    /// The behaviour every [`Db`] must show.
    async fn contract(db: &dyn Db) {
        db.ping().await.unwrap();
        let task = TaskId::from(7);
        let node = Address::repeat_byte(0x42);

        assert_eq!(db.args(task).await.unwrap(), None);
        let args = ArgsRecord {
            sha256: B256::repeat_byte(9),
            size: 123,
            public_results: true,
        };
        assert_eq!(
            db.insert_args(task, &args, node).await.unwrap(),
            Inserted::New
        );
        let other = ArgsRecord {
            sha256: B256::repeat_byte(8),
            size: 1,
            public_results: false,
        };
        assert_eq!(
            db.insert_args(task, &other, node).await.unwrap(),
            Inserted::Existing
        );
        assert_eq!(db.args(task).await.unwrap(), Some(args.clone()));

        assert_eq!(db.results(task).await.unwrap(), None);
        let set = results(node);
        assert_eq!(db.insert_results(task, &set).await.unwrap(), Inserted::New);
        let mut second = results(Address::ZERO);
        second.files.truncate(1);
        assert_eq!(
            db.insert_results(task, &second).await.unwrap(),
            Inserted::Existing
        );
        assert_eq!(db.results(task).await.unwrap(), Some(set.clone()));

        // Stale records (a reorganisation replaced the task) are removed only while they
        // are the ones named, and then replaced by a plain insert.
        assert!(!db.delete_args(task, other.sha256).await.unwrap());
        assert_eq!(db.args(task).await.unwrap(), Some(args.clone()));
        assert!(db.delete_args(task, args.sha256).await.unwrap());
        assert_eq!(db.args(task).await.unwrap(), None);
        assert_eq!(
            db.insert_args(task, &other, node).await.unwrap(),
            Inserted::New
        );
        assert_eq!(db.args(task).await.unwrap(), Some(other.clone()));
        assert!(
            !db.delete_results(task, Address::ZERO, &set.score)
                .await
                .unwrap()
        );
        assert!(!db.delete_results(task, node, &[0xcd; 16]).await.unwrap());
        assert_eq!(db.results(task).await.unwrap(), Some(set.clone()));
        assert!(db.delete_results(task, node, &set.score).await.unwrap());
        assert_eq!(db.results(task).await.unwrap(), None);
        assert!(!db.delete_results(task, node, &set.score).await.unwrap());
        let mut replacement = results(Address::repeat_byte(0x44));
        replacement.score = Bytes::from(vec![0xcd; 16]);
        replacement.files.truncate(1);
        assert_eq!(
            db.insert_results(task, &replacement).await.unwrap(),
            Inserted::New
        );
        assert_eq!(db.results(task).await.unwrap(), Some(replacement));
        db.delete_args(task, other.sha256).await.unwrap();
        db.insert_args(task, &args, node).await.unwrap();
        db.delete_results(task, Address::repeat_byte(0x44), &[0xcd; 16])
            .await
            .unwrap();
        db.insert_results(task, &set).await.unwrap();

        // A huge task id (256 bits) round-trips.
        let big = TaskId(alloy_primitives::U256::MAX);
        db.insert_args(
            big,
            &ArgsRecord {
                sha256: B256::ZERO,
                size: 0,
                public_results: false,
            },
            node,
        )
        .await
        .unwrap();
        assert!(db.args(big).await.unwrap().is_some());

        assert!(db.models().await.unwrap().is_empty());
        let file = |path: &str, byte: u8| ModelFile {
            path: path.into(),
            sha256: B256::repeat_byte(byte),
            size: u64::from(byte) * 10,
        };
        db.upsert_model_file("gpt2", &file("model.safetensors", 1))
            .await
            .unwrap();
        db.upsert_model_file("gpt2", &file("config.json", 2))
            .await
            .unwrap();
        db.upsert_model_file("sd", &file("unet/x.safetensors", 3))
            .await
            .unwrap();
        db.upsert_model_file("gpt2", &file("config.json", 4))
            .await
            .unwrap();
        let models = db.models().await.unwrap();
        assert_eq!(
            models,
            vec![
                Model {
                    name: "gpt2".into(),
                    files: vec![file("config.json", 4), file("model.safetensors", 1)],
                },
                Model {
                    name: "sd".into(),
                    files: vec![file("unet/x.safetensors", 3)]
                },
            ]
        );
        assert_eq!(
            db.model_blob_size(B256::repeat_byte(3)).await.unwrap(),
            Some(30)
        );
        assert_eq!(
            db.model_blob_size(B256::repeat_byte(2)).await.unwrap(),
            None
        );

        // Nonces: fresh once, a replay while live, another signer's is its own, and an
        // expired pair may be used again; sweeping forgets only the expired.
        let other = Address::repeat_byte(0x43);
        assert!(db.remember_nonce(node, "0x01", 160, 100).await.unwrap());
        assert!(!db.remember_nonce(node, "0x01", 170, 150).await.unwrap());
        assert!(!db.remember_nonce(node, "0x01", 170, 160).await.unwrap());
        assert!(db.remember_nonce(other, "0x01", 170, 150).await.unwrap());
        assert!(db.remember_nonce(node, "0x01", 300, 161).await.unwrap());
        assert!(!db.remember_nonce(node, "0x01", 300, 200).await.unwrap());
        assert!(db.remember_nonce(node, "0x02", 100, 90).await.unwrap());
        assert_eq!(db.sweep_nonces(250).await.unwrap(), 2);
        assert!(!db.remember_nonce(node, "0x01", 400, 250).await.unwrap());
        assert!(db.remember_nonce(other, "0x01", 400, 250).await.unwrap());

        // Progress: one row per node, the latest report replacing the earlier one.
        assert!(db.progress(task).await.unwrap().is_empty());
        let report = |step, steps| StepReport { step, steps };
        db.put_progress(task, other, report(3, 20)).await.unwrap();
        db.put_progress(task, node, report(1, 20)).await.unwrap();
        db.put_progress(task, other, report(5, 20)).await.unwrap();
        db.put_progress(big, node, report(u32::MAX, u32::MAX))
            .await
            .unwrap();
        let seen: Vec<_> = db
            .progress(task)
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.node, p.step, p.steps, p.updated_at > 0))
            .collect();
        assert_eq!(seen, vec![(node, 1, 20, true), (other, 5, 20, true)]);
        let big_row = &db.progress(big).await.unwrap()[0];
        assert_eq!((big_row.step, big_row.steps), (u32::MAX, u32::MAX));
    }

    #[tokio::test]
    async fn sqlite_meets_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("relay.db").display());
        let db = connect(&url).await.unwrap();
        contract(db.as_ref()).await;
        drop(db);
        // Records survive reopening, and migrations do not run twice.
        let db = connect(&url).await.unwrap();
        assert!(db.results(TaskId::from(7)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn postgres_meets_the_contract() {
        let server = testpg::TestPostgres::start().await;
        let db = connect(&server.fresh_database().await).await.unwrap();
        contract(db.as_ref()).await;
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused() {
        assert!(matches!(
            connect("mysql://localhost/x").await,
            Err(DbError::UnknownScheme(_))
        ));
    }
}
