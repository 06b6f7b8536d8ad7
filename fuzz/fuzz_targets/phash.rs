//! `verifier::phash`: PNG and JPEG decoding into Go's image types, then the perceptual hash,
//! within the default `Limits` (what every party uses). Any result is fine; a panic, a
//! hang or memory beyond the limits is a finding.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = verifier::phash::Limits::default();
        if let Ok(image) = verifier::phash::decode(data, &limits) {
            let hash = verifier::phash::phash_image(&image);
            // Decoding twice gives the same image, hence the same hash.
            assert_eq!(verifier::phash::phash_bytes(data).ok(), Some(hash));
        }
    });
}
