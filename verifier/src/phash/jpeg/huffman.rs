//! Entropy-coded data: the byte-stuffed bit reader and Huffman tables of Go's `image/jpeg`.

use super::JpegError;

/// Longest Huffman code, in bits.
const MAX_CODE_LENGTH: usize = 16;
/// Codes up to this many bits are decoded with one table lookup.
const LUT_BITS: u32 = 8;

/// One Huffman table, built as Go builds it (a lookup table for short codes and the
/// canonical min/max codes per length for the rest).
#[derive(Clone)]
pub(crate) struct Huffman {
    n_codes: usize,
    /// `value << 8 | (code length + 1)` for every 8-bit prefix of a code of 8 bits or
    /// fewer; 0 where no such code starts.
    lut: [u16; 1 << LUT_BITS],
    vals: [u8; 256],
    min_codes: [i32; MAX_CODE_LENGTH],
    max_codes: [i32; MAX_CODE_LENGTH],
    vals_indices: [i32; MAX_CODE_LENGTH],
}

impl Default for Huffman {
    fn default() -> Self {
        Self {
            n_codes: 0,
            lut: [0; 1 << LUT_BITS],
            vals: [0; 256],
            min_codes: [0; MAX_CODE_LENGTH],
            max_codes: [0; MAX_CODE_LENGTH],
            vals_indices: [0; MAX_CODE_LENGTH],
        }
    }
}

impl Huffman {
    /// Builds a table from the 16 code counts and the values of a DHT segment.
    pub(crate) fn new(counts: &[u8; 16], values: &[u8]) -> Self {
        let mut h = Self {
            n_codes: values.len(),
            ..Self::default()
        };
        h.vals[..values.len()].copy_from_slice(values);

        let (mut x, mut code) = (0usize, 0u32);
        for (i, &count) in counts.iter().enumerate().take(LUT_BITS as usize) {
            let i = i as u32;
            code <<= 1;
            for _ in 0..count {
                // The 8-bit prefixes of this code: its bits, then every possible tail.
                let base = (code << (7 - i)) as u8;
                let lut_value = u16::from(h.vals[x]) << 8 | (2 + i) as u16;
                for k in 0..1u16 << (7 - i) {
                    h.lut[usize::from(base | k as u8)] = lut_value;
                }
                code += 1;
                x += 1;
            }
        }

        let (mut c, mut index) = (0i32, 0i32);
        for (i, &count) in counts.iter().enumerate() {
            let n = i32::from(count);
            if n == 0 {
                h.min_codes[i] = -1;
                h.max_codes[i] = -1;
                h.vals_indices[i] = -1;
            } else {
                h.min_codes[i] = c;
                h.max_codes[i] = c + n - 1;
                h.vals_indices[i] = index;
                c += n;
                index += n;
            }
            c <<= 1;
        }
        h
    }
}

/// Bits of the entropy-coded segment that starts at `pos`: `0xff 0x00` reads as `0xff`, and
/// a marker (`0xff` then anything else) ends the data without being consumed.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pub(crate) pos: usize,
    acc: u32,
    /// Unread bits in `acc` (its low `n` bits).
    n: u32,
    /// Bytes the last successful read consumed (1, or 2 for a stuffed `0xff`), so that a
    /// whole unread byte can be given back as Go does before reading a marker.
    last_len: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            acc: 0,
            n: 0,
            last_len: 0,
        }
    }

    /// The position of the next unread byte, giving back the last byte read if none of
    /// its bits were used (Go's `unreadByteStuffedByte` before a marker read).
    pub(crate) fn byte_position(&mut self) -> usize {
        if self.last_len != 0 && self.n >= 8 {
            self.pos -= self.last_len;
            self.n -= 8;
            self.acc >>= 8;
        }
        self.last_len = 0;
        self.pos
    }

    fn read_stuffed_byte(&mut self) -> Result<u8, JpegError> {
        let x = *self.data.get(self.pos).ok_or(JpegError::ShortData)?;
        if x != 0xff {
            self.pos += 1;
            self.last_len = 1;
            return Ok(x);
        }
        match self.data.get(self.pos + 1) {
            Some(0x00) => {
                self.pos += 2;
                self.last_len = 2;
                Ok(0xff)
            }
            Some(_) => Err(JpegError::MarkerInData),
            None => Err(JpegError::ShortData),
        }
    }

    /// Buffers bytes until at least `n` bits are available.
    fn ensure(&mut self, n: u32) -> Result<(), JpegError> {
        while self.n < n {
            let c = self.read_stuffed_byte()?;
            self.acc = self.acc << 8 | u32::from(c);
            self.n += 8;
        }
        Ok(())
    }

    /// Decodes one Huffman-coded value.
    pub(crate) fn decode(&mut self, h: &Huffman) -> Result<u8, JpegError> {
        if h.n_codes == 0 {
            return Err(JpegError::Format("uninitialized Huffman table"));
        }
        if self.n < LUT_BITS {
            match self.ensure(LUT_BITS) {
                Ok(()) => {}
                // Near the end of the data, decode bit by bit with what there is.
                Err(JpegError::ShortData | JpegError::MarkerInData) => return self.decode_slow(h),
                Err(e) => return Err(e),
            }
        }
        let v = h.lut[((self.acc >> (self.n - LUT_BITS)) & 0xff) as usize];
        if v != 0 {
            self.n -= u32::from(v & 0xff) - 1;
            return Ok((v >> 8) as u8);
        }
        self.decode_slow(h)
    }

    fn decode_slow(&mut self, h: &Huffman) -> Result<u8, JpegError> {
        let mut code = 0i32;
        for i in 0..MAX_CODE_LENGTH {
            if self.bit()? {
                code |= 1;
            }
            if code <= h.max_codes[i] {
                let index = h.vals_indices[i] + code - h.min_codes[i];
                return Ok(h.vals[index as usize]);
            }
            code <<= 1;
        }
        Err(JpegError::Format("bad Huffman code"))
    }

    /// One bit.
    pub(crate) fn bit(&mut self) -> Result<bool, JpegError> {
        self.ensure(1)?;
        self.n -= 1;
        Ok((self.acc >> self.n) & 1 != 0)
    }

    /// `n` (at most 16) bits as an unsigned number.
    pub(crate) fn bits(&mut self, n: u32) -> Result<u32, JpegError> {
        self.ensure(n)?;
        self.n -= n;
        Ok((self.acc >> self.n) & ((1 << n) - 1))
    }

    /// JPEG's RECEIVE and EXTEND: `t` bits as a signed magnitude-category value.
    pub(crate) fn receive_extend(&mut self, t: u8) -> Result<i32, JpegError> {
        let t = u32::from(t);
        self.ensure(t)?;
        self.n -= t;
        let s = 1i32 << t;
        let mut x = ((self.acc >> self.n) as i32) & (s - 1);
        if x < s >> 1 {
            x += (-1i32 << t) + 1;
        }
        Ok(x)
    }
}
