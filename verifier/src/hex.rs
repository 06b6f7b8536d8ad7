//! `0x`-prefixed lowercase hex, the way scores, hashes and commitments are written everywhere
//! in the network (and in its test vectors).

use std::fmt::Write as _;

/// A hex string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The input has an odd number of hex digits.
    #[error("hex string has an odd number of digits ({0})")]
    OddLength(usize),
    /// A character that is not a hex digit.
    #[error("invalid hex digit {found:?} at position {position}")]
    InvalidDigit {
        /// The offending character.
        found: char,
        /// Its position in the string, counting the `0x` prefix if present.
        position: usize,
    },
    /// The decoded value does not have the expected number of bytes.
    #[error("expected {expected} bytes, got {got}")]
    WrongLength {
        /// Bytes the caller expected.
        expected: usize,
        /// Bytes the string holds.
        got: usize,
    },
}

/// Encodes bytes as `0x` followed by two lowercase hex digits per byte.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Decodes a hex string, with or without the `0x` prefix, in either case.
pub fn decode(s: &str) -> Result<Vec<u8>, HexError> {
    let (offset, digits) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(rest) => (2, rest),
        None => (0, s),
    };
    if digits.len() % 2 != 0 {
        return Err(HexError::OddLength(digits.len()));
    }
    let nibble = |i: usize, c: u8| -> Result<u8, HexError> {
        (c as char).to_digit(16).map(|d| d as u8).ok_or_else(|| {
            // `i` may fall inside a multi-byte character: report the whole character.
            let (start, found) = digits
                .char_indices()
                .take_while(|&(start, _)| start <= i)
                .last()
                .unwrap_or((i, '?'));
            HexError::InvalidDigit {
                found,
                position: offset + start,
            }
        })
    };
    let raw = digits.as_bytes();
    (0..raw.len())
        .step_by(2)
        .map(|i| Ok(nibble(i, raw[i])? << 4 | nibble(i + 1, raw[i + 1])?))
        .collect()
}

/// Decodes a hex string into exactly `N` bytes.
pub fn decode_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let bytes = decode(s)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| HexError::WrongLength {
        expected: N,
        got: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = [0x00, 0x7f, 0x80, 0xff, 0x12];
        assert_eq!(encode(bytes), "0x007f80ff12");
        assert_eq!(decode("0x007F80ff12").unwrap(), bytes);
        assert_eq!(decode("007f80ff12").unwrap(), bytes);
        assert_eq!(decode("0x").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(decode("0xabc"), Err(HexError::OddLength(3)));
        assert_eq!(
            decode("0xzz"),
            Err(HexError::InvalidDigit {
                found: 'z',
                position: 2
            })
        );
        assert_eq!(
            decode("0xé"),
            Err(HexError::InvalidDigit {
                found: 'é',
                position: 2
            })
        );
        // A multi-byte character straddling a digit pair is reported, not a panic.
        assert_eq!(
            decode("0xaéa"),
            Err(HexError::InvalidDigit {
                found: 'é',
                position: 3
            })
        );
        assert_eq!(
            decode_array::<4>("0x0102"),
            Err(HexError::WrongLength {
                expected: 4,
                got: 2
            })
        );
    }
}
