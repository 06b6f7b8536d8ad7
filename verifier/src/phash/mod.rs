//! The network's perceptual hash: a bit-exact port of goimagehash v1.1.0 `PerceptionHash`
//! on nfnt/resize 83c6a99 and Go's `image/png` and `image/jpeg` decoders (amd64, no fused
//! multiply-add).
//!
//! The steps (PROTOCOL.md, "The perceptual hash"):
//!
//! 1. decode into the Go image type Go's decoder would produce ([`GoImage`]);
//! 2. resize to 64x64 with nfnt's bilinear filter, whose code path and rounding depend on
//!    that type (an image already 64x64 is left as it is);
//! 3. gray value `0.299*R + 0.587*G + 0.114*B` per pixel, from Go's 16-bit `RGBA()`;
//! 4. unnormalized 64-point DCT-II on rows then columns (Byeong Gi Lee's recursion, with
//!    the divisors as Go's `math.Cos` computes them);
//! 5. the top-left 8x8 block, its median by goimagehash's quickselect, and one bit per
//!    value strictly above the median, bit `63 - (8*row + col)`.
//!
//! Every step is integer or plain IEEE-754 `f64` arithmetic in a fixed order, so the result
//! is the same natively and on `wasm32-unknown-unknown`.
//!
//! Scope and evidence:
//!
//! - All 131 shared reference vectors match, and so do 184 more images covering every
//!   PNG color type, bit depth, tRNS and interlace variant and every JPEG subsampling,
//!   progressive and restart variant Go decodes (`tests/data/phash_go`, hashed by
//!   goimagehash itself on Go 1.19).
//! - JPEGs are decoded with Go's pre-1.25 integer IDCT, the one the reference vectors were
//!   made with. Go 1.25 changed its IDCT; a reference network built with it would differ
//!   on some JPEGs (never on PNGs, the network's own images).
//! - Four-component (CMYK/YCCK) JPEGs, which Go decodes, give
//!   [`PHashError::UnsupportedJpeg`]. Corrupt files may fail here where Go recovers, or the
//!   other way round; valid files decode identically.
//! - [`Limits`] bound memory from the header, before any pixel buffer is allocated.
//!   Their defaults are the largest image task arguments allow ([`MAX_PIXELS`]); a JPEG
//!   with more than 100 scans is refused too (Go has no limit; each scan walks every
//!   block, and one can cost 20 bytes).

mod dct;
mod image;
mod jpeg;
mod png;
mod resize;

use std::fmt;

pub use image::{GoImage, Subsampling};

/// A 64-bit perceptual hash, as goimagehash's `ImageHash.GetHash()` returns it.
///
/// [`Display`](fmt::Display) writes it as the reference network does: `0x` and 16
/// lowercase hex digits. Its score bytes are [`PHash::to_be_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PHash(pub u64);

impl PHash {
    /// The 8 bytes this hash contributes to a task score (big-endian).
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Number of bits in which two hashes differ.
    pub fn distance(self, other: PHash) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

impl fmt::Display for PHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

impl std::str::FromStr for PHash {
    type Err = PHashError;

    /// Parses `0x` and 16 hex digits, as [`Display`](fmt::Display) writes them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_prefix("0x")
            .filter(|d| d.len() == 16)
            .ok_or_else(|| PHashError::BadHashText(s.to_owned()))?;
        u64::from_str_radix(digits, 16)
            .map(PHash)
            .map_err(|_| PHashError::BadHashText(s.to_owned()))
    }
}

/// Why an image could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PHashError {
    /// The bytes are neither a PNG nor a JPEG.
    #[error("not a PNG or JPEG file (starts with {0:02x?})")]
    UnknownFormat(Vec<u8>),
    /// The image has no pixels.
    #[error("image is empty ({width}x{height})")]
    Empty {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The image is larger than the [`Limits`] allow (a decompression bomb, or just large).
    #[error("image is {width}x{height}, over the limit of {limit} pixels")]
    TooManyPixels {
        /// Width from the header.
        width: u64,
        /// Height from the header.
        height: u64,
        /// The configured pixel limit.
        limit: u64,
    },
    /// Decoding the image would need more memory than the [`Limits`] allow.
    #[error(
        "decoding a {width}x{height} image needs about {needed} bytes, over the limit of {limit}"
    )]
    TooMuchMemory {
        /// Width from the header.
        width: u64,
        /// Height from the header.
        height: u64,
        /// Estimated bytes needed.
        needed: u64,
        /// The configured byte limit.
        limit: u64,
    },
    /// The dimensions overflow this platform's address space.
    #[error("image dimensions {width}x{height} overflow this platform's address space")]
    TooLarge {
        /// Width.
        width: u64,
        /// Height.
        height: u64,
    },
    /// The PNG is malformed or truncated.
    #[error("invalid PNG: {0}")]
    Png(String),
    /// The JPEG is malformed or truncated.
    #[error("invalid JPEG: {0}")]
    Jpeg(String),
    /// The JPEG uses a feature Go's decoder rejects, or this port does not implement.
    #[error("unsupported JPEG: {0}")]
    UnsupportedJpeg(String),
    /// A pixel buffer does not have the size its dimensions call for.
    #[error("{layout} pixel buffer for {width}x{height} must be {expected} samples, got {got}")]
    BufferSize {
        /// The pixel layout, such as `"RGBA"`.
        layout: &'static str,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Samples expected.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// A hash in text form is not `0x` and 16 hex digits.
    #[error("not a pHash (0x and 16 hex digits): {0:?}")]
    BadHashText(String),
}

/// Resource limits for decoding, checked from the file header before any pixel buffer is
/// allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels (width x height) an image may have.
    pub max_pixels: u64,
    /// Most bytes decoding may allocate (an estimate from the header).
    pub max_bytes: u64,
}

impl Default for Limits {
    /// [`MAX_PIXELS`] and [`MAX_DECODE_BYTES`]: the largest image task arguments allow, in any
    /// format this module decodes.
    fn default() -> Self {
        Self {
            max_pixels: MAX_PIXELS,
            max_bytes: MAX_DECODE_BYTES,
        }
    }
}

/// The default pixel limit: 2048 x 2048, the largest image task arguments allow
/// (`task_config.image_width` and `image_height` are at most 2048). A file claiming more is
/// refused from its header, before any buffer is allocated or any block decoded: a JPEG of a
/// few hundred kilobytes can claim 8192 x 8192, which would cost a million IDCTs and 200 MB.
pub const MAX_PIXELS: u64 = 2048 * 2048;

/// The default memory limit: 128 MiB, enough for any image of [`MAX_PIXELS`] (a 2048 x 2048
/// progressive 4:4:4 JPEG, the costliest, needs about 113 MB by [`Limits`]' estimate).
pub const MAX_DECODE_BYTES: u64 = 128 << 20;

impl Limits {
    /// Checks dimensions from a header against the limits, given about how many bytes
    /// decoding needs per pixel (resizing's own needs are added here).
    pub(crate) fn check(
        &self,
        width: u64,
        height: u64,
        bytes_per_pixel: u64,
    ) -> Result<(), PHashError> {
        if width == 0 || height == 0 {
            return Err(PHashError::Empty {
                width: width as usize,
                height: height as usize,
            });
        }
        let pixels = width.saturating_mul(height);
        if pixels > self.max_pixels {
            return Err(PHashError::TooManyPixels {
                width,
                height,
                limit: self.max_pixels,
            });
        }
        let needed = pixels
            .saturating_mul(bytes_per_pixel)
            .saturating_add(resize::Taps::bytes_for(width))
            .saturating_add(resize::Taps::bytes_for(height));
        if needed > self.max_bytes {
            return Err(PHashError::TooMuchMemory {
                width,
                height,
                needed,
                limit: self.max_bytes,
            });
        }
        if usize::try_from(needed).is_err() {
            return Err(PHashError::TooLarge { width, height });
        }
        Ok(())
    }
}

/// Decodes a PNG or JPEG file (recognized by its signature) into the image type Go's
/// decoder would return, within `limits`.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<GoImage, PHashError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png::decode(bytes, limits)
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        jpeg::decode(bytes, limits)
    } else {
        Err(PHashError::UnknownFormat(
            bytes.iter().take(8).copied().collect(),
        ))
    }
}

/// The network's hash of a PNG or JPEG file, with the default [`Limits`].
pub fn phash_bytes(bytes: &[u8]) -> Result<PHash, PHashError> {
    phash_bytes_with_limits(bytes, &Limits::default())
}

/// The network's hash of a PNG or JPEG file, within `limits`.
pub fn phash_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<PHash, PHashError> {
    Ok(phash_image(&decode(bytes, limits)?))
}

/// goimagehash's `PerceptionHash` of an image of a given Go type.
pub fn phash_image(img: &GoImage) -> PHash {
    let gray = if (img.width, img.height) == (resize::SIDE, resize::SIDE) {
        dct::gray_of_64(img)
    } else {
        dct::gray_of_resized(&resize::resize_64(img))
    };
    PHash(dct::hash_gray_64(gray))
}

/// The hash of 8-bit RGB pixels (row-major, 3 bytes a pixel): what the network computes for
/// those pixels saved as an RGB PNG (which Go decodes to an opaque `image.RGBA`).
pub fn phash_rgb8(width: usize, height: usize, rgb: &[u8]) -> Result<PHash, PHashError> {
    image::check_len("RGB", width, height, 3, rgb.len())?;
    let resized = if (width, height) == (resize::SIDE, resize::SIDE) {
        resize::Resized::Rgb8(rgb.to_vec())
    } else {
        resize::resize_opaque_rgb(rgb, width, height)
    };
    Ok(PHash(dct::hash_gray_64(dct::gray_of_resized(&resized))))
}

/// The hash of 8-bit non-premultiplied RGBA pixels (row-major, 4 bytes a pixel, as a
/// browser canvas's `getImageData` returns them): what the network computes for those
/// pixels saved as an RGBA PNG (which Go decodes to an `image.NRGBA`). For opaque pixels
/// this equals [`phash_rgb8`] of the same colors.
pub fn phash_rgba8(width: usize, height: usize, rgba: &[u8]) -> Result<PHash, PHashError> {
    image::check_len("NRGBA", width, height, 4, rgba.len())?;
    if (width, height) == (resize::SIDE, resize::SIDE) {
        return Ok(phash_image(&GoImage::nrgba(width, height, rgba.to_vec())?));
    }
    let resized = resize::resize_nrgba(rgba, width, height);
    Ok(PHash(dct::hash_gray_64(dct::gray_of_resized(&resized))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let h = PHash(0x00c2_924c_5532_bddf);
        assert_eq!(h.to_string(), "0x00c2924c5532bddf");
        assert_eq!("0x00c2924c5532bddf".parse::<PHash>().unwrap(), h);
        assert!("c2924c5532bddfc8".parse::<PHash>().is_err());
        assert_eq!(
            h.to_be_bytes(),
            [0x00, 0xc2, 0x92, 0x4c, 0x55, 0x32, 0xbd, 0xdf]
        );
    }

    #[test]
    fn rgb_and_opaque_rgba_agree() {
        let (w, h) = (70, 50);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let rgba: Vec<u8> = rgb
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        assert_eq!(
            phash_rgb8(w, h, &rgb).unwrap(),
            phash_rgba8(w, h, &rgba).unwrap()
        );
    }

    #[test]
    fn wrong_buffer_sizes_are_errors() {
        assert!(matches!(
            phash_rgb8(10, 10, &[0; 299]),
            Err(PHashError::BufferSize {
                expected: 300,
                got: 299,
                ..
            })
        ));
        assert!(matches!(
            phash_rgba8(0, 5, &[]),
            Err(PHashError::Empty { .. })
        ));
    }
}
