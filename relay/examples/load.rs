//! Load benchmark on loopback: real relays (SQLite or PostgreSQL, files on disk, durable
//! writes) on `127.0.0.1`, driven by concurrent HTTP clients in the same process.
//!
//! ```text
//! cargo run --release -p relay --example load -- [--requests N] [--seconds S]
//!     [--concurrency C] [--database sqlite|postgres] [--instances K] [--junk J] [--rate R]
//! ```
//!
//! Phases: argument upload (signed PUT, hash checked against the task), argument download
//! (a small signed GET), result upload (one 512x512 PNG per task, pHash recomputed and
//! compared), result download, health. Each phase stops after N requests or S seconds,
//! whichever comes first, and prints requests per second and p50/p99 latency. By default
//! the C clients send as fast as they are answered (throughput at saturation, where latency
//! is C divided by throughput by Little's law); `--rate R` instead offers R requests a
//! second on a fixed schedule, and latency counts from each request's scheduled time, so a
//! relay that falls behind shows it (no coordinated omission). With K
//! instances, K relays share the database and the file store, requests alternate between
//! them, and all are signed for the one public URL they serve under (as behind a load
//! balancer). `--junk J` ends with J concurrent 64 MiB uploads of zeros, half from keys
//! entitled to nothing, half from the designated uploaders of J/2 tasks, and prints how
//! they were answered and the process's peak resident memory meanwhile. Requests are signed
//! before the clock starts; the chain view is fed the tasks' events directly (following a
//! chain is not on the request path). PostgreSQL is a private cluster started for the run.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy::primitives::{B256, Bytes as ChainBytes};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use relay::blob::DiskStore;
use relay::chain::{ChainEvent, ChainIndex, TaskId, TaskType};
use relay::config::Limits;
use relay::{AppState, app, db};
use relay_api::auth::{self, Nonce, RequestToSign, body_sha256};

const CHAIN_ID: u64 = 31337;

/// The public URL every instance serves under (a load balancer's), which requests are
/// signed for.
const PUBLIC_URL: &str = "http://relay.bench";

struct Options {
    requests: usize,
    seconds: u64,
    concurrency: usize,
    database: String,
    instances: usize,
    junk: usize,
    /// Requests offered per second, on a schedule (0: as fast as answered).
    rate: f64,
}

fn options() -> Options {
    let mut options = Options {
        requests: 3000,
        seconds: 20,
        concurrency: 32,
        database: "sqlite".into(),
        instances: 1,
        junk: 0,
        rate: 0.0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = || {
            pair.get(1)
                .and_then(|v| v.parse().ok())
                .expect("a number after the flag")
        };
        match pair[0].as_str() {
            "--requests" => options.requests = value(),
            "--seconds" => options.seconds = value() as u64,
            "--concurrency" => options.concurrency = value(),
            "--instances" => options.instances = value(),
            "--junk" => options.junk = value(),
            "--rate" => options.rate = value() as f64,
            "--database" => {
                options.database = pair.get(1).cloned().expect("sqlite or postgres");
            }
            other => panic!(
                "unknown flag {other}; use --requests, --seconds, --concurrency, --database, --instances, --junk, --rate"
            ),
        }
    }
    options
}

/// One prepared request.
struct Prepared {
    method: reqwest::Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn key(n: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(n)).unwrap()
}

fn prepare(
    signer: &PrivateKeySigner,
    method: reqwest::Method,
    path: String,
    body: Vec<u8>,
    content_type: Option<String>,
    seq: u64,
) -> Prepared {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut nonce_bytes = [0u8; 16];
    nonce_bytes[..8].copy_from_slice(&seq.to_be_bytes());
    nonce_bytes[8..].copy_from_slice(&timestamp.to_be_bytes());
    let nonce = Nonce::from_bytes(&nonce_bytes).unwrap();
    let relay = &auth::origin(PUBLIC_URL).unwrap();
    let body_hash = body_sha256(&body);
    let hash = RequestToSign {
        chain_id: CHAIN_ID,
        relay,
        method: method.as_str(),
        path: &path,
        body_sha256: body_hash,
        timestamp,
        nonce: &nonce,
    }
    .signing_hash();
    let signature = signer.sign_hash_sync(&hash).unwrap();
    let mut headers = vec![
        (auth::ADDRESS_HEADER, signer.address().to_string()),
        (auth::RELAY_HEADER, relay.clone()),
        (auth::BODY_SHA256_HEADER, format!("{body_hash:#x}")),
        (auth::TIMESTAMP_HEADER, timestamp.to_string()),
        (auth::NONCE_HEADER, nonce.to_string()),
        (
            auth::SIGNATURE_HEADER,
            format!("0x{}", alloy::hex::encode(signature.as_bytes())),
        ),
    ];
    if let Some(ct) = content_type {
        headers.push(("content-type", ct));
    }
    Prepared {
        method,
        path,
        headers,
        body,
    }
}

/// A 512x512 RGB PNG like a diffusion output (smooth shapes plus fine noise), made unique
/// per task by a text chunk so no two uploads share a stored blob.
fn result_png(task: u64) -> Vec<u8> {
    let (w, h) = (512u32, 512u32);
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    let mut noise = 0x2545_f491_4f6c_dd1du64 ^ (task % 16);
    for y in 0..h {
        for x in 0..w {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let fx = x as f32 / w as f32;
            let fy = y as f32 / h as f32;
            let base =
                ((fx * 6.0 + (task % 16) as f32).sin() * (fy * 4.0).cos() * 100.0 + 128.0) as i32;
            let n = (noise & 15) as i32 - 8;
            pixels.extend_from_slice(&[
                (base + n).clamp(0, 255) as u8,
                (255 - base + n).clamp(0, 255) as u8,
                ((x ^ y) as i32 % 64 + base / 2 + n).clamp(0, 255) as u8,
            ]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(Cursor::new(&mut out), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // As the engine writes them (`engine::task::encode_png`).
    encoder.set_compression(png::Compression::Fast);
    encoder
        .add_text_chunk("tessera-task".into(), task.to_string())
        .unwrap();
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "tessera-load-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

struct Report {
    name: &'static str,
    ok: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    first_failure: Option<String>,
}

impl Report {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies.len() as f64 * p).ceil() as usize)
                .clamp(1, self.latencies.len())
                - 1;
            self.latencies[i].as_secs_f64() * 1000.0
        };
        println!(
            "{:<18} {:>7} ok {:>5} failed {:>8.2} s {:>9.1} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
            self.name,
            self.ok,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.ok as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
        );
        if let Some(failure) = &self.first_failure {
            println!("{:<18} first failure: {failure}", "");
        }
    }
}

async fn drive(
    name: &'static str,
    bases: &[String],
    client: &reqwest::Client,
    requests: Vec<Prepared>,
    expect: reqwest::StatusCode,
    options: &Options,
) -> Report {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let rate = options.rate;
    let mut workers = Vec::new();
    for _ in 0..options.concurrency {
        let (requests, next, client, bases) = (
            requests.clone(),
            next.clone(),
            client.clone(),
            bases.to_vec(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut ok, mut failed, mut first_failure) = (0, 0, None);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests.len() || Instant::now() >= deadline {
                    break;
                }
                let r = &requests[i];
                let base = &bases[i % bases.len()];
                let mut request = client
                    .request(r.method.clone(), format!("{base}{}", r.path))
                    .body(r.body.clone());
                for (k, v) in &r.headers {
                    request = request.header(*k, v);
                }
                let sent = if rate > 0.0 {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    due
                } else {
                    Instant::now()
                };
                let result = request.send().await;
                let outcome = match result {
                    Ok(response) => {
                        let status = response.status();
                        let body = response.bytes().await;
                        match body {
                            Ok(body) if status == expect => Ok(body.len()),
                            Ok(body) => {
                                Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
                            }
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                latencies.push(sent.elapsed());
                match outcome {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        failed += 1;
                        first_failure.get_or_insert(e);
                    }
                }
            }
            (ok, failed, latencies, first_failure)
        }));
    }
    let mut report = Report {
        name,
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        first_failure: None,
    };
    for worker in workers {
        let (ok, failed, latencies, first_failure) = worker.await.unwrap();
        report.ok += ok;
        report.failed += failed;
        report.latencies.extend(latencies);
        if report.first_failure.is_none() {
            report.first_failure = first_failure;
        }
    }
    report.elapsed = started.elapsed();
    report.print();
    report
}

#[path = "../src/db/testpg.rs"]
#[allow(dead_code, unreachable_pub)]
mod testpg;

#[tokio::main]
async fn main() {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    let postgres = match options.database.as_str() {
        "sqlite" => None,
        "postgres" => Some(testpg::TestPostgres::start().await),
        other => panic!("--database {other}: use sqlite or postgres"),
    };
    let database_url = match &postgres {
        None => format!("sqlite://{}", dir.path().join("relay.db").display()),
        Some(server) => server.fresh_database().await,
    };
    let index = Arc::new(ChainIndex::new(CHAIN_ID));
    let limits = Limits {
        signature_window_secs: 600,
        ..Limits::default()
    };
    let mut bases = Vec::new();
    for _ in 0..options.instances.max(1) {
        let db = db::connect(&database_url).await.unwrap();
        let blobs = DiskStore::open(dir.path().join("blobs")).unwrap();
        let state = AppState::new(
            db,
            Box::new(blobs),
            index.clone(),
            limits.clone(),
            Vec::new(),
        )
        .with_public_urls([PUBLIC_URL])
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.push(format!("http://{}", listener.local_addr().unwrap()));
        tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
    }
    let (database, instances) = (options.database.as_str(), bases.len());

    // The junk first, while the process holds nothing else, so its memory is the relay's.
    let mut block = 0u64;
    if options.junk > 0 {
        junk(&index, &bases, options.junk, &mut block).await;
    }

    let n = options.requests;
    // Many requesters and nodes, as on a network: a task's creator and uploader are one of
    // 64 each (no one signer holds more than the relay's per-signer upload slots).
    let creators: Vec<PrivateKeySigner> = (0..64).map(|i| key(1 + i)).collect();
    let uploaders: Vec<PrivateKeySigner> = (0..64).map(|i| key(101 + i)).collect();
    let creator_of = |t: u64| &creators[(t % 64) as usize];
    let uploader_of = |t: u64| &uploaders[(t % 64) as usize];
    println!(
        "relay load benchmark: {database}, {instances} instance(s), {n} requests per phase at most, {} s at most, {} concurrent clients{}, files on disk in {}",
        options.seconds,
        options.concurrency,
        if options.rate > 0.0 {
            format!(" offering {} requests/s", options.rate)
        } else {
            String::new()
        },
        dir.path().display()
    );

    // Tasks on "chain": arguments hash, the uploader selected and its revealed pHash.
    let png_pool: Vec<Vec<u8>> = (0..16).map(result_png).collect();
    let mut args_requests = Vec::with_capacity(n);
    for t in 0..n as u64 {
        let id = TaskId::from(t + 1);
        let args = format!(
            "{{\"version\":\"2.5.0\",\"base_model\":\"runwayml/stable-diffusion-v1-5\",\"prompt\":\"a lighthouse at dusk, task {t}\",\"task_config\":{{\"num_images\":1,\"seed\":{t}}}}}"
        );
        block += 1;
        index.apply(
            block,
            [
                ChainEvent::TaskCreated {
                    id,
                    kind: TaskType::StableDiffusion,
                    creator: creator_of(t).address(),
                    task_hash: B256::from(verifier::commitment::task_hash(args.as_bytes())),
                },
                ChainEvent::NodeSelected {
                    id,
                    node: uploader_of(t).address(),
                },
            ],
        );
        args_requests.push(prepare(
            creator_of(t),
            reqwest::Method::PUT,
            format!("/v1/tasks/{id}/args"),
            args.into_bytes(),
            None,
            t,
        ));
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()
        .unwrap();

    let uploaded = drive(
        "args upload",
        &bases,
        &client,
        args_requests,
        reqwest::StatusCode::CREATED,
        &options,
    )
    .await;

    let reads: Vec<Prepared> = (0..uploaded.ok as u64)
        .map(|t| {
            prepare(
                uploader_of(t),
                reqwest::Method::GET,
                format!("/v1/tasks/{}/args", t + 1),
                Vec::new(),
                None,
                n as u64 + t,
            )
        })
        .collect();
    drive(
        "args download",
        &bases,
        &client,
        reads,
        reqwest::StatusCode::OK,
        &options,
    )
    .await;

    // Result uploads: every task gets a distinct 512x512 PNG whose pHash was revealed.
    let mut result_requests = Vec::with_capacity(n);
    for t in 0..n as u64 {
        let id = TaskId::from(t + 1);
        let mut png = png_pool[(t % 16) as usize].clone();
        make_unique(&mut png, t);
        let score = relay::score::recompute(
            TaskType::StableDiffusion,
            &[("0.png".to_owned(), png.clone().into())],
            2048,
        )
        .expect("the benchmark's PNGs hash");
        block += 1;
        index.apply(
            block,
            [ChainEvent::ResultRevealed {
                id,
                uploader: uploader_of(t).address(),
                score: ChainBytes::from(score),
                files_digest: B256::from(verifier::digest::files_digest_of([&png])),
            }],
        );
        let (ct, body) = multipart("0.png", &png);
        result_requests.push(prepare(
            uploader_of(t),
            reqwest::Method::POST,
            format!("/v1/tasks/{id}/results"),
            body,
            Some(ct),
            2 * n as u64 + t,
        ));
    }
    let png_size = png_pool[0].len();
    let results = drive(
        "result upload",
        &bases,
        &client,
        result_requests,
        reqwest::StatusCode::CREATED,
        &options,
    )
    .await;
    println!(
        "{:<18} (one {png_size}-byte 512x512 PNG per upload, pHash recomputed)",
        ""
    );

    let downloads: Vec<Prepared> = (0..results.ok as u64)
        .map(|t| {
            prepare(
                creator_of(t),
                reqwest::Method::GET,
                format!("/v1/tasks/{}/results/0.png", t + 1),
                Vec::new(),
                None,
                3 * n as u64 + t,
            )
        })
        .collect();
    drive(
        "result download",
        &bases,
        &client,
        downloads,
        reqwest::StatusCode::OK,
        &options,
    )
    .await;

    let health: Vec<Prepared> = (0..n)
        .map(|_| Prepared {
            method: reqwest::Method::GET,
            path: "/health".into(),
            headers: Vec::new(),
            body: Vec::new(),
        })
        .collect();
    drive(
        "health",
        &bases,
        &client,
        health,
        reqwest::StatusCode::OK,
        &options,
    )
    .await;
}

/// Resident memory now and at its peak since the last reset, in MiB (Linux).
fn resident_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

const JUNK_BYTES: usize = 64 << 20;

/// `count` concurrent 64 MiB uploads of zeros, half from strangers, half from the
/// designated uploaders of fresh tasks; prints how they were answered and peak memory.
async fn junk(index: &ChainIndex, bases: &[String], count: usize, block: &mut u64) {
    let zeros_hash = body_sha256(&vec![0u8; JUNK_BYTES]);
    let mut uploads = Vec::new();
    for i in 0..count as u64 {
        let id = TaskId::from(1_000_000 + i);
        let signer =
            PrivateKeySigner::from_bytes(&B256::left_padding_from(&(1_000 + i).to_be_bytes()))
                .unwrap();
        if i % 2 == 1 {
            *block += 1;
            index.apply(
                *block,
                [
                    ChainEvent::TaskCreated {
                        id,
                        kind: TaskType::StableDiffusion,
                        creator: key(1).address(),
                        task_hash: B256::repeat_byte(1),
                    },
                    ChainEvent::NodeSelected {
                        id,
                        node: signer.address(),
                    },
                    ChainEvent::ResultRevealed {
                        id,
                        uploader: signer.address(),
                        score: ChainBytes::from(vec![0u8; 8]),
                        files_digest: B256::ZERO,
                    },
                ],
            );
        }
        let mut prepared = prepare(
            &signer,
            reqwest::Method::POST,
            format!("/v1/tasks/{id}/results"),
            Vec::new(),
            None,
            i,
        );
        // Sign the 64 MiB body's hash, not the empty one `prepare` saw.
        let relay = auth::origin(PUBLIC_URL).unwrap();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let nonce =
            Nonce::from_bytes(&B256::left_padding_from(&(7_000_000 + i).to_be_bytes()).0[..16])
                .unwrap();
        let hash = RequestToSign {
            chain_id: CHAIN_ID,
            relay: &relay,
            method: "POST",
            path: &prepared.path,
            body_sha256: zeros_hash,
            timestamp,
            nonce: &nonce,
        }
        .signing_hash();
        let signature = signer.sign_hash_sync(&hash).unwrap();
        prepared.headers = vec![
            (auth::ADDRESS_HEADER, signer.address().to_string()),
            (auth::RELAY_HEADER, relay),
            (auth::BODY_SHA256_HEADER, format!("{zeros_hash:#x}")),
            (auth::TIMESTAMP_HEADER, timestamp.to_string()),
            (auth::NONCE_HEADER, nonce.to_string()),
            (
                auth::SIGNATURE_HEADER,
                format!("0x{}", alloy::hex::encode(signature.as_bytes())),
            ),
            ("content-type", "multipart/form-data; boundary=junk".into()),
        ];
        uploads.push(prepared);
    }
    // Forget the peak so far: what follows is the junk's alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before, _) = resident_mib();
    let started = Instant::now();
    let peak = Arc::new(std::sync::Mutex::new(0f64));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let (now, hwm) = resident_mib();
                {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(now).max(hwm);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut clients = Vec::new();
    for (i, upload) in uploads.into_iter().enumerate() {
        let addr = bases[i % bases.len()]
            .trim_start_matches("http://")
            .to_owned();
        clients.push(tokio::spawn(
            async move { raw_upload(&addr, &upload).await },
        ));
    }
    let mut answers: std::collections::BTreeMap<String, usize> = Default::default();
    for client in clients {
        *answers.entry(client.await.unwrap()).or_default() += 1;
    }
    sampler.abort();
    let (after, hwm) = resident_mib();
    let peak = peak.lock().unwrap().max(hwm);
    println!(
        "{:<18} {count} concurrent {} MiB uploads in {:.1} s: {}",
        "junk upload",
        JUNK_BYTES >> 20,
        started.elapsed().as_secs_f64(),
        answers
            .iter()
            .map(|(status, n)| format!("{n}x {status}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{:<18} resident memory {before:.0} MiB before, peak {peak:.0} MiB, {after:.0} MiB after (budget: {} MiB of bodies)",
        "",
        Limits::default().max_buffered_upload_bytes >> 20
    );
}

/// One upload over a raw connection: headers, then zeros from one small buffer until the
/// relay answers; returns the status line's code (or what went wrong).
async fn raw_upload(addr: &str, upload: &Prepared) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
        return "connect failed".into();
    };
    let (mut read, mut write) = stream.into_split();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nhost: relay.bench\r\ncontent-length: {JUNK_BYTES}\r\n",
        upload.path
    );
    for (name, value) in &upload.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let writer = tokio::spawn(async move {
        static ZEROS: [u8; 256 * 1024] = [0; 256 * 1024];
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..JUNK_BYTES / ZEROS.len() {
            if write.write_all(&ZEROS).await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read_status = async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    let timed_out = tokio::time::timeout(Duration::from_secs(120), read_status)
        .await
        .is_err();
    writer.abort();
    if timed_out {
        return "no answer in 120 s".into();
    }
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .map_or_else(|| "closed without an answer".to_owned(), str::to_owned)
}

/// Gives a PNG distinct bytes (a `tEXt` chunk after `IHDR`) without changing its pixels.
fn make_unique(png: &mut Vec<u8>, task: u64) {
    let text = format!("tessera-seq\0{task}");
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&(text.len() as u32).to_be_bytes());
    let mut typed = b"tEXt".to_vec();
    typed.extend_from_slice(text.as_bytes());
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32(&typed).to_be_bytes());
    // Signature (8) + IHDR chunk (4 + 4 + 13 + 4).
    let at = 8 + 25;
    png.splice(at..at, chunk);
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
