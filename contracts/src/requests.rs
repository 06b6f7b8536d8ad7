//! Creating tasks as a requester: building the request, committing to the draw's secret,
//! and revealing it in a later block.
//!
//! Callers (the requester CLI, the web app) own the waiting: [`reveal_seed`] must go into
//! a block after the creation block, which on an automining devnet is simply the next
//! transaction, and on a chain with a block time means waiting for one block.

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;

use verifier::args::{LlmTaskArgs, SdTaskArgs};

use crate::TaskManager::{self, TaskManagerInstance, TaskRequest};
use crate::{Error, send};

/// The node software version tasks ask for and nodes announce (major, minor, patch): a
/// node serves a task when the major versions match and its version is at least the
/// task's.
pub const PROTOCOL_VERSION: [u32; 3] = [1, 0, 0];

/// `TaskRequest::taskType` of a Stable Diffusion task.
pub const TASK_TYPE_SD: u8 = 0;
/// `TaskRequest::taskType` of an LLM task.
pub const TASK_TYPE_LLM: u8 = 1;

/// A request for an SD task over `args` (the exact bytes the relay will serve, `parsed`
/// from them), on any GPU with at least `min_vram` GB. Its size is the arguments' work
/// units, which nodes check.
pub fn sd_request(args: &[u8], parsed: &SdTaskArgs, min_vram: u64) -> TaskRequest {
    TaskRequest {
        taskType: TASK_TYPE_SD,
        taskHash: task_hash(args),
        modelIds: vec![parsed.base_model.name.trim().to_owned()],
        minVram: min_vram,
        gpuName: String::new(),
        gpuVram: 0,
        version: PROTOCOL_VERSION,
        size: parsed.work_units(),
    }
}

/// A request for an LLM task over `args` (`parsed` from them). LLM results are compared
/// for equality, so the task names the GPU group (name and VRAM) all three nodes must
/// share. Its size is the arguments' work units.
pub fn llm_request(
    args: &[u8],
    parsed: &LlmTaskArgs,
    gpu_name: &str,
    gpu_vram: u64,
) -> TaskRequest {
    TaskRequest {
        taskType: TASK_TYPE_LLM,
        taskHash: task_hash(args),
        modelIds: vec![parsed.model.trim().to_owned()],
        minVram: gpu_vram,
        gpuName: gpu_name.to_owned(),
        gpuVram: gpu_vram,
        version: PROTOCOL_VERSION,
        size: parsed.work_units(),
    }
}

/// `keccak256` of the task arguments' exact bytes, as the contract and relay expect.
pub fn task_hash(args: &[u8]) -> B256 {
    B256::from(verifier::commitment::task_hash(args))
}

/// A fresh random secret for the draw.
pub fn new_secret() -> B256 {
    B256::random()
}

/// `keccak256(secret)`: what `createTask` commits to.
pub fn seed_commitment(secret: B256) -> B256 {
    B256::from(verifier::commitment::keccak256(secret))
}

/// A created task: its id and the block it was created in (the seed may be revealed from
/// the next block on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    /// The task id.
    pub id: U256,
    /// The creation block.
    pub block: u64,
}

/// Sends `createTask(request, keccak256(secret))` paying `fee` and returns the task id.
pub async fn create_task<P: Provider>(
    tasks: &TaskManagerInstance<P>,
    request: TaskRequest,
    fee: U256,
    secret: B256,
) -> Result<Created, Error> {
    let receipt = send(
        tasks
            .createTask(request, seed_commitment(secret))
            .value(fee),
    )
    .await?;
    let created = receipt
        .decoded_log::<TaskManager::TaskCreated>()
        .ok_or(Error::MissingEvent("TaskCreated"))?;
    Ok(Created {
        id: created.taskId,
        block: receipt.block_number.unwrap_or_default(),
    })
}

/// Sends `revealSeed(id, secret)`: the contract draws the nodes (or queues the task).
/// Refused with `SeedTooEarly` in the creation block itself.
pub async fn reveal_seed<P: Provider>(
    tasks: &TaskManagerInstance<P>,
    id: U256,
    secret: B256,
) -> Result<(), Error> {
    send(tasks.revealSeed(id, secret)).await.map(drop)
}
