//! The second similarity measure agrees with itself across encodings of one picture and
//! separates different pictures; it is independent of the network hash.

use std::path::PathBuf;
use verifier::phash::{Limits, PHashError};
use verifier::similarity::{SimilarityError, SimilarityHash, similarity_hash_bytes};

/// A reference vector image (`TESSERA_SHARED`, or `shared/` beside the workspace root).
fn vector(name: &str) -> Vec<u8> {
    let shared = std::env::var_os("TESSERA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let path = shared.join("vectors/phash/images").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (set TESSERA_SHARED)", path.display()))
}

fn hash(name: &str) -> SimilarityHash {
    similarity_hash_bytes(&vector(name), &Limits::default()).unwrap()
}

#[test]
fn encodings_of_one_picture_are_close_and_other_pictures_far() {
    let png = hash("photo_astronaut.rgb.png");
    for close in [
        "photo_astronaut.q75.jpg",
        "photo_astronaut_1024x1024.rgb.png",
    ] {
        let d = png.distance(&hash(close));
        assert!(d <= 12, "{close}: {d} of {} bits", png.bits());
    }
    for far in [
        "photo_coffee.rgb.png",
        "photo_camera.rgb.png",
        "photo_coins.rgb.png",
    ] {
        let d = png.distance(&hash(far));
        assert!(d >= 40, "{far}: {d} of {} bits", png.bits());
    }
}

#[test]
fn limits_apply_before_decoding() {
    let small = Limits {
        max_pixels: 1000,
        ..Limits::default()
    };
    let err = similarity_hash_bytes(&vector("photo_camera.rgb.png"), &small).unwrap_err();
    assert!(
        matches!(
            err,
            SimilarityError::Limits(PHashError::TooManyPixels { .. })
        ),
        "{err}"
    );
    assert!(similarity_hash_bytes(b"not an image", &Limits::default()).is_err());
}
