//! A static file server for the web app's build (`dist/`) on 127.0.0.1, with some paths
//! served from memory (`config.json` for the devnet, benchmark images), and the
//! `config.json` itself: the app's own [`AppConfig`] type, serialized.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use app::config::{AppConfig, DevAccount};

use crate::network::Info;

/// Paths served from memory: body and content type.
pub type Overrides = HashMap<String, (Vec<u8>, &'static str)>;

/// The `config.json` the app reads for a devnet: chain, relay, contracts, and the devnet's
/// funded keys for the development wallet.
pub fn app_config(info: &Info) -> AppConfig {
    AppConfig {
        chain_id: info.chain_id,
        chain_name: "Tessera devnet".into(),
        rpc_url: info.rpc_url.clone(),
        relay_url: info.relay_url.clone(),
        node_registry: info.deployments.node_registry,
        task_manager: info.deployments.task_manager,
        appeals: info.deployments.appeals,
        deployment_block: info.deployments.deployment_block,
        dev_accounts: info
            .accounts
            .iter()
            .map(|(address, key)| DevAccount {
                address: *address,
                key: key.clone(),
            })
            .collect(),
    }
}

/// `config.json` for `info`'s devnet, served from memory.
pub fn with_config(info: &Info) -> Result<Overrides> {
    let mut map = Overrides::new();
    map.insert(
        "/config.json".to_owned(),
        (
            serde_json::to_vec_pretty(&app_config(info))?,
            "application/json",
        ),
    );
    Ok(map)
}

/// A static file server for `dist/` on 127.0.0.1, with some paths served from memory
/// (`config.json`, benchmark images). It runs until the process ends.
pub struct Server {
    port: u16,
}

impl Server {
    /// Serves `dir` on `port` (0: any free port).
    pub fn start(dir: &Path, port: u16, overrides: Overrides) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("serving the app on port {port}"))?;
        let port = listener.local_addr()?.port();
        let dir = Arc::new(dir.to_path_buf());
        let overrides = Arc::new(overrides);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let dir = dir.clone();
                let overrides = overrides.clone();
                std::thread::spawn(move || {
                    let _ = serve_one(stream, &dir, &overrides);
                });
            }
        });
        Ok(Self { port })
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn serve_one(stream: TcpStream, dir: &Path, overrides: &Overrides) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut stream = stream;
    let respond = |stream: &mut TcpStream, status: &str, kind: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
             Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        if method != "HEAD" {
            stream.write_all(body)?;
        }
        stream.flush()
    };
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, "405 Method Not Allowed", "text/plain", b"");
    }
    if let Some((body, kind)) = overrides.get(path) {
        return respond(&mut stream, "200 OK", kind, body);
    }
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|s| s == "..") {
        return respond(&mut stream, "400 Bad Request", "text/plain", b"bad path");
    }
    let file = if relative.is_empty() {
        dir.join("index.html")
    } else {
        dir.join(relative)
    };
    match std::fs::read(&file) {
        Ok(body) => respond(&mut stream, "200 OK", content_type(&file), &body),
        Err(_) => respond(&mut stream, "404 Not Found", "text/plain", b"not found"),
    }
}
