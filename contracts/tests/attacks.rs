//! The review's attacks, each tried on a fresh anvil (`support::attacks`), and asserted to
//! fail. `cargo bench -p contracts --bench attacks` prints the same runs as a table.

mod support;

use alloy::primitives::U256;
use contracts::Appeals::AppealState;
use contracts::TaskManager::TaskState;
use support::attacks;

#[tokio::test]
async fn a_queue_of_unstartable_tasks_does_not_freeze_settlement() {
    let r = attacks::queue_freeze().await;
    assert_eq!(r.queued, 50, "the attack filled the queue");
    assert_eq!(r.model_ids, 8);
    // Every settlement path stays far below the block gas limit; the draw walks a bounded
    // window and at most one queued task is tried per settlement.
    for (label, gas) in &r.worst_gas {
        assert!(
            *gas < r.block_gas_limit / 6,
            "{label} used {gas} gas with the queue full (limit {})",
            r.block_gas_limit
        );
    }
    for label in [
        "revealResult",
        "reportResultsUploaded",
        "reportError",
        "cancelTask",
    ] {
        assert!(r.worst_gas.contains_key(label), "{label} measured");
    }
    assert_eq!(r.honest_succeeded, r.honest_tasks);
    assert_eq!(r.honest_stake_lost, U256::ZERO);
    // The attacker's tasks expired and were refunded; nothing is stuck.
    assert_eq!(r.queue_after_expiry, 0);
    assert_eq!(r.attacker_refunded, r.attacker_fees);
}

#[tokio::test]
async fn the_draw_needs_the_pool_minimum_among_free_nodes() {
    let r = attacks::busy_pool().await;
    assert_eq!(
        r.state_while_busy,
        TaskState::QUEUED,
        "with only the Sybils free the task waits"
    );
    assert!(
        r.candidates_at_draw >= r.min_pool as usize,
        "drawn from {} candidates",
        r.candidates_at_draw
    );
}

#[tokio::test]
async fn an_upload_without_the_relays_receipt_earns_nothing_and_the_requester_is_refunded() {
    let r = attacks::lying_uploader().await;
    assert_eq!(
        r.refused, r.tries,
        "no report without the relay's receipt counts"
    );
    assert_eq!(r.uploader_reward, U256::ZERO);
    assert_eq!(
        r.uploader_slashed,
        U256::ZERO,
        "a refused upload is not aimed at stake"
    );
    assert!(r.uploader_health < U256::from(1000));
    assert!(r.requester_refund > U256::ZERO);
    assert_eq!(r.final_state, TaskState::ABORTED);
}

#[tokio::test]
async fn work_the_fee_does_not_pay_for_is_refused() {
    let r = attacks::underpaid().await;
    assert_eq!(r.units, 1280);
    assert!(r.offered < r.floor);
    assert!(r.refused);
}

#[tokio::test]
async fn gpu_groups_report_the_stake_behind_them() {
    let r = attacks::sybil_group().await;
    let stake = |name: &str| r.groups.iter().find(|g| g.0 == name).unwrap().2;
    let cnx = |n: u64| U256::from(n) * U256::from(10u64).pow(U256::from(18u64));
    assert_eq!(stake(support::GPU), cnx(3050), "joins and addStake count");
    assert_eq!(stake("Sybil GPU"), cnx(2000));
    assert!(
        stake(support::GPU) > stake("Sybil GPU"),
        "fewer names, more stake"
    );
    assert_eq!(
        r.sybil_stake_after_quit,
        cnx(1600),
        "a quitting node's stake leaves"
    );
}

#[tokio::test]
async fn arguments_withheld_from_one_seat_cost_it_no_stake() {
    let r = attacks::withheld_args().await;
    assert_eq!(
        r.stake_lost,
        U256::ZERO,
        "reporting unavailable arguments is not slashed"
    );
    assert_eq!(r.reward, U256::ZERO, "but earns nothing");
    assert!(r.others_paid);
    assert_eq!(r.state, TaskState::VALIDATED);
    assert!(
        r.engine_error_slash > U256::ZERO,
        "other lone errors still cost stake"
    );
}

#[tokio::test]
async fn two_colluding_seats_lose_to_the_honest_thirds_appeal() {
    let r = attacks::colluding_pair().await;
    assert_eq!(r.outcome, AppealState::OVERTURNED);
    assert!(
        r.jurors_disjoint,
        "no seat and not the creator sits on the jury"
    );
    assert!(
        r.colluders_reward > U256::ZERO,
        "the lie won the vote first"
    );
    // Each colluding seat loses half its stake: far more than the fee they kept.
    assert!(r.colluders_slashed > r.colluders_reward * U256::from(100));
    assert!(r.honest_dissent_slash > U256::ZERO);
    assert_eq!(
        r.honest_restitution, r.honest_dissent_slash,
        "the honest seat gets its slash back, bond aside"
    );
    assert_eq!(
        r.requester_refund,
        support::cnx(1),
        "the requester gets its whole fee back"
    );
    assert!(r.juror_pay > U256::ZERO);
    assert!(
        r.treasury_share > U256::ZERO,
        "what the wronged did not need"
    );
    // The attack loses money in expectation at every share of weight the bench prints,
    // and so does its reverse; before appeals it paid.
    for w in [0.10, 0.20, 1.0 / 3.0] {
        assert!(r.terms.before(w).0 > 0.0);
        assert!(
            r.terms.pair(w).0 < 0.0,
            "pair attack at w = {w}: {:?}",
            r.terms.pair(w)
        );
        assert!(
            r.terms.reverse(w).0 < 0.0,
            "reverse at w = {w}: {:?}",
            r.terms.reverse(w)
        );
        assert!(
            r.terms.pair(w).1 < r.terms.before(w).1,
            "honest lose less at w = {w}"
        );
    }
}

#[tokio::test]
async fn a_liars_appeal_is_upheld_and_costs_it() {
    let r = attacks::frivolous_appeal().await;
    assert_eq!(r.outcome, AppealState::UPHELD);
    assert!(
        r.liar_lost > r.dissent_slash,
        "the loser's slash comes on top of the dissent slash"
    );
    assert_eq!(r.honest_seats_lost, U256::ZERO);
    assert!(
        r.silent_juror_slashed > U256::ZERO,
        "a silent juror pays like a silent seat"
    );
    assert_eq!(
        r.unavailable_juror_lost,
        U256::ZERO,
        "a juror refused the arguments says so at no cost"
    );
    assert_eq!(
        r.honest_juror_pay,
        r.bond / U256::from(5),
        "the bond pays the jury"
    );
    assert!(r.second_appeal_refused);
}

#[tokio::test]
async fn an_appellant_cannot_reroll_its_jury() {
    let r = attacks::forfeited_appeal().await;
    assert_eq!(r.outcome, AppealState::FORFEITED);
    assert!(r.early_draw_refused, "no draw in the filing block");
    assert!(r.wrong_secret_refused);
    assert!(
        r.liar_penalized > U256::ZERO,
        "dropping the jury costs the loser's slash"
    );
    assert_eq!(r.treasury_got, r.bond + r.liar_penalized);
}

#[tokio::test]
async fn front_running_a_seeds_reveal_cannot_steer_the_draw() {
    let r = attacks::front_run().await;
    assert_eq!(r.tries, r.tasks * 36);
    assert!(r.tasks_seating_attacker > 0);
    assert_eq!(r.attacker_seats_gained, 0, "no combination gains a seat");
    assert_eq!(r.entered_seated, 0, "nobody enters a draw after its seed");
    assert_eq!(
        r.honest_seats_lost, 0,
        "leaving the draw changes no one else's key"
    );
    assert!(
        r.honest_seats_gained > 0,
        "the attacker's seats, given up, go to the next keys"
    );
}

#[tokio::test]
async fn rerolling_a_draw_costs_more_than_it_can_gain() {
    let r = attacks::reroll().await;
    assert!(r.rerolls > 0, "some draw did not suit the attacker");
    assert_eq!(
        r.penalties,
        r.fee * U256::from(r.rerolls),
        "every withheld seed costs the whole fee, to the treasury"
    );
    assert!(
        r.fee >= r.most_gained_per_task,
        "a re-roll costs what a draw can return"
    );
    assert_eq!(r.honest_lost, U256::ZERO);
}

#[tokio::test]
async fn a_queued_tasks_public_seed_lets_nobody_into_its_draw() {
    let r = attacks::queued_entry().await;
    assert!(r.started, "the nodes free before the block take the task");
    assert!(!r.resumed_seated);
    assert!(!r.staked_seated);
    assert!(!r.freed_seated);
}
