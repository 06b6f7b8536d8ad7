//! The review's attacks on anvil, one row each: what was tried, what it cost the attacker,
//! what it got, what honest parties lost. `cargo bench -p contracts --bench attacks`.
//! The same scenarios are asserted in `tests/attacks.rs`.

#[path = "../tests/support/mod.rs"]
mod support;

use support::attacks;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rows = vec![
        attacks::queue_freeze().await.row(),
        attacks::colluding_pair().await.row(),
        attacks::frivolous_appeal().await.row(),
        attacks::forfeited_appeal().await.row(),
        attacks::front_run().await.row(),
        attacks::reroll().await.row(),
        attacks::queued_entry().await.row(),
        attacks::busy_pool().await.row(),
        attacks::sybil_group().await.row(),
        attacks::lying_uploader().await.row(),
        attacks::underpaid().await.row(),
        attacks::withheld_args().await.row(),
    ];
    attacks::print_rows(&rows);
}
