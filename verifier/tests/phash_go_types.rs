//! Every Go image type and decoder path, against hashes Go itself produced
//! (`tests/data/phash_go/expected.tsv`, see its README): PNG color types and bit depths with
//! and without tRNS, interlacing, palettes with missing entries; JPEG subsamplings,
//! progressive, restart intervals, RGB and gray; sizes that take the 64x64 no-resize path.

use std::path::Path;
use verifier::phash::{PHash, phash_bytes};

#[test]
fn every_go_image_type_matches_go() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/phash_go");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (file, expected) = line.split_once('\t').expect("FILE<TAB>RESULT");
        let bytes = std::fs::read(dir.join(file)).expect(file);
        checked += 1;
        let got = phash_bytes(&bytes);
        match (expected.strip_prefix("error: "), got) {
            // Go rejects the file: so must the port (the wording differs).
            (Some(_), Err(_)) => {}
            (Some(go_error), Ok(got)) => {
                failures.push(format!("{file}: Go fails ({go_error}), port gives {got}"))
            }
            (None, Ok(got)) => {
                let expected: PHash = expected.parse().expect("hash");
                if got != expected {
                    failures.push(format!(
                        "{file}: expected {expected}, got {got} ({} bits differ)",
                        got.distance(expected)
                    ));
                }
            }
            (None, Err(e)) => failures.push(format!("{file}: expected {expected}, got error: {e}")),
        }
    }
    assert!(checked >= 180, "only {checked} vectors");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
