//! What an operator must hear before the chain acts on the node: a stake one missed
//! deadline away from the registry's minimum (under it, the node is made to quit), and a
//! health low enough that the node is drawn rarely. A pure function of what the chain
//! says, shared by the native node (log lines, `node status`) and the tab (the Provide
//! page's activity).

use alloy::primitives::U256;
use alloy::primitives::utils::format_ether;

/// The registry's health scale: 1000 is full health.
const HEALTH_MAX: u16 = 1000;
/// Health under which draws become rare enough to say so.
const LOW_HEALTH: u16 = 500;

/// The node's standing as the chain has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Its stake, wei.
    pub stake: U256,
    /// The registry's minimum stake, wei.
    pub min_stake: U256,
    /// Its health, permille.
    pub health: u16,
    /// Share of stake a missed deadline costs (`timeoutSlashBps`), basis points.
    pub timeout_slash_bps: u16,
    /// Share of stake committing and not revealing costs (`withheldSlashBps`).
    pub withheld_slash_bps: u16,
}

/// The warnings `standing` calls for, each a sentence saying what will happen and what to
/// do; none for a node in good standing.
pub fn warnings(standing: &Standing) -> Vec<String> {
    let cnx = |wei: U256| {
        let text = format_ether(wei);
        match text.contains('.') {
            true => format!("{} CNX", text.trim_end_matches('0').trim_end_matches('.')),
            false => format!("{text} CNX"),
        }
    };
    let mut out = Vec::new();
    let min = standing.min_stake;
    if standing.stake < min {
        out.push(format!(
            "the stake, {}, is under the minimum of {}: the registry makes the node quit after its current task; add stake with `node add-stake`",
            cnx(standing.stake),
            cnx(min)
        ));
    } else {
        let bps = standing.timeout_slash_bps.max(standing.withheld_slash_bps);
        let left =
            standing.stake - standing.stake * U256::from(bps.min(10_000)) / U256::from(10_000);
        if bps >= 10_000 {
            out.push(
                "a missed deadline costs the whole stake on this network, and the node would be made to quit: no added stake is a margin, so keep it online and fast enough for every task it takes".to_owned(),
            );
        } else if bps > 0 && left < min {
            out.push(format!(
                "one missed deadline costs {}% of the stake and would leave {}, under the minimum of {}: the node would be made to quit; add stake with `node add-stake` for a margin",
                f64::from(bps) / 100.0,
                cnx(left),
                cnx(min)
            ));
        }
    }
    if standing.health < LOW_HEALTH {
        out.push(format!(
            "health is {}% after recent faults: the node is drawn that much less often; each task done well restores 15 points",
            standing.health * 100 / HEALTH_MAX
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::utils::parse_ether;

    fn standing(stake: &str, health: u16) -> Standing {
        Standing {
            stake: parse_ether(stake).unwrap(),
            min_stake: parse_ether("10").unwrap(),
            health,
            timeout_slash_bps: 500,
            withheld_slash_bps: 1000,
        }
    }

    #[test]
    fn a_node_in_good_standing_hears_nothing() {
        assert!(warnings(&standing("20", 1000)).is_empty());
        assert!(warnings(&standing("11.2", 500)).is_empty());
    }

    #[test]
    fn a_stake_one_missed_deadline_from_the_minimum_is_warned_of() {
        // The worse of the two slashes (10%) leaves 9.9 of 11: under 10.
        let near = warnings(&standing("11", 1000));
        assert_eq!(near.len(), 1, "{near:?}");
        assert!(near[0].starts_with("one missed deadline costs 10% of the stake and would leave 9.9 CNX, under the minimum of 10 CNX"), "{}", near[0]);
        let under = warnings(&standing("9.5", 1000));
        assert!(
            under[0].starts_with("the stake, 9.5 CNX, is under the minimum of 10 CNX"),
            "{}",
            under[0]
        );
        // A network that takes the whole stake: added stake is no margin.
        let mut whole = standing("1000", 1000);
        whole.timeout_slash_bps = 10_000;
        let all = warnings(&whole);
        assert!(
            all[0].starts_with("a missed deadline costs the whole stake"),
            "{}",
            all[0]
        );
        assert!(!all[0].contains("add-stake"));
        // No slash for a missed deadline: nothing to warn of.
        let mut free = standing("10", 1000);
        free.timeout_slash_bps = 0;
        free.withheld_slash_bps = 0;
        assert!(warnings(&free).is_empty());
    }

    #[test]
    fn low_health_is_warned_of() {
        let low = warnings(&standing("50", 300));
        assert_eq!(low.len(), 1);
        assert!(
            low[0].starts_with("health is 30% after recent faults"),
            "{}",
            low[0]
        );
    }
}
