//! Test-only misbehaviour (`fault = "alter-image"`): what a dishonest node would do, so the
//! end-to-end tests can check that the network outvotes and slashes it.

use serde::{Deserialize, Serialize};

use engine::sd::RgbImage;
use engine::task::{Outcome, encode_png};

/// A deliberate misbehaviour for end-to-end tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Honest.
    #[default]
    None,
    /// Inverts every image before hashing and committing: the node's score disagrees
    /// with honest nodes', so it must be outvoted and slashed.
    AlterImage,
}

/// Inverts every image of an SD outcome and recomputes its score, as a node that cheats
/// consistently (its commitment matches its own altered files) would. LLM outcomes are
/// returned unchanged.
pub fn alter_images(outcome: Outcome) -> Result<Outcome, String> {
    if !outcome.files.iter().all(|(name, _)| name.ends_with(".png")) {
        return Ok(outcome);
    }
    let mut files = Vec::with_capacity(outcome.files.len());
    let mut hashes = Vec::with_capacity(outcome.files.len());
    for (name, png) in outcome.files {
        let mut image = decode_rgb(&png).map_err(|e| format!("{name}: {e}"))?;
        for byte in &mut image.pixels {
            *byte = 255 - *byte;
        }
        let png = encode_png(&image).map_err(|e| e.to_string())?;
        hashes.push(
            verifier::phash::phash_bytes(&png)
                .map_err(|e| e.to_string())?
                .0,
        );
        files.push((name, png));
    }
    Ok(Outcome {
        files,
        score: verifier::score::image_score(hashes),
    })
}

fn decode_rgb(png_bytes: &[u8]) -> Result<RgbImage, png::DecodingError> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info()?;
    let mut pixels = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut pixels)?;
    pixels.truncate(info.buffer_size());
    Ok(RgbImage {
        width: info.width as usize,
        height: info.height as usize,
        pixels,
    })
}
