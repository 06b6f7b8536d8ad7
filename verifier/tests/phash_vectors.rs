//! Every reference vector of `shared/vectors/phash/expected.tsv` (the hashes goimagehash
//! v1.1.0 gives) must come out bit for bit; all mismatches are reported together.

use std::path::PathBuf;
use verifier::phash::{PHash, phash_bytes};

/// `TESSERA_SHARED`, or `shared/` beside the workspace root.
fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("TESSERA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("vectors/phash/expected.tsv").is_file(),
        "shared reference data not found at {} (set TESSERA_SHARED)",
        dir.display()
    );
    dir
}

#[test]
fn every_reference_vector_matches_goimagehash() {
    let vectors = shared_dir().join("vectors/phash");
    let table = std::fs::read_to_string(vectors.join("expected.tsv")).expect("expected.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in table.lines().filter(|l| !l.trim().is_empty()) {
        let (file, expected) = line.split_once('\t').expect("FILE<TAB>HASH");
        let expected: PHash = expected.trim().parse().expect("hash in expected.tsv");
        let bytes = std::fs::read(vectors.join("images").join(file)).expect(file);
        checked += 1;
        match phash_bytes(&bytes) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!(
                "{file}: expected {expected}, got {got} ({} bits differ: {:#018x})",
                got.distance(expected),
                got.0 ^ expected.0
            )),
            Err(e) => failures.push(format!("{file}: expected {expected}, got error: {e}")),
        }
    }
    assert!(checked >= 131, "only {checked} vectors in expected.tsv");
    assert!(
        failures.is_empty(),
        "{} of {checked} vectors differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
