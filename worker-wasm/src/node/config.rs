//! The node's configuration: a TOML file, then `TESSERA_*` environment variables.
//!
//! ```toml
//! rpc_url = "http://127.0.0.1:8545"      # chain JSON-RPC (default: the deployments file's)
//! relay_url = "http://127.0.0.1:8600"
//! deployments = "deployments.json"       # where the contracts are (cargo xtask chain writes it)
//! key_file = "node.key"                  # hex private key of the node's account
//! model_dir = "models"                   # <model_dir>/<model name>/<files>
//! state_dir = "state"                    # what the node keeps per task until it is done
//! backend = "cpu"                        # cpu | wgpu | cuda (compiled-in features)
//! preload = ["sd-tiny"]                  # models fetched before serving
//! # gpu_vram = 24                        # only when the backend cannot tell (see capability)
//! poll_interval_ms = 1000
//!
//! [pins]                                 # optional: model name -> manifest digest
//! "sd-tiny" = "0x…"
//! ```
//!
//! Relative paths are relative to the configuration file's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use super::fault::Fault;
use engine::device::Backend;

/// Every setting of a node. Written by serializing it (the devnet does), so a written file
/// always reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Chain JSON-RPC endpoint; default: the one in the deployments file.
    pub rpc_url: Option<String>,
    /// The relay's base URL.
    pub relay_url: String,
    /// The deployments file naming the contracts.
    pub deployments: PathBuf,
    /// A file holding the node's private key in hex.
    pub key_file: PathBuf,
    /// Where models live, one folder per model name.
    pub model_dir: PathBuf,
    /// Where the node keeps task outcomes until the task is done.
    pub state_dir: PathBuf,
    /// The compute backend.
    #[serde(with = "backend_name")]
    pub backend: Backend,
    /// Models fetched (and announced) before serving.
    pub preload: Vec<String>,
    /// VRAM in GB to announce when the backend cannot measure it.
    pub gpu_vram: Option<u64>,
    /// Milliseconds between polls of the chain.
    pub poll_interval_ms: u64,
    /// Model name → expected manifest digest (`0x` + 64 hex digits).
    pub pins: BTreeMap<String, String>,
    /// Test-only misbehaviour, to check that the network punishes it. Never set this on a
    /// node you stake real funds with.
    pub fault: Fault,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            rpc_url: None,
            relay_url: "http://127.0.0.1:8600".into(),
            deployments: PathBuf::from("deployments.json"),
            key_file: PathBuf::from("node.key"),
            model_dir: PathBuf::from("models"),
            state_dir: PathBuf::from("state"),
            backend: Backend::default(),
            preload: Vec::new(),
            gpu_vram: None,
            poll_interval_ms: 1000,
            pins: BTreeMap::new(),
            fault: Fault::None,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("configuration {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (naming the key).
        message: String,
    },
    /// An environment variable holds an unusable value.
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        message: String,
    },
}

impl NodeConfig {
    /// Reads `path` (when given), resolves relative paths against its folder, then applies
    /// the `TESSERA_*` environment variables through `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                let mut config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                if let Some(base) = path.parent() {
                    config.resolve_against(base);
                }
                config
            }
            None => Self::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    fn resolve_against(&mut self, base: &Path) {
        for path in [
            &mut self.deployments,
            &mut self.key_file,
            &mut self.model_dir,
            &mut self.state_dir,
        ] {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("TESSERA_RPC_URL") {
            self.rpc_url = Some(v);
        }
        if let Some(v) = env("TESSERA_RELAY_URL") {
            self.relay_url = v;
        }
        for (name, field) in [
            ("TESSERA_DEPLOYMENTS", &mut self.deployments),
            ("TESSERA_KEY_FILE", &mut self.key_file),
            ("TESSERA_MODEL_DIR", &mut self.model_dir),
            ("TESSERA_STATE_DIR", &mut self.state_dir),
        ] {
            if let Some(v) = env(name) {
                *field = PathBuf::from(v);
            }
        }
        if let Some(v) = env("TESSERA_BACKEND") {
            self.backend = v.parse().map_err(|e| ConfigError::Env {
                name: "TESSERA_BACKEND",
                value: v.clone(),
                message: format!("{e}"),
            })?;
        }
        if let Some(v) = env("TESSERA_GPU_VRAM") {
            self.gpu_vram = Some(v.parse().map_err(|_| ConfigError::Env {
                name: "TESSERA_GPU_VRAM",
                value: v.clone(),
                message: "not a whole number of GB".into(),
            })?);
        }
        Ok(())
    }
}

mod backend_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use engine::device::Backend;

    pub(super) fn serialize<S: Serializer>(backend: &Backend, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(backend.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Backend, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("tessera-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.toml");
        std::fs::write(
            &path,
            "relay_url = \"http://relay:8600\"\nkey_file = \"k\"\npreload = [\"sd-tiny\"]\n\
             fault = \"alter-image\"\n[pins]\n\"sd-tiny\" = \"0x00\"\n",
        )
        .unwrap();
        let config = NodeConfig::load(Some(&path), |name| {
            (name == "TESSERA_MODEL_DIR").then(|| "/models".to_owned())
        })
        .unwrap();
        assert_eq!(config.relay_url, "http://relay:8600");
        assert_eq!(config.key_file, dir.join("k"));
        assert_eq!(config.model_dir, PathBuf::from("/models"));
        assert_eq!(config.state_dir, dir.join("state"));
        assert_eq!(config.preload, ["sd-tiny"]);
        assert_eq!(config.fault, Fault::AlterImage);
        assert_eq!(config.pins["sd-tiny"], "0x00");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_written_config_reads_back() {
        let dir = std::env::temp_dir().join(format!("tessera-config-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.toml");
        let config = NodeConfig {
            preload: vec!["sd-tiny".into()],
            fault: Fault::AlterImage,
            rpc_url: Some("http://127.0.0.1:8545".into()),
            ..NodeConfig::default()
        };
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
        let back = NodeConfig::load(Some(&path), |_| None).unwrap();
        assert_eq!(back.preload, config.preload);
        assert_eq!(back.fault, Fault::AlterImage);
        assert_eq!(back.backend, config.backend);
        assert_eq!(back.key_file, dir.join("node.key"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = std::env::temp_dir().join(format!("tessera-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.toml");
        std::fs::write(&path, "relay = \"x\"\n").unwrap();
        let err = NodeConfig::load(Some(&path), |_| None).unwrap_err();
        assert!(err.to_string().contains("relay"), "{err}");
        std::fs::write(&path, "backend = \"tpu\"\n").unwrap();
        let err = NodeConfig::load(Some(&path), |_| None).unwrap_err();
        assert!(err.to_string().contains("tpu"), "{err}");
        let err = NodeConfig::load(None, |name| {
            (name == "TESSERA_GPU_VRAM").then(|| "lots".to_owned())
        })
        .unwrap_err();
        assert!(err.to_string().contains("TESSERA_GPU_VRAM"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
