//! The reader against an endpoint that behaves like a public RPC: `eth_getLogs` refused
//! past 1,000 blocks (with an error of its own wording) and every third request answered
//! `429 Too Many Requests`. A small proxy in front of anvil plays that endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use alloy::node_bindings::Anvil;
use alloy::primitives::{B256, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::signers::local::PrivateKeySigner;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use contracts::history::TaskEvent;
use contracts::{NodeRegistry, Parameters, TaskManager};
use requester::{Network, Reader};
use serde_json::{Value, json};

const MAX_LOG_RANGE: u64 = 1_000;

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    rate_limited: AtomicUsize,
    ranges_refused: AtomicUsize,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    counts: Arc<Counts>,
}

fn block_number(value: &Value) -> Option<u64> {
    u64::from_str_radix(value.as_str()?.trim_start_matches("0x"), 16).ok()
}

async fn forward(State(proxy): State<Proxy>, Json(request): Json<Value>) -> Response {
    let n = proxy.counts.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if n % 3 == 0 {
        proxy.counts.rate_limited.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
    }
    if request["method"] == "eth_getLogs" {
        let filter = &request["params"][0];
        if let (Some(from), Some(to)) = (
            block_number(&filter["fromBlock"]),
            block_number(&filter["toBlock"]),
        ) && to - from + 1 > MAX_LOG_RANGE
        {
            proxy.counts.ranges_refused.fetch_add(1, Ordering::SeqCst);
            return Json(json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32602, "message": format!("block range too large: at most {MAX_LOG_RANGE} blocks")},
            }))
            .into_response();
        }
    }
    let answer = proxy
        .http
        .post(&proxy.upstream)
        .json(&request)
        .send()
        .await
        .expect("anvil answers");
    Json(answer.json::<Value>().await.expect("JSON from anvil")).into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn history_and_recent_tasks_read_through_a_capped_rate_limited_endpoint() {
    let anvil = Anvil::at(locate::anvil().expect("anvil")).spawn();
    let keys: Vec<PrivateKeySigner> = anvil
        .keys()
        .iter()
        .cloned()
        .map(PrivateKeySigner::from)
        .collect();
    let url = anvil.endpoint_url();
    let owner = contracts::connect(url.clone(), keys[0].clone());
    let mut params = Parameters::defaults(keys[0].address());
    params.tasks.minPoolSize = 3;
    let deployments = contracts::deploy(owner.clone(), &anvil.endpoint(), params)
        .await
        .expect("deploy");
    let stake = U256::from(400u64) * U256::from(10u64).pow(U256::from(18u64));
    for key in &keys[1..4] {
        let registry = NodeRegistry::new(
            deployments.node_registry,
            contracts::connect(url.clone(), key.clone()),
        );
        let call = registry
            .join("NVIDIA GeForce RTX 4090".into(), 24, [1, 0, 0], vec![])
            .value(stake);
        contracts::send(call).await.expect("join");
    }
    let requester = TaskManager::new(
        deployments.task_manager,
        contracts::connect(url.clone(), keys[5].clone()),
    );
    let args = br#"{"prompt":"x"}"#;
    let request = TaskManager::TaskRequest {
        taskType: 0,
        taskHash: B256::from(verifier::commitment::task_hash(args)),
        modelIds: vec!["m".into()],
        minVram: 8,
        gpuName: String::new(),
        gpuVram: 0,
        version: [1, 0, 0],
        size: 1,
    };
    let secret = B256::repeat_byte(9);
    let commitment = B256::from(verifier::commitment::keccak256(secret));
    let fee = U256::from(10u64).pow(U256::from(17u64));
    let created = contracts::send(requester.createTask(request.clone(), commitment).value(fee))
        .await
        .expect("create");
    let id = created
        .decoded_log::<TaskManager::TaskCreated>()
        .expect("TaskCreated")
        .taskId;
    contracts::send(requester.revealSeed(id, secret))
        .await
        .expect("reveal");
    // Two more tasks, for the recent list (created while the nodes are still staked).
    for n in 0..2u8 {
        let secret = B256::repeat_byte(10 + n);
        let commitment = B256::from(verifier::commitment::keccak256(secret));
        contracts::send(requester.createTask(request.clone(), commitment).value(fee))
            .await
            .expect("create");
    }
    // Thousands of blocks later the task times out and is cancelled: its history spans
    // many more blocks than one log query may.
    owner.anvil_mine(Some(4_500), None).await.expect("mine");
    owner.anvil_increase_time(3_600).await.expect("time");
    contracts::send(requester.cancelTask(id))
        .await
        .expect("cancel");

    let counts = Arc::new(Counts::default());
    let proxy = Proxy {
        upstream: anvil.endpoint(),
        http: reqwest::Client::new(),
        counts: counts.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/", post(forward)).with_state(proxy),
        )
        .await
        .unwrap();
    });
    let reader = Reader::new(Network {
        chain_id: anvil.chain_id(),
        rpc_url: format!("http://{address}/"),
        relay_url: "http://127.0.0.1:1".into(),
        node_registry: deployments.node_registry,
        task_manager: deployments.task_manager,
        appeals: deployments.appeals,
        deployment_block: deployments.deployment_block,
    })
    .unwrap();

    let history = reader.history(id).await.expect("history through the proxy");
    let direct = contracts::history::task_history(
        &owner,
        deployments.task_manager,
        deployments.deployment_block,
        id,
        u64::MAX,
    )
    .await
    .expect("history from anvil");
    assert_eq!(history, direct, "the same events as one unlimited query");
    assert!(matches!(
        history.first().map(|e| &e.event),
        Some(TaskEvent::Created { .. })
    ));
    let last = history.last().expect("events").block;
    assert!(
        last - history[0].block > 4_000,
        "the history spans the mined blocks"
    );

    let recent = reader.recent_tasks(5).await.expect("recent tasks");
    let ids: Vec<U256> = recent.iter().map(|t| t.id).collect();
    assert_eq!(ids, [U256::from(3), U256::from(2), U256::from(1)]);
    assert!(recent.iter().all(|t| t.time.is_some() && t.fee == fee));

    assert!(
        counts.ranges_refused.load(Ordering::SeqCst) > 0,
        "a range was refused and halved"
    );
    assert!(
        counts.rate_limited.load(Ordering::SeqCst) > 0,
        "requests were rate-limited and retried"
    );
}

/// An endpoint that keeps answering 429 is asked again after waits that double (alloy's own
/// retry layer waits the same each time): four refusals, then the answer.
#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_are_retried_after_waits_that_double() {
    type Arrivals = Arc<std::sync::Mutex<Vec<std::time::Instant>>>;
    async fn endpoint(State(arrivals): State<Arrivals>, Json(request): Json<Value>) -> Response {
        let n = {
            let mut arrivals = arrivals.lock().unwrap();
            arrivals.push(std::time::Instant::now());
            arrivals.len()
        };
        if n <= 4 {
            return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
        }
        Json(json!({"jsonrpc": "2.0", "id": request["id"], "result": "0x2a"})).into_response()
    }
    let arrivals = Arrivals::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/", post(endpoint))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let provider = contracts::read_only(url.parse().unwrap());
    use alloy::providers::Provider as _;
    assert_eq!(provider.get_block_number().await.unwrap(), 42);
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 5);
    let gaps: Vec<u128> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    // Retry n waits between half and all of 250 ms · 2ⁿ.
    for (n, gap) in gaps.iter().enumerate() {
        let full = 250u128 << n;
        assert!(*gap >= full / 2, "wait {n} was {gap} ms: {gaps:?}");
    }
    assert!(gaps[3] > gaps[0], "{gaps:?}");
}
