//! Go's JPEG inverse DCT (`image/jpeg/idct.go` up to Go 1.24, a translation of the MPEG
//! Software Simulation Group's fixed-point `idct.c`), with Go's wrapping `int32` arithmetic.
//!
//! Go 1.25 replaced it with a different (Loeffler) integer IDCT whose output differs in the
//! last bit on some blocks; the reference vectors were made with this one.

use std::num::Wrapping;

/// An 8x8 block of coefficients or samples, row-major.
pub(crate) type Block = [i32; 64];

type W = Wrapping<i32>;

const W1: W = Wrapping(2841); // 2048*sqrt(2)*cos(1*pi/16)
const W2: W = Wrapping(2676); // 2048*sqrt(2)*cos(2*pi/16)
const W3: W = Wrapping(2408); // 2048*sqrt(2)*cos(3*pi/16)
const W5: W = Wrapping(1609); // 2048*sqrt(2)*cos(5*pi/16)
const W6: W = Wrapping(1108); // 2048*sqrt(2)*cos(6*pi/16)
const W7: W = Wrapping(565); // 2048*sqrt(2)*cos(7*pi/16)
const R2: W = Wrapping(181); // 256/sqrt(2)

/// Butterflies shared by the row and column passes. Inputs in the order the passes load
/// them: `[s0, s4, s6, s2, s1, s7, s5, s3]` (prescaled). The column pass adds 4 and shifts
/// right by 3 after each multiplication stage; the row pass does neither. Returns the eight
/// outputs before the final shift.
fn butterflies(x: [W; 8], column: bool) -> [W; 8] {
    let [
        mut x0,
        mut x1,
        mut x2,
        mut x3,
        mut x4,
        mut x5,
        mut x6,
        mut x7,
    ] = x;
    let (bias, shift) = if column {
        (Wrapping(4), 3)
    } else {
        (Wrapping(0), 0)
    };

    // Stage 1.
    let mut x8 = W7 * (x4 + x5) + bias;
    x4 = (x8 + (W1 - W7) * x4) >> shift;
    x5 = (x8 - (W1 + W7) * x5) >> shift;
    x8 = W3 * (x6 + x7) + bias;
    x6 = (x8 - (W3 - W5) * x6) >> shift;
    x7 = (x8 - (W3 + W5) * x7) >> shift;

    // Stage 2.
    x8 = x0 + x1;
    x0 -= x1;
    x1 = W6 * (x3 + x2) + bias;
    x2 = (x1 - (W2 + W6) * x2) >> shift;
    x3 = (x1 + (W2 - W6) * x3) >> shift;
    x1 = x4 + x6;
    x4 -= x6;
    x6 = x5 + x7;
    x5 -= x7;

    // Stage 3.
    x7 = x8 + x3;
    x8 -= x3;
    x3 = x0 + x2;
    x0 -= x2;
    x2 = (R2 * (x4 + x5) + Wrapping(128)) >> 8;
    x4 = (R2 * (x4 - x5) + Wrapping(128)) >> 8;

    // Stage 4 (before the final shift).
    [
        x7 + x1,
        x3 + x2,
        x0 + x4,
        x8 + x6,
        x8 - x6,
        x0 - x4,
        x3 - x2,
        x7 - x1,
    ]
}

/// Go's `idct`: dequantized coefficients in, level-unshifted samples out, in place.
pub(crate) fn idct(block: &mut Block) {
    // Horizontal 1-D IDCT.
    for row in block.chunks_exact_mut(8) {
        if row[1..].iter().all(|&c| c == 0) {
            // All AC components zero: the row is its DC value.
            let dc = row[0].wrapping_shl(3);
            row.fill(dc);
            continue;
        }
        let s: [W; 8] = std::array::from_fn(|i| Wrapping(row[i]));
        let x = [
            (s[0] << 11) + Wrapping(128),
            s[4] << 11,
            s[6],
            s[2],
            s[1],
            s[7],
            s[5],
            s[3],
        ];
        let out = butterflies(x, false);
        for (d, v) in row.iter_mut().zip(out) {
            *d = (v >> 8).0;
        }
    }

    // Vertical 1-D IDCT.
    for col in 0..8 {
        let s = |r: usize| Wrapping(block[8 * r + col]);
        let y = [
            (s(0) << 8) + Wrapping(8192),
            s(4) << 8,
            s(6),
            s(2),
            s(1),
            s(7),
            s(5),
            s(3),
        ];
        let out = butterflies(y, true);
        for (r, v) in out.into_iter().enumerate() {
            block[8 * r + col] = (v >> 14).0;
        }
    }
}
