//! The image types Go's `image` package defines, as far as the hash needs them.
//!
//! goimagehash and nfnt/resize take a different code path, with its own rounding, for each
//! concrete Go image type, so a decoded image keeps the type Go's decoder would have given it.
//! Every image here has its origin at (0, 0), as Go's decoders produce them.

use super::PHashError;

/// Chroma subsampling of a [`GoImage`] in YCbCr form (Go's `image.YCbCrSubsampleRatio`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsampling {
    /// Full-resolution chroma.
    S444,
    /// Half horizontal chroma resolution.
    S422,
    /// Half horizontal and vertical chroma resolution.
    S420,
    /// Half vertical chroma resolution.
    S440,
    /// Quarter horizontal chroma resolution.
    S411,
    /// Quarter horizontal, half vertical chroma resolution.
    S410,
}

impl Subsampling {
    /// Horizontal and vertical divisors of the chroma planes.
    pub(crate) fn factors(self) -> (usize, usize) {
        match self {
            Self::S444 => (1, 1),
            Self::S422 => (2, 1),
            Self::S420 => (2, 2),
            Self::S440 => (1, 2),
            Self::S411 => (4, 1),
            Self::S410 => (4, 2),
        }
    }
}

/// A YCbCr image with Go's plane layout (`image.YCbCr`): strides may exceed the width, as
/// they do for the images Go's JPEG decoder returns (padded to whole MCUs).
#[derive(Clone, Debug)]
pub(crate) struct YCbCr {
    pub y: Vec<u8>,
    pub cb: Vec<u8>,
    pub cr: Vec<u8>,
    pub y_stride: usize,
    pub c_stride: usize,
    pub subsampling: Subsampling,
}

impl YCbCr {
    /// Go's `YCbCr.COffset` for an image whose origin is (0, 0).
    pub(crate) fn c_offset(&self, x: usize, y: usize) -> usize {
        let (h, v) = self.subsampling.factors();
        (y / v) * self.c_stride + x / h
    }

    /// The Y, Cb, Cr samples of one pixel.
    pub(crate) fn at(&self, x: usize, y: usize) -> [u8; 3] {
        let c = self.c_offset(x, y);
        [self.y[y * self.y_stride + x], self.cb[c], self.cr[c]]
    }
}

/// The pixel storage of a [`GoImage`], one variant per Go image type.
#[derive(Clone, Debug)]
pub(crate) enum Pixels {
    /// `image.RGBA`: 8-bit alpha-premultiplied R, G, B, A.
    Rgba(Vec<u8>),
    /// `image.RGBA` whose alpha is 255 everywhere (an RGB PNG or JPEG), stored as R, G, B.
    OpaqueRgb(Vec<u8>),
    /// `image.NRGBA`: 8-bit non-premultiplied R, G, B, A.
    Nrgba(Vec<u8>),
    /// `image.Gray`: 8-bit gray.
    Gray(Vec<u8>),
    /// `image.Gray16`: 16-bit gray.
    Gray16(Vec<u16>),
    /// `image.RGBA64`: 16-bit alpha-premultiplied R, G, B, A.
    Rgba64(Vec<u16>),
    /// `image.NRGBA64`: 16-bit non-premultiplied R, G, B, A.
    Nrgba64(Vec<u16>),
    /// `image.Paletted`: indices into a 256-entry table of colors, already converted to
    /// what the palette entry's `RGBA()` method returns (16-bit premultiplied).
    Paletted {
        indices: Vec<u8>,
        palette: Box<[[u32; 4]; 256]>,
    },
    /// `image.YCbCr`.
    YCbCr(YCbCr),
}

/// A decoded image, typed as Go's decoders would type it; the input of [`super::phash_image`].
///
/// Build one with the constructors (which check the buffer sizes) or get one from
/// [`super::decode`].
#[derive(Clone, Debug)]
pub struct GoImage {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) pixels: Pixels,
}

/// Go's `color.NRGBA.RGBA()` on 8-bit samples.
pub(crate) fn nrgba8_to_rgba16([r, g, b, a]: [u8; 4]) -> [u32; 4] {
    let a = u32::from(a);
    let premultiply = |c: u8| (u32::from(c) * 0x101) * a / 0xff;
    [premultiply(r), premultiply(g), premultiply(b), a * 0x101]
}

/// Go's `color.NRGBA64.RGBA()`.
pub(crate) fn nrgba16_to_rgba16([r, g, b, a]: [u16; 4]) -> [u32; 4] {
    let a = u32::from(a);
    let premultiply = |c: u16| u32::from(c) * a / 0xffff;
    [premultiply(r), premultiply(g), premultiply(b), a]
}

/// Go's `color.YCbCr.RGBA()`: YCbCr to 16-bit RGB, exactly as Go rounds and clamps.
pub(crate) fn ycbcr_to_rgba16([y, cb, cr]: [u8; 3]) -> [u32; 4] {
    let yy1 = i32::from(y) * 0x10101;
    let cb1 = i32::from(cb) - 128;
    let cr1 = i32::from(cr) - 128;
    let clamp = |v: i32| -> u32 {
        if (v as u32) & 0xff00_0000 == 0 {
            (v >> 8) as u32
        } else {
            (!(v >> 31) & 0xffff) as u32
        }
    };
    let r = clamp(yy1 + 91881 * cr1);
    let g = clamp(yy1 - 22554 * cb1 - 46802 * cr1);
    let b = clamp(yy1 + 116130 * cb1);
    [r, g, b, 0xffff]
}

pub(crate) fn check_len(
    what: &'static str,
    width: usize,
    height: usize,
    per_pixel: usize,
    got: usize,
) -> Result<(), PHashError> {
    let expected = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(per_pixel))
        .ok_or(PHashError::TooLarge {
            width: width as u64,
            height: height as u64,
        })?;
    if got != expected {
        return Err(PHashError::BufferSize {
            layout: what,
            width,
            height,
            expected,
            got,
        });
    }
    if width == 0 || height == 0 {
        return Err(PHashError::Empty { width, height });
    }
    Ok(())
}

impl GoImage {
    /// An `image.RGBA` (alpha-premultiplied 8-bit R, G, B, A).
    pub fn rgba(width: usize, height: usize, pix: Vec<u8>) -> Result<Self, PHashError> {
        check_len("RGBA", width, height, 4, pix.len())?;
        Ok(Self::new(width, height, Pixels::Rgba(pix)))
    }

    /// An opaque `image.RGBA` from 8-bit R, G, B samples (what Go's PNG decoder makes of an
    /// RGB PNG).
    pub fn opaque_rgb(width: usize, height: usize, pix: Vec<u8>) -> Result<Self, PHashError> {
        check_len("RGB", width, height, 3, pix.len())?;
        Ok(Self::new(width, height, Pixels::OpaqueRgb(pix)))
    }

    /// An `image.NRGBA` (non-premultiplied 8-bit R, G, B, A; what Go's PNG decoder makes of
    /// an RGBA PNG, and what a browser canvas's `getImageData` holds).
    pub fn nrgba(width: usize, height: usize, pix: Vec<u8>) -> Result<Self, PHashError> {
        check_len("NRGBA", width, height, 4, pix.len())?;
        Ok(Self::new(width, height, Pixels::Nrgba(pix)))
    }

    /// An `image.Gray` (8-bit gray).
    pub fn gray(width: usize, height: usize, pix: Vec<u8>) -> Result<Self, PHashError> {
        check_len("Gray", width, height, 1, pix.len())?;
        Ok(Self::new(width, height, Pixels::Gray(pix)))
    }

    /// An `image.Gray16` (16-bit gray).
    pub fn gray16(width: usize, height: usize, pix: Vec<u16>) -> Result<Self, PHashError> {
        check_len("Gray16", width, height, 1, pix.len())?;
        Ok(Self::new(width, height, Pixels::Gray16(pix)))
    }

    /// An `image.RGBA64` (alpha-premultiplied 16-bit R, G, B, A).
    pub fn rgba64(width: usize, height: usize, pix: Vec<u16>) -> Result<Self, PHashError> {
        check_len("RGBA64", width, height, 4, pix.len())?;
        Ok(Self::new(width, height, Pixels::Rgba64(pix)))
    }

    /// An `image.NRGBA64` (non-premultiplied 16-bit R, G, B, A).
    pub fn nrgba64(width: usize, height: usize, pix: Vec<u16>) -> Result<Self, PHashError> {
        check_len("NRGBA64", width, height, 4, pix.len())?;
        Ok(Self::new(width, height, Pixels::Nrgba64(pix)))
    }

    pub(crate) fn new(width: usize, height: usize, pixels: Pixels) -> Self {
        Self {
            width,
            height,
            pixels,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The name of the Go type this image stands for (`"*image.RGBA"`, ...).
    pub fn go_type(&self) -> &'static str {
        match &self.pixels {
            Pixels::Rgba(_) | Pixels::OpaqueRgb(_) => "*image.RGBA",
            Pixels::Nrgba(_) => "*image.NRGBA",
            Pixels::Gray(_) => "*image.Gray",
            Pixels::Gray16(_) => "*image.Gray16",
            Pixels::Rgba64(_) => "*image.RGBA64",
            Pixels::Nrgba64(_) => "*image.NRGBA64",
            Pixels::Paletted { .. } => "*image.Paletted",
            Pixels::YCbCr(_) => "*image.YCbCr",
        }
    }

    /// Go's `img.At(x, y).RGBA()`: 16-bit alpha-premultiplied R, G, B, A.
    pub(crate) fn rgba16(&self, x: usize, y: usize) -> [u32; 4] {
        let i = y * self.width + x;
        match &self.pixels {
            Pixels::Rgba(p) => {
                let s = &p[4 * i..4 * i + 4];
                [0, 1, 2, 3].map(|c| u32::from(s[c]) * 0x101)
            }
            Pixels::OpaqueRgb(p) => {
                let s = &p[3 * i..3 * i + 3];
                [s[0], s[1], s[2], 0xff].map(|c| u32::from(c) * 0x101)
            }
            Pixels::Nrgba(p) => {
                nrgba8_to_rgba16([p[4 * i], p[4 * i + 1], p[4 * i + 2], p[4 * i + 3]])
            }
            Pixels::Gray(p) => {
                let v = u32::from(p[i]) * 0x101;
                [v, v, v, 0xffff]
            }
            Pixels::Gray16(p) => {
                let v = u32::from(p[i]);
                [v, v, v, 0xffff]
            }
            Pixels::Rgba64(p) => [0, 1, 2, 3].map(|c| u32::from(p[4 * i + c])),
            Pixels::Nrgba64(p) => {
                nrgba16_to_rgba16([p[4 * i], p[4 * i + 1], p[4 * i + 2], p[4 * i + 3]])
            }
            Pixels::Paletted { indices, palette } => palette[usize::from(indices[i])],
            Pixels::YCbCr(img) => ycbcr_to_rgba16(img.at(x, y)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ycbcr_conversion_matches_go_extremes() {
        // Values from Go's color.YCbCr{...}.RGBA().
        assert_eq!(
            ycbcr_to_rgba16([255, 128, 128]),
            [0xffff, 0xffff, 0xffff, 0xffff]
        );
        assert_eq!(ycbcr_to_rgba16([0, 128, 128]), [0, 0, 0, 0xffff]);
        assert_eq!(ycbcr_to_rgba16([0, 0, 255]), [0xb20d, 0, 0, 0xffff]);
        assert_eq!(
            ycbcr_to_rgba16([200, 30, 220]),
            [0xffff, 0xa8cf, 0x1b20, 0xffff]
        );
        assert_eq!(ycbcr_to_rgba16([16, 240, 16]), [0, 0x3980, 0xd686, 0xffff]);
    }

    #[test]
    fn nrgba_premultiplies_like_go() {
        assert_eq!(
            nrgba8_to_rgba16([255, 128, 0, 128]),
            [0x8080, 0x4080, 0, 0x8080]
        );
        assert_eq!(
            nrgba8_to_rgba16([10, 20, 30, 255]),
            [0x0a0a, 0x1414, 0x1e1e, 0xffff]
        );
    }
}
