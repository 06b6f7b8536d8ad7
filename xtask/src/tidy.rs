//! The dependency rules ARCHITECTURE.md states, checked: for each crate, what it must never
//! depend on, directly or through any of its (normal) dependencies, on any target. A test
//! (`cargo test -p xtask`, part of `cargo xtask test`) and `cargo xtask tidy` run it on
//! `cargo metadata`'s resolved graph, and name the chain that breaks a rule.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cmd;

/// Browser UI frameworks (`web-sys` itself is fine: HTTP clients and GPU access use it).
const UI: &[&str] = &["leptos*", "gloo-*"];
/// Server crates: HTTP servers, databases, object storage.
const SERVER: &[&str] = &["axum*", "sqlx*", "object_store"];
/// Chain clients (alloy's types, `alloy-primitives`, are allowed where named).
const CHAIN: &[&str] = &[
    "alloy",
    "alloy-provider",
    "alloy-contract",
    "alloy-transport*",
];
/// Machine learning: Burn, its kernels, GPU access.
const ML: &[&str] = &["burn*", "cubecl*", "wgpu*"];
/// For the tools around the network: no UI, server, chain, ML or HTTP crate, none of the
/// network's own.
const NOTHING_OF_THE_NETWORK: &[&[&str]] = &[
    UI,
    SERVER,
    CHAIN,
    ML,
    &["alloy-*", "reqwest", "tokio"],
    &[
        "contracts",
        "engine",
        "relay*",
        "requester",
        "worker-*",
        "app",
        "verifier",
    ],
];

/// `(crate, [forbidden...], why)`. A forbidden entry is a crate name, or a prefix ending in
/// `*`. No crate may depend on `devnet` or `xtask` (checked for every member).
pub(crate) const RULES: &[(&str, &[&[&str]], &str)] = &[
    (
        "verifier",
        &[
            UI,
            SERVER,
            CHAIN,
            ML,
            &["alloy-*", "reqwest", "tokio"],
            &[
                "contracts",
                "engine",
                "relay*",
                "requester",
                "worker-*",
                "app",
                "locate",
            ],
        ],
        "the protocol's rules depend on no UI, server, chain or ML crate",
    ),
    (
        "engine",
        &[
            UI,
            SERVER,
            CHAIN,
            &["reqwest"],
            &["contracts", "relay*", "requester", "worker-*", "app"],
        ],
        "the engine knows nothing of the chain, the relay, a page or the node",
    ),
    (
        "relay-api",
        &[
            UI,
            SERVER,
            CHAIN,
            ML,
            &["reqwest", "tokio"],
            &[
                "contracts",
                "engine",
                "relay",
                "relay-client",
                "requester",
                "worker-*",
                "app",
            ],
        ],
        "the wire types build anywhere, for both sides",
    ),
    (
        "relay-client",
        &[
            UI,
            SERVER,
            ML,
            &[
                "contracts",
                "engine",
                "relay",
                "requester",
                "worker-*",
                "app",
            ],
        ],
        "a client needs no server, engine or UI",
    ),
    (
        "relay",
        &[
            UI,
            ML,
            &[
                "contracts",
                "engine",
                "relay-client",
                "requester",
                "worker-*",
                "app",
            ],
        ],
        "the server is only the server",
    ),
    (
        "contracts",
        &[
            UI,
            SERVER,
            ML,
            &["engine", "relay*", "requester", "worker-*", "app"],
        ],
        "bindings depend on alloy and the rules only",
    ),
    (
        "requester",
        &[UI, SERVER, ML, &["engine", "relay", "worker-*", "app"]],
        "the requester's flow runs in a page and on the command line alike",
    ),
    (
        "worker-protocol",
        &[
            UI,
            SERVER,
            CHAIN,
            ML,
            &["alloy-*", "reqwest", "tokio"],
            &[
                "contracts",
                "engine",
                "relay*",
                "requester",
                "worker-wasm",
                "app",
                "verifier",
            ],
        ],
        "the page speaks to the worker without linking the engine or a chain crate",
    ),
    (
        "worker-wasm",
        &[&["leptos*"], SERVER, &["relay", "requester", "app"]],
        "the node reaches the relay through its client and has no page",
    ),
    (
        "app",
        &[ML, SERVER, &["engine", "relay", "worker-wasm"]],
        "the page never loads Burn (the node worker is its own wasm) and has no server",
    ),
    (
        "tessera-sdk",
        &[UI, SERVER, ML, &["engine", "relay", "worker-*", "app"]],
        "the SDK is the requester's flow for JavaScript, nothing else",
    ),
    (
        "locate",
        NOTHING_OF_THE_NETWORK,
        "finding files needs nothing",
    ),
    (
        "durable",
        NOTHING_OF_THE_NETWORK,
        "durable writes are the standard library's calls in the right order",
    ),
    (
        "xtask",
        NOTHING_OF_THE_NETWORK,
        "developer commands compile in seconds; the network's logic is devnet's",
    ),
];

/// Crates nothing else in the workspace may depend on.
const LEAVES: &[&str] = &["devnet", "xtask"];

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// `cargo metadata` of the workspace.
pub(crate) fn metadata() -> Result<Value> {
    let output = cmd::cargo()
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("running cargo metadata")?;
    anyhow::ensure!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("parsing cargo metadata")
}

/// The resolved graph: package id → (name, normal dependencies' ids).
fn graph(metadata: &Value) -> BTreeMap<String, (String, Vec<String>)> {
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let mut graph = BTreeMap::new();
    for node in metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()))
            })
            .filter_map(|dep| Some(dep["pkg"].as_str()?.to_owned()))
            .collect();
        let name = names.get(id).copied().unwrap_or(id).to_owned();
        graph.insert(id.to_owned(), (name, deps));
    }
    graph
}

/// Every rule broken in `metadata`, each with the chain of crates that breaks it.
pub(crate) fn violations(metadata: &Value) -> Vec<String> {
    let graph = graph(metadata);
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut broken = Vec::new();
    for member in &members {
        let Some((name, _)) = graph.get(*member) else {
            continue;
        };
        let rule = RULES.iter().find(|(crate_name, _, _)| crate_name == name);
        let mut forbidden: Vec<&str> = LEAVES.iter().copied().filter(|l| l != name).collect();
        if let Some((_, lists, _)) = rule {
            forbidden.extend(lists.iter().flat_map(|list| list.iter().copied()));
        }
        // Breadth first, so the chain reported is a shortest one.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([*member]);
        let mut seen = BTreeSet::from([*member]);
        while let Some(id) = queue.pop_front() {
            let Some((dep_name, deps)) = graph.get(id) else {
                continue;
            };
            if id != *member
                && let Some(pattern) = forbidden.iter().find(|p| matches(p, dep_name))
            {
                let mut chain = vec![dep_name.as_str()];
                let mut at = id;
                while let Some(up) = parent.get(at) {
                    chain.push(graph.get(*up).map_or(*up, |(n, _)| n.as_str()));
                    at = up;
                }
                chain.reverse();
                let why = rule.map_or("nothing may depend on a tool crate", |(_, _, why)| why);
                broken.push(format!(
                    "{name} must not depend on `{pattern}` ({why}): {}",
                    chain.join(" -> ")
                ));
                continue;
            }
            for dep in deps {
                if seen.insert(dep) {
                    parent.insert(dep, id);
                    queue.push_back(dep);
                }
            }
        }
    }
    broken
}

/// Fails with every broken rule.
pub(crate) fn check(metadata: &Value) -> Result<(), String> {
    let broken = violations(metadata);
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the dependency rules of ARCHITECTURE.md are broken:\n  {}",
            broken.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny graph in `cargo metadata`'s shape: `verifier -> image -> tokio`,
    /// `app -> verifier`, and a dev-dependency `verifier -> axum` (allowed).
    fn fake(extra: Option<(&str, &str)>) -> Value {
        let normal = serde_json::json!([{"kind": null, "target": null}]);
        let dev = serde_json::json!([{"kind": "dev", "target": null}]);
        let mut nodes = vec![
            serde_json::json!({"id": "verifier", "deps": [
                {"pkg": "image", "dep_kinds": normal},
                {"pkg": "axum", "dep_kinds": dev},
            ]}),
            serde_json::json!({"id": "image", "deps": []}),
            serde_json::json!({"id": "axum", "deps": []}),
            serde_json::json!({"id": "tokio", "deps": []}),
            serde_json::json!({"id": "app", "deps": [{"pkg": "verifier", "dep_kinds": normal}]}),
        ];
        if let Some((from, to)) = extra {
            for node in &mut nodes {
                if node["id"] == from {
                    node["deps"]
                        .as_array_mut()
                        .unwrap()
                        .push(serde_json::json!({"pkg": to, "dep_kinds": normal}));
                }
            }
        }
        let packages: Vec<Value> = ["verifier", "image", "axum", "tokio", "app"]
            .iter()
            .map(|n| serde_json::json!({"id": n, "name": n}))
            .collect();
        serde_json::json!({
            "packages": packages,
            "workspace_members": ["verifier", "app"],
            "resolve": {"nodes": nodes},
        })
    }

    #[test]
    fn a_forbidden_dependency_is_caught_with_its_chain() {
        assert_eq!(violations(&fake(None)), Vec::<String>::new());
        let broken = violations(&fake(Some(("image", "tokio"))));
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(
            broken[0].starts_with("verifier must not depend on `tokio`")
                && broken[0].ends_with("verifier -> image -> tokio"),
            "{}",
            broken[0]
        );
    }

    #[test]
    fn the_workspace_keeps_its_dependency_rules() {
        let metadata = metadata().expect("cargo metadata");
        if let Err(broken) = check(&metadata) {
            panic!("{broken}");
        }
        // Every rule names a crate that exists, so a rename cannot silently drop one.
        let names: BTreeSet<&str> = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["source"].is_null())
            .filter_map(|p| p["name"].as_str())
            .collect();
        for (name, _, _) in RULES {
            assert!(names.contains(name), "the rule for `{name}` names no crate");
        }
    }
}
