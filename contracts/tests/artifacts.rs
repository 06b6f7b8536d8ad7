//! The committed artifacts are what the pinned solcjs makes of the Solidity sources as they
//! are now: this test compiles them (npm `solc` in `contracts/node_modules`, which
//! `cargo xtask install` puts there) and compares byte for byte. When they differ it writes
//! the new artifacts and fails, so a developer commits them and CI, which never writes,
//! fails on stale ones. `cargo xtask contracts build` runs it to rebuild them.
//!
//! Each artifact also records a SHA-256 of the sources it was compiled from
//! (`sourceHash`, through `verifier::digest`), which tells a stale artifact apart at a
//! glance.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// Contracts whose artifacts are committed, by source file.
const CONTRACTS: [(&str, &str); 3] = [
    ("Appeals.sol", "Appeals"),
    ("NodeRegistry.sol", "NodeRegistry"),
    ("TaskManager.sol", "TaskManager"),
];
/// The EVM version the bytecode targets: supported by anvil and every major EVM chain.
const EVM_VERSION: &str = "cancun";
const OPTIMIZER_RUNS: u64 = 20;
/// EIP-170's limit on deployed code.
const MAX_CODE_SIZE: usize = 24_576;

fn crate_dir() -> PathBuf {
    // At run time, not `env!`: a test binary reused from another checkout must check this one.
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// The `.sol` files in name order, with their text.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sol"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("UTF-8 name");
            (
                name.to_owned(),
                std::fs::read_to_string(&path).expect("source"),
            )
        })
        .collect()
}

/// SHA-256 over `name NUL content NUL` for every source in name order, `0x` hex.
fn source_hash(sources: &[(String, String)]) -> String {
    let mut stream = verifier::digest::Sha256Stream::new();
    for (name, content) in sources {
        stream.update(&[name.as_bytes(), &[0], content.as_bytes(), &[0]].concat());
    }
    verifier::hex::encode(stream.finish())
}

/// The value with every object's keys in sorted order, so that an artifact's text does not
/// depend on whether some crate in the build enabled serde_json's `preserve_order`.
fn sorted_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

/// Compiles a standard-JSON input with npm `solc` (solcjs). The compiler runs in a node
/// script that writes its output to a file: piping `solcjs --standard-json` loses output
/// past 64 KiB when node exits.
fn solc(dir: &Path, input: &Value) -> Value {
    assert!(
        dir.join("node_modules/solc").is_dir(),
        "{} is missing: `cargo xtask install` (or `npm ci` in contracts/) installs it",
        dir.join("node_modules/solc").display()
    );
    let tmp = std::env::temp_dir().join(format!("tessera-solc-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (in_path, out_path) = (tmp.join("input.json"), tmp.join("output.json"));
    std::fs::write(&in_path, input.to_string()).unwrap();
    const SCRIPT: &str = "const solc = require('solc'); const fs = require('fs'); \
        const out = JSON.parse(solc.compile(fs.readFileSync(process.argv[1], 'utf8'))); \
        out.solcVersion = solc.version(); fs.writeFileSync(process.argv[2], JSON.stringify(out));";
    let status = Command::new("node")
        .args(["-e", SCRIPT])
        .arg(&in_path)
        .arg(&out_path)
        .current_dir(dir)
        .status()
        .expect("running node (is Node.js installed?)");
    assert!(status.success(), "solc (node) failed with {status}");
    let text = std::fs::read_to_string(&out_path).expect("solc's output");
    let _ = std::fs::remove_dir_all(&tmp);
    serde_json::from_str(&text).expect("solc's output is JSON")
}

/// Every artifact, file name to pretty JSON text, as the sources compile now.
fn compile(dir: &Path) -> BTreeMap<String, String> {
    let sources = sources(&dir.join("src/solidity"));
    let input = json!({
        "language": "Solidity",
        "sources": sources
            .iter()
            .map(|(name, content)| (name.clone(), json!({ "content": content })))
            .collect::<serde_json::Map<_, _>>(),
        "settings": {
            "optimizer": { "enabled": true, "runs": OPTIMIZER_RUNS },
            "viaIR": true,
            "evmVersion": EVM_VERSION,
            "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });
    let output = solc(dir, &input);
    let errors: Vec<_> = output["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["severity"] == "error")
        .map(|e| e["formattedMessage"].as_str().unwrap_or_default())
        .collect();
    assert!(errors.is_empty(), "solc errors:\n{}", errors.join("\n"));
    let hash = source_hash(&sources);
    let version = output["solcVersion"].as_str().expect("solc's version");
    let mut artifacts = BTreeMap::new();
    for (file, name) in CONTRACTS {
        let c = &output["contracts"][file][name];
        assert!(c.is_object(), "solc produced no contract {name} in {file}");
        let code = |key: &str| {
            c["evm"][key]["object"]
                .as_str()
                .expect("bytecode")
                .to_owned()
        };
        let (bytecode, deployed) = (code("bytecode"), code("deployedBytecode"));
        assert!(
            deployed.len() / 2 <= MAX_CODE_SIZE,
            "{name}: deployed code is {} bytes, over EIP-170's {MAX_CODE_SIZE}",
            deployed.len() / 2
        );
        let artifact = json!({
            "contractName": name,
            "sourceHash": hash,
            "compiler": { "version": version, "evmVersion": EVM_VERSION, "optimizerRuns": OPTIMIZER_RUNS, "viaIR": true },
            "abi": c["abi"],
            "bytecode": format!("0x{bytecode}"),
            "deployedBytecode": format!("0x{deployed}"),
        });
        let mut text = serde_json::to_string_pretty(&sorted_keys(artifact)).unwrap();
        text.push('\n');
        artifacts.insert(format!("{name}.json"), text);
    }
    artifacts
}

#[test]
fn committed_artifacts_are_what_solc_makes_of_the_sources() {
    let dir = crate_dir();
    let mut stale = Vec::new();
    for (file, text) in compile(&dir) {
        let path = dir.join("artifacts").join(&file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "contracts/artifacts was stale ({}): rewritten from the sources now; rebuild and \
         commit them",
        stale.join(", ")
    );
}

#[test]
fn each_artifact_names_the_sources_it_was_built_from() {
    let dir = crate_dir();
    let expected = source_hash(&sources(&dir.join("src/solidity")));
    for (_, name) in CONTRACTS {
        let path = dir.join(format!("artifacts/{name}.json"));
        let artifact: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("artifact JSON");
        assert_eq!(
            artifact["sourceHash"].as_str(),
            Some(expected.as_str()),
            "{} is stale: the Solidity sources changed; `cargo xtask contracts build`",
            path.display()
        );
    }
}
