//! `contracts::history`: decoding `TaskManager` logs into task events, then settling them.
//! The first byte picks topic 0 (one of the events' signatures, or raw bytes); the next
//! says how many more topics follow (32 bytes each); the rest is the log's data.

use alloy::primitives::{Address, B256, Bytes, LogData};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;
use contracts::TaskManager as Tm;
use contracts::history::{Entry, Settlement, TaskEvent};

const SIGNATURES: [B256; 15] = [
    Tm::TaskCreated::SIGNATURE_HASH,
    Tm::TaskRequirements::SIGNATURE_HASH,
    Tm::SeedRevealed::SIGNATURE_HASH,
    Tm::TaskQueued::SIGNATURE_HASH,
    Tm::NodeSelected::SIGNATURE_HASH,
    Tm::TaskStarted::SIGNATURE_HASH,
    Tm::CommitmentSubmitted::SIGNATURE_HASH,
    Tm::ErrorReported::SIGNATURE_HASH,
    Tm::RevealPhaseStarted::SIGNATURE_HASH,
    Tm::ResultRevealed::SIGNATURE_HASH,
    Tm::TaskValidated::SIGNATURE_HASH,
    Tm::ResultUploaded::SIGNATURE_HASH,
    Tm::TaskAborted::SIGNATURE_HASH,
    Tm::SeatClosed::SIGNATURE_HASH,
    Tm::Payment::SIGNATURE_HASH,
];

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = data.split_at_checked(n)?;
    *data = tail;
    Some(head)
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut data = data;
        let mut entries = Vec::new();
        // Several logs in one input, so that settling sees a story.
        while let Some(&[select, count]) = take(&mut data, 2) {
            let mut topics = Vec::new();
            match SIGNATURES.get(usize::from(select)) {
                Some(signature) => topics.push(*signature),
                None => match take(&mut data, 32) {
                    Some(raw) => topics.push(B256::from_slice(raw)),
                    None => break,
                },
            }
            for _ in 0..count % 4 {
                match take(&mut data, 32) {
                    Some(raw) => topics.push(B256::from_slice(raw)),
                    None => break,
                }
            }
            let len =
                take(&mut data, 2).map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
            let len = len.min(data.len());
            let body = take(&mut data, len).unwrap_or_default();
            let log = Log {
                inner: alloy::primitives::Log {
                    address: Address::ZERO,
                    data: LogData::new_unchecked(topics, Bytes::copy_from_slice(body)),
                },
                ..Log::default()
            };
            let _ = TaskEvent::task_id(&log);
            if let Some(event) = TaskEvent::decode(&log) {
                entries.push(Entry {
                    block: entries.len() as u64,
                    timestamp: None,
                    transaction: None,
                    event,
                });
            }
        }
        let settlement = Settlement::of(&entries);
        for entry in &entries {
            if let TaskEvent::Payment { to, .. } = &entry.event {
                let _ = (settlement.reward_of(*to), settlement.slashed(*to));
            }
        }
    });
}
