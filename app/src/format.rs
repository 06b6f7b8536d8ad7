//! Numbers and addresses as people read them.

use alloy::primitives::U256;
use alloy::primitives::utils::format_ether;

/// `0x1234…abcd`.
pub fn short(text: &str) -> String {
    if text.len() <= 14 {
        text.to_owned()
    } else {
        format!("{}…{}", &text[..6], &text[text.len() - 4..])
    }
}

/// An amount of wei in CNX, without trailing zeros.
pub fn cnx(wei: U256) -> String {
    let text = format_ether(wei);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text.is_empty() { "0".into() } else { text }
}

/// Bytes in MiB, one decimal (`12.5`).
pub fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

/// A duration in words: `850 ms`, `12.3 s`, `2 min 5 s`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// A decimal amount of wei (as the worker sends it) in CNX; the text itself if it is not
/// a number.
pub fn wei_to_cnx(wei: &str) -> String {
    match wei.trim().parse::<U256>() {
        Ok(amount) => cnx(amount),
        Err(_) => wei.to_owned(),
    }
}

/// A decimal amount of wei; zero when absent or not a number.
pub fn wei(text: &str) -> U256 {
    text.trim().parse().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::utils::parse_ether;

    #[test]
    fn amounts_durations_and_addresses_read_well() {
        assert_eq!(wei_to_cnx("1500000000000000000"), "1.5");
        assert_eq!(wei_to_cnx("0"), "0");
        assert_eq!(wei_to_cnx("n/a"), "n/a");
        assert_eq!(wei(""), U256::ZERO);
        assert_eq!(mib(1024.0 * 1024.0 * 2.5), "2.5");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(125_000), "2 min 5 s");
        assert_eq!(cnx(parse_ether("1.5").unwrap()), "1.5");
        assert_eq!(cnx(parse_ether("2").unwrap()), "2");
        assert_eq!(
            short("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            "0x7099…79C8"
        );
    }
}
