//! The committed artifacts were built from the Solidity sources as they are now.
//!
//! `cargo xtask contracts check` recompiles and compares byte for byte (it needs Node.js);
//! this test needs nothing but the files: each artifact records a SHA-256 of the sources it
//! was compiled from (`sourceHash`), recomputed here.

use std::path::Path;

use sha2::{Digest as _, Sha256};

fn sources_hash(dir: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("src/solidity")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sol"))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 name");
        let content = std::fs::read_to_string(&path).expect("source");
        hash.update([name.as_bytes(), &[0], content.as_bytes(), &[0]].concat());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn committed_artifacts_match_the_solidity_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected = format!("0x{}", sources_hash(&root.join("src/solidity")));
    for name in ["NodeRegistry", "TaskManager"] {
        let path = root.join(format!("artifacts/{name}.json"));
        let artifact: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("artifact"))
                .expect("artifact JSON");
        assert_eq!(
            artifact["sourceHash"].as_str(),
            Some(expected.as_str()),
            "{} is stale: the Solidity sources changed; run `cargo xtask contracts build` and commit the artifacts",
            path.display()
        );
        let code = artifact["deployedBytecode"]
            .as_str()
            .expect("deployedBytecode");
        assert!(
            (code.len() - 2) / 2 <= 24_576,
            "{name} exceeds the 24 KiB code size limit"
        );
    }
}
