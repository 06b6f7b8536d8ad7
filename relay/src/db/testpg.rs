//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory and
//! `pg_ctl start` on a free loopback port, stopped when dropped. As root it runs the
//! server as the `postgres` user (PostgreSQL refuses to run as root).
//!
//! With `TESSERA_TEST_PG_URL` set (a superuser URL), tests use that server instead.
//! The binaries are found through `PG_BIN`, `pg_config --bindir`, or the newest
//! `/usr/lib/postgresql/<version>/bin`; `cargo xtask relay prepare` installs them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection as _;

/// A running server (owned, or given by `TESSERA_TEST_PG_URL`).
pub(crate) struct TestPostgres {
    admin_url: String,
    owned: Option<Owned>,
}

struct Owned {
    pg_ctl: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return dir.into();
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL server binaries not found (install Debian's `postgresql`, e.g. with \
         `cargo xtask relay prepare`, or set PG_BIN or TESSERA_TEST_PG_URL)",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn run(as_postgres: bool, program: &Path, args: &[&str]) {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let out = command
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

impl TestPostgres {
    /// Starts a server (or attaches to `TESSERA_TEST_PG_URL`).
    pub(crate) async fn start() -> Self {
        if let Ok(url) = std::env::var("TESSERA_TEST_PG_URL") {
            return Self {
                admin_url: url,
                owned: None,
            };
        }
        tokio::task::spawn_blocking(Self::start_owned)
            .await
            .expect("start PostgreSQL")
    }

    fn start_owned() -> Self {
        let bin = bin_dir();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("tessera-pg-")
            .tempdir()
            .expect("temporary directory");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(status.success(), "chown of the PostgreSQL directory failed");
        }
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        let port = free_port();
        run(
            as_postgres,
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().expect("UTF-8 path"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200",
            dir.path().display()
        );
        run(
            as_postgres,
            &bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().expect("UTF-8 path"),
                "-l",
                log.to_str().expect("UTF-8 path"),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        Self {
            admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            owned: Some(Owned {
                pg_ctl: bin.join("pg_ctl"),
                data,
                as_postgres,
                _dir: dir,
            }),
        }
    }

    /// Creates an empty database and returns its URL.
    pub(crate) async fn fresh_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tessera_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to the test PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let (base, _) = self.admin_url.rsplit_once('/').expect("URL has a database");
        format!("{base}/{name}")
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some(owned) = &self.owned {
            let mut command = if owned.as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&owned.pg_ctl);
                c
            } else {
                Command::new(&owned.pg_ctl)
            };
            let _ = command
                .arg("-D")
                .arg(&owned.data)
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}
