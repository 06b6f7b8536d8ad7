//! A real S3-compatible server for tests: `moto`'s server (PyPI `moto[server]`), started on
//! a free loopback port with one empty bucket. `cargo xtask test` installs it and names it
//! in `TESSERA_MOTO_SERVER`; otherwise `moto_server` is looked up on `PATH`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server, stopped on drop.
pub(crate) struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) endpoint: String,
    /// The bucket created for the test.
    pub(crate) bucket: String,
}

impl Moto {
    /// Starts the server and creates `bucket`.
    pub(crate) async fn start(bucket: &str) -> Self {
        let program =
            std::env::var("TESSERA_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        let port = super::free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{program}` ({e}): install it with `pip install \"moto[server]\"`, \
                     or run the tests through `cargo xtask test`, which does"
                )
            });
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_owned(),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // moto checks no credentials: a plain PUT creates the bucket.
            match client
                .put(format!("{}/{bucket}", moto.endpoint))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => return moto,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => panic!("moto did not start on {}: {other:?}", moto.endpoint),
            }
        }
    }

    /// The variables a relay needs to reach the bucket (`object_store`'s `AWS_*` keys).
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The relay's `object_store_url` for this bucket.
    pub(crate) fn url(&self) -> String {
        format!("s3://{}/blobs", self.bucket)
    }

    /// The number of objects stored under `prefix` (a listing through the S3 API).
    pub(crate) async fn count(&self, prefix: &str) -> usize {
        let text = reqwest::get(format!(
            "{}/{}?list-type=2&prefix={prefix}&max-keys=10000",
            self.endpoint, self.bucket
        ))
        .await
        .expect("list the bucket")
        .text()
        .await
        .expect("a listing");
        text.matches("<Key>").count()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
