//! Reading safetensors checkpoints into Burn tensors.
//!
//! Weights stored as `F32`, `F16` or `BF16` are widened to `f32` on load, so one code path
//! serves the reference checkpoints and half-precision downloads alike. A [`Scope`] may
//! carry [`Deltas`], added to tensors as they load: how an adapter (a LoRA,
//! [`crate::sd::lora`]) is merged into the base weights, so the model runs at the base's cost.

use std::borrow::Cow;
use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors, tensor::TensorInfo};

use crate::error::{EngineError, Result};

/// One safetensors file in memory (owned, or borrowed from the caller so that loading a
/// multi-gigabyte checkpoint does not hold two copies of it), with its header parsed; or
/// the shards of one checkpoint ([`SafetensorsFile::from_shards`]) read as one file.
pub struct SafetensorsFile<'a> {
    what: String,
    parts: Vec<Part<'a>>,
    /// Each tensor's part and header entry.
    tensors: HashMap<String, (usize, TensorInfo)>,
    metadata: HashMap<String, String>,
}

/// One file's bytes and where its data starts.
struct Part<'a> {
    bytes: Cow<'a, [u8]>,
    data_start: usize,
}

impl SafetensorsFile<'static> {
    /// Parses the header of `bytes`; `what` names the file in error messages.
    pub fn from_bytes(what: impl Into<String>, bytes: Vec<u8>) -> Result<Self> {
        Self::new(what.into(), Cow::Owned(bytes))
    }

    /// Reads the file at `path` (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| EngineError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(path.display().to_string(), bytes)
    }
}

impl<'a> SafetensorsFile<'a> {
    /// Parses the header of `bytes` without copying them; `what` names the file in errors.
    pub fn from_slice(what: impl Into<String>, bytes: &'a [u8]) -> Result<Self> {
        Self::new(what.into(), Cow::Borrowed(bytes))
    }

    /// The shards of one checkpoint (`model-00001-of-00002.safetensors`, ...: the files a
    /// `model.safetensors.index.json` names), each `(name, bytes)`, read as one file. A tensor
    /// in two shards is refused.
    pub fn from_shards(what: impl Into<String>, shards: &[(&str, &'a [u8])]) -> Result<Self> {
        let mut merged = Self {
            what: what.into(),
            parts: Vec::new(),
            tensors: HashMap::new(),
            metadata: HashMap::new(),
        };
        for (name, bytes) in shards {
            let shard = Self::new((*name).to_owned(), Cow::Borrowed(*bytes))?;
            let offset = merged.parts.len();
            for (tensor, (part, info)) in shard.tensors {
                if merged.tensors.contains_key(&tensor) {
                    return Err(EngineError::BadTensor {
                        what: merged.what.clone(),
                        name: tensor,
                        message: format!("is in more than one shard (again in {name})"),
                    });
                }
                merged.tensors.insert(tensor, (offset + part, info));
            }
            for (key, value) in shard.metadata {
                merged.metadata.entry(key).or_insert(value);
            }
            merged.parts.extend(shard.parts);
        }
        Ok(merged)
    }

    fn new(what: String, bytes: Cow<'a, [u8]>) -> Result<Self> {
        let (header_len, metadata) =
            SafeTensors::read_metadata(&bytes).map_err(|error| EngineError::Safetensors {
                what: what.clone(),
                message: error.to_string(),
            })?;
        let data_start = 8 + header_len;
        let tensors: HashMap<String, (usize, TensorInfo)> = metadata
            .tensors()
            .into_iter()
            .map(|(name, info)| (name, (0, info.clone())))
            .collect();
        let text = metadata.metadata().clone().unwrap_or_default();
        if let Some((name, _)) = tensors
            .iter()
            .find(|(_, (_, info))| data_start + info.data_offsets.1 > bytes.len())
        {
            return Err(EngineError::BadTensor {
                what,
                name: name.clone(),
                message: "data runs past the end of the file (truncated download?)".into(),
            });
        }
        Ok(Self {
            what,
            parts: vec![Part { bytes, data_start }],
            tensors,
            metadata: text,
        })
    }

    /// How error messages name the file.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The value of `key` in the header's `__metadata__` (string to string), if present.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Whether the file holds a tensor called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The names of all tensors in the file.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The shape of tensor `name`.
    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        Ok(&self.info(name)?.shape)
    }

    /// Tensor `name` as `f32` values in row-major order, with its shape.
    pub fn read_f32(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let (part, info) = self.entry(name)?;
        let (start, end) = info.data_offsets;
        let Part { bytes, data_start } = &self.parts[*part];
        let raw = &bytes[data_start + start..data_start + end];
        let values: Vec<f32> = match info.dtype {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(self.bad(name, format!("unsupported dtype {other:?}")));
            }
        };
        let numel: usize = info.shape.iter().product();
        if values.len() != numel {
            return Err(self.bad(
                name,
                format!("{} values for shape {:?}", values.len(), info.shape),
            ));
        }
        Ok((values, info.shape.clone()))
    }

    /// Tensor `name` on `device`, checked to have exactly the shape `expected`.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        expected: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        let (values, shape) = self.read_f32(name)?;
        if shape != expected {
            return Err(self.bad(name, format!("shape {shape:?}, expected {expected:?}")));
        }
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }

    /// Tensor `name`, checked to be `expected`, as blocks of at most `block_rows` rows.
    pub fn row_blocks(
        &self,
        name: &str,
        expected: [usize; 2],
        block_rows: usize,
        device: &Device,
    ) -> Result<Vec<Tensor<2>>> {
        let (values, shape) = self.read_f32(name)?;
        if shape != expected {
            return Err(self.bad(name, format!("shape {shape:?}, expected {expected:?}")));
        }
        let [_, width] = expected;
        Ok(values
            .chunks(block_rows.max(1) * width.max(1))
            .map(|block| {
                let rows = block.len() / width.max(1);
                Tensor::from_data(TensorData::new(block.to_vec(), [rows, width]), device)
            })
            .collect())
    }

    fn info(&self, name: &str) -> Result<&TensorInfo> {
        self.entry(name).map(|(_, info)| info)
    }

    fn entry(&self, name: &str) -> Result<&(usize, TensorInfo)> {
        self.tensors
            .get(name)
            .ok_or_else(|| EngineError::MissingTensor {
                what: self.what.clone(),
                name: name.to_string(),
            })
    }

    fn bad(&self, name: &str, message: String) -> EngineError {
        EngineError::BadTensor {
            what: self.what.clone(),
            name: name.to_string(),
            message,
        }
    }
}

/// Additive changes to a checkpoint's tensors, made as a [`Scope`] loads them.
///
/// This is how a LoRA is merged into the base weights ([`crate::sd::lora::Merge`]): model
/// code loads its layers as usual and never knows whether an adapter is there.
pub trait Deltas {
    /// What to add to tensor `name` (its full name in the file, prefix included), whose
    /// stored shape is `shape`: a tensor with as many elements, in row-major order, or
    /// `None` to leave it as stored. An implementation checks `shape` itself: a mismatch is
    /// an error, never a panic.
    fn delta(&self, name: &str, shape: &[usize], device: &Device) -> Result<Option<Tensor<2>>>;
}

/// A view of a [`SafetensorsFile`] under a name prefix (`transformer.`, `text_model.`, ...),
/// optionally with [`Deltas`] added to what it loads.
///
/// Checkpoints of the same architecture differ in whether their tensor names carry the
/// wrapper's prefix; [`Scope::detect`] picks the one the file uses.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    file: &'a SafetensorsFile<'a>,
    prefix: &'a str,
    deltas: Option<&'a dyn Deltas>,
}

impl<'a> Scope<'a> {
    /// The first of `prefixes` under which `probe` exists in `file`.
    pub fn detect(
        file: &'a SafetensorsFile<'a>,
        prefixes: &[&'a str],
        probe: &str,
    ) -> Result<Self> {
        prefixes
            .iter()
            .find(|prefix| file.contains(&format!("{prefix}{probe}")))
            .map(|prefix| Self {
                file,
                prefix,
                deltas: None,
            })
            .ok_or_else(|| EngineError::MissingTensor {
                what: file.what.clone(),
                name: format!("{}{probe}", prefixes.first().copied().unwrap_or_default()),
            })
    }

    /// The same view, with `deltas` added to every tensor it loads (or `None`: as stored).
    pub fn with_deltas(self, deltas: Option<&'a dyn Deltas>) -> Self {
        Self { deltas, ..self }
    }

    /// Tensor `name` (relative to the prefix), checked against `expected`, plus its delta.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        expected: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        let full = format!("{}{name}", self.prefix);
        let tensor = self.file.tensor(&full, expected, device)?;
        Ok(match self.delta(&full, &expected, device)? {
            Some(delta) => tensor + delta.reshape(expected),
            None => tensor,
        })
    }

    /// Tensor `name` (relative to the prefix) in blocks of at most `block_rows` rows, plus
    /// its delta.
    pub fn row_blocks(
        &self,
        name: &str,
        expected: [usize; 2],
        block_rows: usize,
        device: &Device,
    ) -> Result<Vec<Tensor<2>>> {
        let full = format!("{}{name}", self.prefix);
        let blocks = self.file.row_blocks(&full, expected, block_rows, device)?;
        let Some(delta) = self.delta(&full, &expected, device)? else {
            return Ok(blocks);
        };
        let delta = delta.reshape(expected);
        let mut start = 0;
        Ok(blocks
            .into_iter()
            .map(|block| {
                let rows = block.dims()[0];
                let part = delta.clone().slice_dim(0, start..start + rows);
                start += rows;
                block + part
            })
            .collect())
    }

    /// The delta of the tensor whose full name is `full`, checked to have as many elements
    /// as `shape`.
    fn delta(&self, full: &str, shape: &[usize], device: &Device) -> Result<Option<Tensor<2>>> {
        let Some(deltas) = self.deltas else {
            return Ok(None);
        };
        let delta = deltas.delta(full, shape, device)?;
        if let Some(delta) = &delta
            && delta.dims().iter().product::<usize>() != shape.iter().product::<usize>()
        {
            return Err(self.file.bad(
                full,
                format!(
                    "a delta of shape {:?} cannot be added to shape {shape:?}",
                    delta.dims()
                ),
            ));
        }
        Ok(delta)
    }

    /// Whether tensor `name` (relative to the prefix) exists.
    pub fn contains(&self, name: &str) -> bool {
        self.file.contains(&format!("{}{name}", self.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    fn file(dtype: Dtype, bytes: &[u8], shape: Vec<usize>) -> SafetensorsFile<'static> {
        let view = TensorView::new(dtype, shape, bytes).unwrap();
        let data = safetensors::serialize([("w", view)], None).unwrap();
        SafetensorsFile::from_bytes("test.safetensors", data).unwrap()
    }

    #[test]
    fn half_precision_weights_widen_to_f32() {
        let values = [1.5f32, -2.0, 0.25];
        let f16: Vec<u8> = values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        let bf16: Vec<u8> = values
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect();
        for (dtype, bytes) in [(Dtype::F16, f16), (Dtype::BF16, bf16)] {
            let (read, shape) = file(dtype, &bytes, vec![3]).read_f32("w").unwrap();
            assert_eq!(
                (read.as_slice(), shape.as_slice()),
                (values.as_slice(), [3].as_slice())
            );
        }
    }

    #[test]
    fn missing_tensors_and_wrong_shapes_are_named() {
        let bytes: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let weights = file(Dtype::F32, &bytes, vec![2]);
        let error = weights.read_f32("v").unwrap_err().to_string();
        assert!(
            error.contains("`v`") && error.contains("test.safetensors"),
            "{error}"
        );
        let device = crate::device::Backend::Cpu.device().unwrap();
        let error = weights.tensor("w", [3], &device).unwrap_err().to_string();
        assert!(error.contains("[2]") && error.contains("[3]"), "{error}");
    }

    /// Adds `0, 1, 2, ...` to tensor `t`, or a tensor of the wrong size to `bad`.
    struct Counting;

    impl Deltas for Counting {
        fn delta(&self, name: &str, shape: &[usize], device: &Device) -> Result<Option<Tensor<2>>> {
            let n: usize = shape.iter().product();
            let n = match name {
                "t" => n,
                "bad" => n + 1,
                _ => return Ok(None),
            };
            let values: Vec<f32> = (0..n).map(|i| i as f32).collect();
            Ok(Some(Tensor::from_data(
                TensorData::new(values, [1, n]),
                device,
            )))
        }
    }

    #[test]
    fn deltas_are_added_to_tensors_and_row_blocks_and_checked() {
        let values: Vec<f32> = (0..10).map(|i| i as f32 * 100.0).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let views = ["t", "bad", "other"].map(|name| {
            (
                name,
                TensorView::new(Dtype::F32, vec![5, 2], &bytes).unwrap(),
            )
        });
        let data = safetensors::serialize(views, None).unwrap();
        let file = SafetensorsFile::from_bytes("d.safetensors", data).unwrap();
        let device = crate::device::Backend::Cpu.device().unwrap();
        let scope = Scope::detect(&file, &[""], "t")
            .unwrap()
            .with_deltas(Some(&Counting));
        let expected: Vec<f32> = (0..10).map(|i| i as f32 * 101.0).collect();
        let whole = scope.tensor("t", [5, 2], &device).unwrap();
        assert_eq!(whole.into_data().try_to_vec::<f32>().unwrap(), expected);
        let blocks = scope.row_blocks("t", [5, 2], 2, &device).unwrap();
        assert_eq!(blocks.len(), 3);
        let joined = Tensor::cat(blocks, 0)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(joined, expected);
        let other = scope.tensor("other", [5, 2], &device).unwrap();
        assert_eq!(other.into_data().try_to_vec::<f32>().unwrap(), values);
        let error = scope
            .tensor("bad", [5, 2], &device)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`bad`") && error.contains("[1, 11]"),
            "{error}"
        );
    }

    #[test]
    fn truncated_files_are_refused() {
        let bytes: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = TensorView::new(Dtype::F32, vec![2], &bytes).unwrap();
        let mut data = safetensors::serialize([("w", view)], None).unwrap();
        data.truncate(data.len() - 3);
        assert!(SafetensorsFile::from_bytes("cut.safetensors", data).is_err());
    }
}
