//! A second, independent similarity measure for the verification report.
//!
//! **This is not the network's hash.** Scores, commitments and their comparison use only
//! [`crate::phash`] (goimagehash's `PerceptionHash`, bit-exact). This module gives the app a
//! second opinion to show beside it: a double-gradient hash from the `image_hasher` crate,
//! computed from the `image` crate's own decoders and resampler, so that a disagreement that
//! an implementation detail of one pipeline hides can still show up in the other. Its values
//! are comparable only with other values of this module.

use std::fmt;
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use image_hasher::{HashAlg, Hasher, HasherConfig, ImageHash};

use crate::phash::Limits;

/// Width and height of the hash grid: a 16x16 double-gradient hash has 144 bits.
const GRID: u32 = 16;

/// A double-gradient perceptual hash (`image_hasher`, 16x16 grid, 144 bits).
#[derive(Clone, PartialEq, Eq)]
pub struct SimilarityHash(ImageHash);

impl SimilarityHash {
    /// Number of differing bits; 0 for identical images.
    pub fn distance(&self, other: &SimilarityHash) -> u32 {
        self.0.dist(&other.0)
    }

    /// Number of bits in the hash.
    pub fn bits(&self) -> u32 {
        8 * self.0.as_bytes().len() as u32
    }

    /// The hash bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for SimilarityHash {
    /// Lowercase hex, prefixed `dg:` so it is never mistaken for a network hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dg:")?;
        self.0
            .as_bytes()
            .iter()
            .try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for SimilarityHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimilarityHash({self})")
    }
}

/// Why an image could not be hashed by the similarity measure.
#[derive(Debug, thiserror::Error)]
pub enum SimilarityError {
    /// The `image` crate could not decode the file.
    #[error("cannot decode image: {0}")]
    Decode(#[from] image::ImageError),
    /// The image is too large or empty (see [`Limits`]).
    #[error(transparent)]
    Limits(#[from] crate::phash::PHashError),
    /// A pixel buffer does not match its dimensions.
    #[error("RGB pixel buffer for {width}x{height} must be {expected} bytes, got {got}")]
    BufferSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
}

fn hasher() -> Hasher {
    HasherConfig::new()
        .hash_alg(HashAlg::DoubleGradient)
        .hash_size(GRID, GRID)
        .to_hasher()
}

/// The similarity hash of a PNG or JPEG file, decoded by the `image` crate within `limits`
/// (checked from the header before decoding).
pub fn similarity_hash_bytes(
    bytes: &[u8],
    limits: &Limits,
) -> Result<SimilarityHash, SimilarityError> {
    let decoder = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(image::ImageError::IoError)?
        .into_decoder()?;
    let (width, height) = decoder.dimensions();
    // The decoded image and the copy the hasher's resampler makes, at most 8 bytes a pixel.
    limits.check(u64::from(width), u64::from(height), 16)?;
    let image = DynamicImage::from_decoder(decoder)?;
    Ok(SimilarityHash(hasher().hash_image(&image)))
}

/// The similarity hash of 8-bit RGB pixels (row-major, 3 bytes a pixel).
pub fn similarity_hash_rgb8(
    width: u32,
    height: u32,
    rgb: &[u8],
) -> Result<SimilarityHash, SimilarityError> {
    let expected = width as usize * height as usize * 3;
    let image = RgbImage::from_raw(width, height, rgb.to_vec())
        .filter(|_| rgb.len() == expected && expected > 0)
        .ok_or(SimilarityError::BufferSize {
            width,
            height,
            expected,
            got: rgb.len(),
        })?;
    Ok(SimilarityHash(
        hasher().hash_image(&DynamicImage::ImageRgb8(image)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(width: u32, height: u32, shift: u32) -> Vec<u8> {
        (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                let v = (((x + shift) / 8 + y / 8) % 2 * 200 + (x * 50 / width)) as u8;
                [v, v / 2, 255 - v]
            })
            .collect()
    }

    #[test]
    fn identical_pixels_are_at_distance_zero() {
        let a = similarity_hash_rgb8(96, 64, &pattern(96, 64, 0)).unwrap();
        let b = similarity_hash_rgb8(96, 64, &pattern(96, 64, 0)).unwrap();
        assert_eq!(a.distance(&b), 0);
        assert_eq!(a.bits(), 144);
        assert!(a.to_string().starts_with("dg:"));
        assert_eq!(a.to_string().len(), 3 + 2 * 18);
    }

    #[test]
    fn different_pictures_are_far_apart() {
        let a = similarity_hash_rgb8(96, 64, &pattern(96, 64, 0)).unwrap();
        let b = similarity_hash_rgb8(96, 64, &pattern(96, 64, 8)).unwrap();
        assert!(a.distance(&b) > 20, "{}", a.distance(&b));
    }

    #[test]
    fn wrong_buffer_is_an_error() {
        assert!(matches!(
            similarity_hash_rgb8(4, 4, &[0; 47]),
            Err(SimilarityError::BufferSize {
                expected: 48,
                got: 47,
                ..
            })
        ));
    }
}
