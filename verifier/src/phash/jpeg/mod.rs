//! JPEG to the image type Go's `image/jpeg` decoder returns: a port of Go 1.19-1.24's
//! decoder (baseline and progressive Huffman, Go's integer IDCT, its clamping and plane
//! layout).
//!
//! Gray JPEGs become `image.Gray`; three-component ones `image.YCbCr` with the file's
//! subsampling (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, 4:1:0), or `image.RGBA` when the file says
//! it holds RGB (Adobe transform 0, or components named 'R', 'G', 'B' without JFIF), as
//! Go decides. Four-component (CMYK/YCCK) files are not supported and give an error.
//!
//! Memory is bounded by [`Limits`], checked from the frame header before any plane is
//! allocated.

mod huffman;
mod idct;

use super::image::{GoImage, Pixels, Subsampling, YCbCr};
use super::{Limits, PHashError};
use huffman::{BitReader, Huffman};
use idct::{Block, idct};

/// A decoding failure, mapped to [`PHashError`] at the module boundary.
#[derive(Debug)]
pub(crate) enum JpegError {
    Format(&'static str),
    Unsupported(&'static str),
    /// The data ended too early.
    ShortData,
    /// A marker interrupted entropy-coded data (Go's "missing 0xff00 sequence").
    MarkerInData,
    Limit(PHashError),
}

impl From<JpegError> for PHashError {
    fn from(e: JpegError) -> Self {
        match e {
            JpegError::Format(m) => PHashError::Jpeg(m.into()),
            JpegError::Unsupported(m) => PHashError::UnsupportedJpeg(m.into()),
            JpegError::ShortData => PHashError::Jpeg("unexpected end of data".into()),
            JpegError::MarkerInData => PHashError::Jpeg("missing 0xff00 sequence".into()),
            JpegError::Limit(e) => e,
        }
    }
}

/// Zig-zag index to natural (row-major) index.
const UNZIG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Most scans a file may have. Go has no limit, but each scan walks every block of its
/// components, and a progressive AC scan whose end-of-band run covers them all costs about
/// 20 bytes: without a limit, 20 KB of scans over a 2048 x 2048 image cost a thousand
/// passes over 65536 blocks. Encoders write a handful (libjpeg's progressive script: 10
/// for color, 6 for gray).
const MAX_SCANS: usize = 100;

const SOF0: u8 = 0xc0;
const SOF1: u8 = 0xc1;
const SOF2: u8 = 0xc2;
const DHT: u8 = 0xc4;
const RST0: u8 = 0xd0;
const RST7: u8 = 0xd7;
const EOI: u8 = 0xd9;
const SOS: u8 = 0xda;
const DQT: u8 = 0xdb;
const DRI: u8 = 0xdd;
const COM: u8 = 0xfe;
const APP0: u8 = 0xe0;
const APP14: u8 = 0xee;
const APP15: u8 = 0xef;

#[derive(Clone, Copy, Default)]
struct Component {
    /// Horizontal and vertical sampling factors.
    h: usize,
    v: usize,
    /// Component identifier.
    id: u8,
    /// Quantization table selector.
    tq: usize,
}

/// One plane of decoded samples (padded to whole MCUs, as Go allocates them).
struct Plane {
    pix: Vec<u8>,
    stride: usize,
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    limits: Limits,
    width: usize,
    height: usize,
    components: Vec<Component>,
    baseline: bool,
    progressive: bool,
    jfif: bool,
    adobe_transform: Option<u8>,
    restart_interval: usize,
    eob_run: u16,
    /// Scans read so far (at most [`MAX_SCANS`]).
    scans: usize,
    huffman: [[Huffman; 4]; 2],
    quant: [[i32; 64]; 4],
    /// Y (or gray), Cb, Cr planes once the first scan has allocated them.
    planes: Vec<Plane>,
    /// Coefficients kept between the scans of a progressive image, per component.
    progressive_coeffs: Vec<Vec<Block>>,
}

/// Decodes a JPEG file within `limits`.
pub(crate) fn decode(data: &[u8], limits: &Limits) -> Result<GoImage, PHashError> {
    let mut d = Decoder {
        data,
        pos: 0,
        limits: *limits,
        width: 0,
        height: 0,
        components: Vec::new(),
        baseline: false,
        progressive: false,
        jfif: false,
        adobe_transform: None,
        restart_interval: 0,
        eob_run: 0,
        scans: 0,
        huffman: Default::default(),
        quant: [[0; 64]; 4],
        planes: Vec::new(),
        progressive_coeffs: Vec::new(),
    };
    Ok(d.decode()?)
}

impl<'a> Decoder<'a> {
    fn read(&mut self, n: usize) -> Result<&'a [u8], JpegError> {
        let bytes = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or(JpegError::ShortData)?;
        self.pos += n;
        Ok(bytes)
    }

    fn read_byte(&mut self) -> Result<u8, JpegError> {
        Ok(self.read(1)?[0])
    }

    fn decode(&mut self) -> Result<GoImage, JpegError> {
        if self.read(2)? != [0xff, 0xd8] {
            return Err(JpegError::Format("missing SOI marker"));
        }
        loop {
            let mut pair = [self.read_byte()?, self.read_byte()?];
            // Skip anything that is not a marker, as Go does.
            while pair[0] != 0xff {
                pair = [pair[1], self.read_byte()?];
            }
            let mut marker = pair[1];
            if marker == 0 {
                // A stuffed 0xff00 outside entropy-coded data: ignore it.
                continue;
            }
            while marker == 0xff {
                // Fill bytes.
                marker = self.read_byte()?;
            }
            if marker == EOI {
                break;
            }
            if (RST0..=RST7).contains(&marker) {
                continue;
            }
            let len = self.read(2)?;
            let n = (usize::from(len[0]) << 8 | usize::from(len[1]))
                .checked_sub(2)
                .ok_or(JpegError::Format("short segment length"))?;
            match marker {
                SOF0 | SOF1 | SOF2 => {
                    self.baseline = marker == SOF0;
                    self.progressive = marker == SOF2;
                    self.process_sof(n)?;
                }
                DHT => self.process_dht(n)?,
                DQT => self.process_dqt(n)?,
                SOS => self.process_sos(n)?,
                DRI => {
                    if n != 2 {
                        return Err(JpegError::Format("DRI has wrong length"));
                    }
                    let b = self.read(2)?;
                    self.restart_interval = usize::from(b[0]) << 8 | usize::from(b[1]);
                }
                APP0 => {
                    let segment = self.read(n)?;
                    if segment.len() >= 5 {
                        self.jfif = segment[..5] == *b"JFIF\0";
                    }
                }
                APP14 => {
                    let segment = self.read(n)?;
                    if segment.len() >= 12 && segment[..5] == *b"Adobe" {
                        self.adobe_transform = Some(segment[11]);
                    }
                }
                m if (APP0..=APP15).contains(&m) || m == COM => {
                    self.read(n)?;
                }
                m if m < 0xc0 => return Err(JpegError::Format("unknown marker")),
                _ => return Err(JpegError::Unsupported("unknown marker")),
            }
        }
        if self.progressive {
            self.reconstruct_progressive()?;
        }
        self.finish_image()
    }

    fn process_sof(&mut self, n: usize) -> Result<(), JpegError> {
        if !self.components.is_empty() {
            return Err(JpegError::Format("multiple SOF markers"));
        }
        let n_comp = match n {
            9 => 1,
            15 => 3,
            18 => return Err(JpegError::Unsupported("4-component (CMYK or YCCK) JPEG")),
            _ => return Err(JpegError::Unsupported("number of components")),
        };
        let s = self.read(n)?;
        if s[0] != 8 {
            return Err(JpegError::Unsupported("precision"));
        }
        self.height = usize::from(s[1]) << 8 | usize::from(s[2]);
        self.width = usize::from(s[3]) << 8 | usize::from(s[4]);
        if usize::from(s[5]) != n_comp {
            return Err(JpegError::Format("SOF has wrong length"));
        }
        let mut components: Vec<Component> = Vec::with_capacity(n_comp);
        for i in 0..n_comp {
            let id = s[6 + 3 * i];
            if components.iter().any(|c| c.id == id) {
                return Err(JpegError::Format("repeated component identifier"));
            }
            let tq = usize::from(s[8 + 3 * i]);
            if tq > 3 {
                return Err(JpegError::Format("bad Tq value"));
            }
            let hv = s[7 + 3 * i];
            let (mut h, mut v) = (usize::from(hv >> 4), usize::from(hv & 0x0f));
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                return Err(JpegError::Format("luma/chroma subsampling ratio"));
            }
            if h == 3 || v == 3 {
                return Err(JpegError::Unsupported("luma/chroma subsampling ratio"));
            }
            if n_comp == 1 {
                // A single component is never subsampled, whatever the header says.
                (h, v) = (1, 1);
            } else {
                let unsupported = match i {
                    0 => v == 4,
                    1 => !components[0].h.is_multiple_of(h) || !components[0].v.is_multiple_of(v),
                    _ => components[1].h != h || components[1].v != v,
                };
                if unsupported {
                    return Err(JpegError::Unsupported("luma/chroma subsampling ratio"));
                }
            }
            components.push(Component { h, v, id, tq });
        }
        self.components = components;

        // Bound memory before anything is allocated: the planes padded to whole MCUs, the
        // image nfnt converts them to, and for progressive files the coefficients.
        let (mxx, myy) = self.mcus();
        let padded =
            (8 * self.components[0].h * mxx) as u64 * (8 * self.components[0].v * myy) as u64;
        let pixels = (self.width as u64 * self.height as u64).max(1);
        let mut bytes_per_pixel = 4 * n_comp as u64 * padded.div_ceil(pixels) + 3;
        if self.progressive {
            bytes_per_pixel += 4 * n_comp as u64 * padded.div_ceil(pixels);
        }
        self.limits
            .check(self.width as u64, self.height as u64, bytes_per_pixel)
            .map_err(JpegError::Limit)
    }

    /// Number of MCUs across and down.
    fn mcus(&self) -> (usize, usize) {
        let (h0, v0) = (self.components[0].h, self.components[0].v);
        (self.width.div_ceil(8 * h0), self.height.div_ceil(8 * v0))
    }

    fn process_dht(&mut self, mut n: usize) -> Result<(), JpegError> {
        while n > 0 {
            if n < 17 {
                return Err(JpegError::Format("DHT has wrong length"));
            }
            let head = self.read(17)?;
            let (tc, th) = (usize::from(head[0] >> 4), usize::from(head[0] & 0x0f));
            let counts: [u8; 16] = head[1..17].try_into().expect("16 bytes");
            if tc > 1 {
                return Err(JpegError::Format("bad Tc value"));
            }
            if th > 3 || (self.baseline && th > 1) {
                return Err(JpegError::Format("bad Th value"));
            }
            let n_codes: usize = counts.iter().map(|&c| usize::from(c)).sum();
            if n_codes == 0 {
                return Err(JpegError::Format("Huffman table has zero length"));
            }
            if n_codes > 256 {
                return Err(JpegError::Format("Huffman table has excessive length"));
            }
            n = n
                .checked_sub(n_codes + 17)
                .ok_or(JpegError::Format("DHT has wrong length"))?;
            let values = self.read(n_codes)?;
            self.huffman[tc][th] = Huffman::new(&counts, values);
        }
        Ok(())
    }

    fn process_dqt(&mut self, mut n: usize) -> Result<(), JpegError> {
        while n > 0 {
            n -= 1;
            let x = self.read_byte()?;
            let tq = usize::from(x & 0x0f);
            if tq > 3 {
                return Err(JpegError::Format("bad Tq value"));
            }
            let sixteen_bit = match x >> 4 {
                0 => false,
                1 => true,
                _ => return Err(JpegError::Format("bad Pq value")),
            };
            let size = if sixteen_bit { 128 } else { 64 };
            if n < size {
                break;
            }
            n -= size;
            let table = self.read(size)?;
            for (i, q) in self.quant[tq].iter_mut().enumerate() {
                *q = if sixteen_bit {
                    i32::from(table[2 * i]) << 8 | i32::from(table[2 * i + 1])
                } else {
                    i32::from(table[i])
                };
            }
        }
        if n != 0 {
            return Err(JpegError::Format("DQT has wrong length"));
        }
        Ok(())
    }

    /// Allocates the planes, laid out as Go's `makeImg` lays them out.
    fn make_planes(&mut self, mxx: usize, myy: usize) {
        let (h0, v0) = (self.components[0].h, self.components[0].v);
        if self.components.len() == 1 {
            self.planes = vec![Plane {
                pix: vec![0; 64 * mxx * myy],
                stride: 8 * mxx,
            }];
            return;
        }
        let (w, h) = (8 * h0 * mxx, 8 * v0 * myy);
        let (hr, vr) = (h0 / self.components[1].h, v0 / self.components[1].v);
        // Go's yCbCrSize for a rectangle at the origin.
        let (cw, ch) = (w.div_ceil(hr), h.div_ceil(vr));
        self.planes = vec![
            Plane {
                pix: vec![0; w * h],
                stride: w,
            },
            Plane {
                pix: vec![0; cw * ch],
                stride: cw,
            },
            Plane {
                pix: vec![0; cw * ch],
                stride: cw,
            },
        ];
    }

    fn process_sos(&mut self, n: usize) -> Result<(), JpegError> {
        self.scans += 1;
        if self.scans > MAX_SCANS {
            return Err(JpegError::Unsupported("more than 100 scans"));
        }
        let n_frame = self.components.len();
        if n_frame == 0 {
            return Err(JpegError::Format("missing SOF marker"));
        }
        if n < 6 || 4 + 2 * n_frame < n || !n.is_multiple_of(2) {
            return Err(JpegError::Format("SOS has wrong length"));
        }
        let s = self.read(n)?;
        let n_comp = usize::from(s[0]);
        if n != 4 + 2 * n_comp {
            return Err(JpegError::Format(
                "SOS length inconsistent with number of components",
            ));
        }
        // (component index, DC table, AC table) per scan component.
        let mut scan: Vec<(usize, usize, usize)> = Vec::with_capacity(n_comp);
        let mut total_hv = 0;
        for i in 0..n_comp {
            let selector = s[1 + 2 * i];
            let index = self
                .components
                .iter()
                .rposition(|c| c.id == selector)
                .ok_or(JpegError::Format("unknown component selector"))?;
            if scan.iter().any(|&(c, _, _)| c == index) {
                return Err(JpegError::Format("repeated component selector"));
            }
            total_hv += self.components[index].h * self.components[index].v;
            let (td, ta) = (
                usize::from(s[2 + 2 * i] >> 4),
                usize::from(s[2 + 2 * i] & 0x0f),
            );
            if td > 3 || (self.baseline && td > 1) {
                return Err(JpegError::Format("bad Td value"));
            }
            if ta > 3 || (self.baseline && ta > 1) {
                return Err(JpegError::Format("bad Ta value"));
            }
            scan.push((index, td, ta));
        }
        if n_frame > 1 && total_hv > 10 {
            return Err(JpegError::Format("total sampling factors too large"));
        }

        let (mut zig_start, mut zig_end, mut ah, mut al) = (0usize, 63usize, 0u32, 0u32);
        if self.progressive {
            zig_start = usize::from(s[1 + 2 * n_comp]);
            zig_end = usize::from(s[2 + 2 * n_comp]);
            ah = u32::from(s[3 + 2 * n_comp] >> 4);
            al = u32::from(s[3 + 2 * n_comp] & 0x0f);
            if (zig_start == 0 && zig_end != 0) || zig_start > zig_end || zig_end >= 64 {
                return Err(JpegError::Format("bad spectral selection bounds"));
            }
            if zig_start != 0 && n_comp != 1 {
                return Err(JpegError::Format(
                    "progressive AC coefficients for more than one component",
                ));
            }
            if ah != 0 && ah != al + 1 {
                return Err(JpegError::Format("bad successive approximation values"));
            }
        }

        let (mxx, myy) = self.mcus();
        if self.planes.is_empty() {
            self.make_planes(mxx, myy);
        }
        if self.progressive {
            self.progressive_coeffs.resize(n_frame, Vec::new());
            for &(c, _, _) in &scan {
                if self.progressive_coeffs[c].is_empty() {
                    let comp = self.components[c];
                    self.progressive_coeffs[c] = vec![[0; 64]; mxx * myy * comp.h * comp.v];
                }
            }
        }

        let mut bits = BitReader::new(self.data, self.pos);
        let mut dc = [0i32; 4];
        let mut block_count = 0usize;
        let mut mcu = 0usize;
        let mut expected_rst = RST0;
        for my in 0..myy {
            for mx in 0..mxx {
                for &(c, td, ta) in &scan {
                    let Component { h: hi, v: vi, .. } = self.components[c];
                    for j in 0..hi * vi {
                        let (bx, by);
                        if n_comp != 1 {
                            bx = hi * mx + j % hi;
                            by = vi * my + j / hi;
                        } else {
                            // Non-interleaved scans hold only the blocks inside the image.
                            let q = mxx * hi;
                            bx = block_count % q;
                            by = block_count / q;
                            block_count += 1;
                            if bx * 8 >= self.width || by * 8 >= self.height {
                                continue;
                            }
                        }
                        let mut b: Block = if self.progressive {
                            self.progressive_coeffs[c][by * mxx * hi + bx]
                        } else {
                            [0; 64]
                        };
                        if ah != 0 {
                            self.refine(&mut bits, &mut b, ta, zig_start, zig_end, 1 << al)?;
                        } else {
                            let mut zig = zig_start;
                            if zig == 0 {
                                zig += 1;
                                let value = bits.decode(&self.huffman[0][td])?;
                                if value > 16 {
                                    return Err(JpegError::Unsupported("excessive DC component"));
                                }
                                let delta = bits.receive_extend(value)?;
                                dc[c] = dc[c].wrapping_add(delta);
                                b[0] = dc[c].wrapping_shl(al);
                            }
                            if zig <= zig_end && self.eob_run > 0 {
                                self.eob_run -= 1;
                            } else {
                                self.decode_ac(&mut bits, &mut b, ta, zig, zig_end, al)?;
                            }
                        }
                        if self.progressive {
                            self.progressive_coeffs[c][by * mxx * hi + bx] = b;
                        } else {
                            self.reconstruct_block(&mut b, bx, by, c);
                        }
                    }
                }
                mcu += 1;
                if self.restart_interval > 0
                    && mcu.is_multiple_of(self.restart_interval)
                    && mcu < mxx * myy
                {
                    self.pos = bits.byte_position();
                    let mut pair = [self.read_byte()?, self.read_byte()?];
                    // Some encoders put a stuffed zero byte before the marker; Go accepts it.
                    if pair == [0xff, 0x00] {
                        pair = [self.read_byte()?, self.read_byte()?];
                    }
                    if pair != [0xff, expected_rst] {
                        return Err(JpegError::Format("bad RST marker"));
                    }
                    expected_rst = if expected_rst == RST7 {
                        RST0
                    } else {
                        expected_rst + 1
                    };
                    bits = BitReader::new(self.data, self.pos);
                    dc = [0; 4];
                    self.eob_run = 0;
                }
            }
        }
        self.pos = bits.byte_position();
        Ok(())
    }

    /// The AC coefficients `zig..=zig_end` of a first (not refining) scan.
    fn decode_ac(
        &mut self,
        bits: &mut BitReader<'_>,
        b: &mut Block,
        ta: usize,
        mut zig: usize,
        zig_end: usize,
        al: u32,
    ) -> Result<(), JpegError> {
        let huff = &self.huffman[1][ta];
        while zig <= zig_end {
            let value = bits.decode(huff)?;
            let (run, size) = (usize::from(value >> 4), value & 0x0f);
            if size != 0 {
                zig += run;
                if zig > zig_end {
                    break;
                }
                let ac = bits.receive_extend(size)?;
                b[UNZIG[zig]] = ac.wrapping_shl(al);
            } else if run != 0x0f {
                // End of band, and `2^run - 1 + bits` more blocks without coefficients here.
                self.eob_run = 1 << run;
                if run != 0 {
                    self.eob_run |= bits.bits(run as u32)? as u16;
                }
                self.eob_run -= 1;
                break;
            } else {
                // Sixteen zeros.
                zig += 0x0f;
            }
            zig += 1;
        }
        Ok(())
    }

    /// A successive-approximation refinement scan of one block (section G.1.2).
    fn refine(
        &mut self,
        bits: &mut BitReader<'_>,
        b: &mut Block,
        ta: usize,
        zig_start: usize,
        zig_end: usize,
        delta: i32,
    ) -> Result<(), JpegError> {
        if zig_start == 0 {
            // Refining a DC coefficient is one bit.
            if bits.bit()? {
                b[0] |= delta;
            }
            return Ok(());
        }
        let mut zig = zig_start;
        if self.eob_run == 0 {
            while zig <= zig_end {
                let value = bits.decode(&self.huffman[1][ta])?;
                let (run, size) = (i32::from(value >> 4), value & 0x0f);
                let mut z = 0;
                match size {
                    0 => {
                        if run != 0x0f {
                            self.eob_run = 1 << run;
                            if run != 0 {
                                self.eob_run |= bits.bits(run as u32)? as u16;
                            }
                            break;
                        }
                    }
                    1 => {
                        z = if bits.bit()? { delta } else { -delta };
                    }
                    _ => return Err(JpegError::Format("unexpected Huffman code")),
                }
                zig = refine_non_zeroes(bits, b, zig, zig_end, run, delta)?;
                if zig > zig_end {
                    return Err(JpegError::Format("too many coefficients"));
                }
                if z != 0 {
                    b[UNZIG[zig]] = z;
                }
                zig += 1;
            }
        }
        if self.eob_run > 0 {
            self.eob_run -= 1;
            refine_non_zeroes(bits, b, zig, zig_end, -1, delta)?;
        }
        Ok(())
    }

    fn reconstruct_progressive(&mut self) -> Result<(), JpegError> {
        if self.components.is_empty() {
            return Err(JpegError::Format("missing SOF marker"));
        }
        let (mxx, _) = self.mcus();
        let (h0, v0) = (self.components[0].h, self.components[0].v);
        for c in 0..self.progressive_coeffs.len() {
            if self.progressive_coeffs[c].is_empty() {
                continue;
            }
            let comp = self.components[c];
            let (bh, bv) = (8 * h0 / comp.h, 8 * v0 / comp.v);
            let stride = mxx * comp.h;
            let mut by = 0;
            while by * bv < self.height {
                let mut bx = 0;
                while bx * bh < self.width {
                    let mut b = self.progressive_coeffs[c][by * stride + bx];
                    self.reconstruct_block(&mut b, bx, by, c);
                    bx += 1;
                }
                by += 1;
            }
        }
        Ok(())
    }

    /// Dequantizes, inverse-transforms, level-shifts and clamps a block into its plane.
    fn reconstruct_block(&mut self, b: &mut Block, bx: usize, by: usize, c: usize) {
        let qt = &self.quant[self.components[c].tq];
        for (zig, &q) in qt.iter().enumerate() {
            b[UNZIG[zig]] = b[UNZIG[zig]].wrapping_mul(q);
        }
        idct(b);
        let plane = &mut self.planes[c];
        let origin = 8 * (by * plane.stride + bx);
        for (y, row) in b.chunks_exact(8).enumerate() {
            let start = origin + y * plane.stride;
            for (dst, &v) in plane.pix[start..start + 8].iter_mut().zip(row) {
                *dst = (v.wrapping_add(128)).clamp(0, 255) as u8;
            }
        }
    }

    /// Go's `isRGB`: whether three components hold R, G, B rather than Y, Cb, Cr.
    fn is_rgb(&self) -> bool {
        if self.jfif {
            return false;
        }
        if self.adobe_transform == Some(0) {
            return true;
        }
        self.components.iter().map(|c| c.id).eq(*b"RGB")
    }

    fn finish_image(&mut self) -> Result<GoImage, JpegError> {
        if self.planes.is_empty() {
            return Err(JpegError::Format("missing SOS marker"));
        }
        let (w, h) = (self.width, self.height);
        let mut planes = std::mem::take(&mut self.planes).into_iter();
        let luma = planes.next().expect("at least one plane");
        if self.components.len() == 1 {
            let pix = luma
                .pix
                .chunks_exact(luma.stride)
                .take(h)
                .flat_map(|row| &row[..w])
                .copied()
                .collect();
            return Ok(GoImage::new(w, h, Pixels::Gray(pix)));
        }
        let (cb, cr) = (planes.next().expect("Cb"), planes.next().expect("Cr"));
        let (h0, v0) = (self.components[0].h, self.components[0].v);
        let (hr, vr) = (h0 / self.components[1].h, v0 / self.components[1].v);
        let subsampling = match (hr, vr) {
            (1, 1) => Subsampling::S444,
            (1, 2) => Subsampling::S440,
            (2, 1) => Subsampling::S422,
            (2, 2) => Subsampling::S420,
            (4, 1) => Subsampling::S411,
            (4, 2) => Subsampling::S410,
            _ => return Err(JpegError::Unsupported("luma/chroma subsampling ratio")),
        };
        let ycbcr = YCbCr {
            y: luma.pix,
            cb: cb.pix,
            cr: cr.pix,
            y_stride: luma.stride,
            c_stride: cb.stride,
            subsampling,
        };
        if self.is_rgb() {
            // Go's convertToRGB: the planes hold R, G, B; "chroma" is read with only the
            // horizontal scale applied.
            let mut pix = Vec::with_capacity(3 * w * h);
            for y in 0..h {
                let co = ycbcr.c_offset(0, y);
                for x in 0..w {
                    let ci = co + x / hr;
                    pix.extend([ycbcr.y[y * ycbcr.y_stride + x], ycbcr.cb[ci], ycbcr.cr[ci]]);
                }
            }
            return Ok(GoImage::new(w, h, Pixels::OpaqueRgb(pix)));
        }
        Ok(GoImage::new(w, h, Pixels::YCbCr(ycbcr)))
    }
}

/// Go's `refineNonZeroes`: refines the non-zero coefficients from `zig`, skipping `nz` zero
/// ones first (all of the band when `nz` is negative); returns where it stopped.
fn refine_non_zeroes(
    bits: &mut BitReader<'_>,
    b: &mut Block,
    mut zig: usize,
    zig_end: usize,
    mut nz: i32,
    delta: i32,
) -> Result<usize, JpegError> {
    while zig <= zig_end {
        let u = UNZIG[zig];
        if b[u] == 0 {
            if nz == 0 {
                break;
            }
            nz -= 1;
        } else if bits.bit()? {
            b[u] = if b[u] >= 0 {
                b[u].wrapping_add(delta)
            } else {
                b[u].wrapping_sub(delta)
            };
        }
        zig += 1;
    }
    Ok(zig)
}
