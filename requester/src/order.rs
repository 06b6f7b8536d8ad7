//! A task ready to pay for.

use alloy::primitives::{B256, U256};
use contracts::TaskManager::TaskRequest;
use contracts::requests;
use verifier::args::{LlmTaskArgs, SdTaskArgs};

use crate::{Error, Host, Requester, Wallet};

/// A task ready to pay for: the exact argument bytes, the on-chain request, the fee.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The argument bytes the relay will serve (hashed into `request.taskHash`).
    pub args: Vec<u8>,
    /// The `createTask` request.
    pub request: TaskRequest,
    /// The fee, in wei.
    pub fee: U256,
    /// Whether the results stay with the creator and the selected nodes; by default
    /// anyone may read them (and verify them) once accepted.
    pub private: bool,
}

impl Order {
    /// An SD task over `args` (already validated), on any GPU with at least `min_vram` GB.
    pub fn sd(args: Vec<u8>, parsed: &SdTaskArgs, min_vram: u64, fee: U256) -> Self {
        let request = requests::sd_request(&args, parsed, min_vram);
        Self {
            args,
            request,
            fee,
            private: false,
        }
    }

    /// An LLM task over `args` (already validated) for the GPU group `(name, VRAM)`.
    pub fn llm(args: Vec<u8>, parsed: &LlmTaskArgs, group: (&str, u64), fee: U256) -> Self {
        let request = requests::llm_request(&args, parsed, group.0, group.1);
        Self {
            args,
            request,
            fee,
            private: false,
        }
    }

    /// `keccak256(args)`, the task hash.
    pub fn task_hash(&self) -> B256 {
        self.request.taskHash
    }
}

impl<W: Wallet, H: Host> Requester<W, H> {
    /// An order for any task arguments (SD, or LLM when they have `messages`), validated;
    /// an LLM task goes to the GPU group [`Requester::llm_group`] picks.
    pub async fn order(&self, args: Vec<u8>, fee: U256) -> Result<Order, Error> {
        let is_llm = serde_json::from_slice::<serde_json::Value>(&args)
            .ok()
            .is_some_and(|v| v.get("messages").is_some());
        if is_llm {
            let parsed = LlmTaskArgs::parse(&args)?;
            let (gpu, vram) = self.reader.llm_group().await?.ok_or(Error::NoGpuGroup)?;
            Ok(Order::llm(args, &parsed, (&gpu, vram), fee))
        } else {
            let parsed = SdTaskArgs::parse(&args)?;
            Ok(Order::sd(args, &parsed, 1, fee))
        }
    }
}
