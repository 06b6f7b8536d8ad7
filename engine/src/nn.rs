//! Small inference-only layers over plain Burn tensors, loaded straight from checkpoints.

use burn::tensor::{Device, Int, Tensor, TensorData, module};

use crate::error::Result;
use crate::weights::Scope;

/// A dense layer `y = x W^T + b` with `W` stored `[out, in]` (PyTorch's `nn.Linear`), or
/// `y = x W + b` with `W` stored `[in, out]` (GPT-2's `Conv1D`); kept as `[in, out]`.
#[derive(Clone, Debug)]
pub struct Linear {
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
}

impl Linear {
    /// Loads PyTorch's `nn.Linear` (`{name}.weight` `[out, in]`, optional `{name}.bias`).
    pub fn torch(
        scope: Scope<'_>,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self> {
        let weight = scope.tensor(&format!("{name}.weight"), [d_out, d_in], device)?;
        let bias_name = format!("{name}.bias");
        let bias = if scope.contains(&bias_name) {
            Some(scope.tensor(&bias_name, [d_out], device)?)
        } else {
            None
        };
        Ok(Self {
            weight: weight.transpose(),
            bias,
        })
    }

    /// Loads GPT-2's `Conv1D` (`{name}.weight` `[in, out]`, `{name}.bias` `[out]`).
    pub fn conv1d(
        scope: Scope<'_>,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            weight: scope.tensor(&format!("{name}.weight"), [d_in, d_out], device)?,
            bias: Some(scope.tensor(&format!("{name}.bias"), [d_out], device)?),
        })
    }

    /// Applies the layer to the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dims = x.dims();
        let d_in = dims[D - 1];
        let rows = dims[..D - 1].iter().product::<usize>();
        let [_, d_out] = self.weight.dims();
        let mut y = x.reshape([rows, d_in]).matmul(self.weight.clone());
        if let Some(bias) = &self.bias {
            y = y + bias.clone().unsqueeze::<2>();
        }
        let mut out_dims = dims;
        out_dims[D - 1] = d_out;
        y.reshape(out_dims)
    }
}

/// The largest buffer every WebGPU device can bind: the guaranteed minimum of
/// `maxStorageBufferBindingSize` (128 MiB), which is also the browser's default limit.
pub const MAX_BINDING_BYTES: usize = 128 << 20;

/// A `[rows, width]` lookup table (a token embedding), kept as row blocks of at most
/// [`MAX_BINDING_BYTES`] each so that a vocabulary of any size fits one GPU buffer per block:
/// SD 1.5's CLIP table (49408 x 768 f32, 152 MB) and GPT-2's (50257 x 768, 154 MB) exceed
/// WebGPU's default binding limit. Tables that fit (every tiny model) stay one block.
#[derive(Clone, Debug)]
pub struct Table {
    blocks: Vec<Tensor<2>>,
    block_rows: usize,
    rows: usize,
}

impl Table {
    /// Loads `name`, checked to be `[rows, width]`.
    pub fn load(
        scope: Scope<'_>,
        name: &str,
        rows: usize,
        width: usize,
        device: &Device,
    ) -> Result<Self> {
        if rows == 0 || width == 0 {
            return Err(crate::error::EngineError::InvalidModel(format!(
                "{name}: an empty table ({rows} x {width})"
            )));
        }
        let block_rows = (MAX_BINDING_BYTES / (width * 4)).max(1);
        Self::load_blocks(scope, name, [rows, width], block_rows, device)
    }

    fn load_blocks(
        scope: Scope<'_>,
        name: &str,
        [rows, width]: [usize; 2],
        block_rows: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            blocks: scope.row_blocks(name, [rows, width], block_rows, device)?,
            block_rows,
            rows,
        })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The rows `ids` (each below [`Table::rows`]) in order, `[ids.len(), width]`.
    pub fn lookup(&self, ids: &[i64], device: &Device) -> Tensor<2> {
        let index = |values: Vec<i64>| {
            let n = values.len();
            Tensor::<1, Int>::from_data(TensorData::new(values, [n]), device)
        };
        if let [block] = self.blocks.as_slice() {
            return block.clone().select(0, index(ids.to_vec()));
        }
        // Gather each block's rows, then put them back in the order asked for.
        let (mut parts, mut order, mut gathered) = (Vec::new(), vec![0i64; ids.len()], 0);
        for (b, block) in self.blocks.iter().enumerate() {
            let start = (b * self.block_rows) as i64;
            let end = start + self.block_rows as i64;
            let local: Vec<i64> = ids
                .iter()
                .enumerate()
                .filter(|&(_, &id)| (start..end).contains(&id))
                .map(|(position, &id)| {
                    order[position] = gathered;
                    gathered += 1;
                    id - start
                })
                .collect();
            if !local.is_empty() {
                parts.push(block.clone().select(0, index(local)));
            }
        }
        Tensor::cat(parts, 0).select(0, index(order))
    }

    /// `x [n, width]` times the table transposed, `[n, rows]`: a tied output projection.
    pub fn matmul_transposed(&self, x: Tensor<2>) -> Tensor<2> {
        let parts: Vec<Tensor<2>> = self
            .blocks
            .iter()
            .map(|block| x.clone().matmul(block.clone().transpose()))
            .collect();
        if parts.len() == 1 {
            parts.into_iter().next().expect("one block")
        } else {
            Tensor::cat(parts, 1)
        }
    }
}

/// Layer normalization over the last dimension.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
}

impl LayerNorm {
    /// Loads `{name}.weight` and `{name}.bias`, both `[dim]`.
    pub fn load(
        scope: Scope<'_>,
        name: &str,
        dim: usize,
        epsilon: f64,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            gamma: scope.tensor(&format!("{name}.weight"), [dim], device)?,
            beta: scope.tensor(&format!("{name}.bias"), [dim], device)?,
            epsilon,
        })
    }

    /// Normalizes the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        module::layer_norm(x, self.gamma.clone(), Some(self.beta.clone()), self.epsilon)
    }
}

/// Root-mean-square normalization over the last dimension (`LlamaRMSNorm`):
/// `weight * x / sqrt(mean(x^2) + eps)`.
#[derive(Clone, Debug)]
pub struct RmsNorm {
    weight: Tensor<1>,
    epsilon: f64,
}

impl RmsNorm {
    /// Loads `{name}.weight`, `[dim]`.
    pub fn load(
        scope: Scope<'_>,
        name: &str,
        dim: usize,
        epsilon: f64,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            weight: scope.tensor(&format!("{name}.weight"), [dim], device)?,
            epsilon,
        })
    }

    /// Normalizes the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let variance = x.clone().powi_scalar(2).mean_dim(D - 1);
        let normalized = x * (variance + self.epsilon).sqrt().recip();
        normalized * self.weight.clone().unsqueeze::<D>()
    }
}

/// `gelu_new` / `gelu_pytorch_tanh`: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let inner =
        (x.clone() + x.clone().powi_scalar(3) * 0.044_715) * (2.0 / std::f64::consts::PI).sqrt();
    x * (inner.tanh() + 1.0) * 0.5
}

/// CLIP's `quick_gelu`: `x * sigmoid(1.702 x)`.
pub fn quick_gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clone() * burn::tensor::activation::sigmoid(x * 1.702)
}

/// A 2-D convolution with PyTorch's `[out, in, kh, kw]` weight and optional bias.
#[derive(Clone, Debug)]
pub struct Conv2d {
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
}

impl Conv2d {
    /// Loads `{name}.weight` `[d_out, d_in, k, k]` and `{name}.bias` `[d_out]`.
    pub fn load(
        scope: Scope<'_>,
        name: &str,
        [d_in, d_out, kernel]: [usize; 3],
        stride: usize,
        device: &Device,
    ) -> Result<Self> {
        let weight = scope.tensor(
            &format!("{name}.weight"),
            [d_out, d_in, kernel, kernel],
            device,
        )?;
        let bias_name = format!("{name}.bias");
        let bias = if scope.contains(&bias_name) {
            Some(scope.tensor(&bias_name, [d_out], device)?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            stride,
            padding: kernel / 2,
        })
    }

    /// Convolves `x` `[batch, in, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let options = burn::tensor::ops::ConvOptions::new(
            [self.stride, self.stride],
            [self.padding, self.padding],
            [1, 1],
            1,
        );
        module::conv2d(x, self.weight.clone(), self.bias.clone(), options)
    }
}

/// Group normalization over `[batch, channels, ...]` with a per-channel affine.
#[derive(Clone, Debug)]
pub struct GroupNorm {
    groups: usize,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
}

impl GroupNorm {
    /// Loads `{name}.weight` and `{name}.bias`, both `[channels]`.
    pub fn load(
        scope: Scope<'_>,
        name: &str,
        groups: usize,
        channels: usize,
        epsilon: f64,
        device: &Device,
    ) -> Result<Self> {
        if groups == 0 || !channels.is_multiple_of(groups) {
            return Err(crate::error::EngineError::InvalidModel(format!(
                "{name}: {channels} channels cannot be split into {groups} groups"
            )));
        }
        Ok(Self {
            groups,
            gamma: scope.tensor(&format!("{name}.weight"), [channels], device)?,
            beta: scope.tensor(&format!("{name}.bias"), [channels], device)?,
            epsilon,
        })
    }

    /// Normalizes `x` `[batch, channels, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let grouped = x.reshape([b, self.groups, (c / self.groups) * h * w]);
        let (var, mean) = grouped.clone().var_mean_bias(2);
        let normalized = (grouped - mean) / (var + self.epsilon).sqrt();
        let normalized = normalized.reshape([b, c, h, w]);
        normalized * self.gamma.clone().reshape([1, c, 1, 1])
            + self.beta.clone().reshape([1, c, 1, 1])
    }
}

/// `silu(x) = x * sigmoid(x)`.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    burn::tensor::activation::silu(x)
}

/// Multi-head scaled dot-product attention over `[batch, len, heads * head_dim]` inputs.
pub fn multi_head_attention(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: usize) -> Tensor<3> {
    let [b, tq, c] = q.dims();
    let [_, tk, _] = k.dims();
    let hd = c / heads;
    let q = q.reshape([b, tq, heads, hd]).swap_dims(1, 2);
    let k = k.reshape([b, tk, heads, hd]).swap_dims(1, 2);
    let v = v.reshape([b, tk, heads, hd]).swap_dims(1, 2);
    let scores = q.matmul(k.swap_dims(2, 3)) * (hd as f64).powf(-0.5);
    burn::tensor::activation::softmax(scores, 3)
        .matmul(v)
        .swap_dims(1, 2)
        .reshape([b, tq, c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::SafetensorsFile;
    use safetensors::{Dtype, tensor::TensorView};

    #[test]
    fn a_table_in_row_blocks_looks_up_and_projects_like_one_tensor() {
        let (rows, width) = (7, 3);
        let values: Vec<f32> = (0..rows * width).map(|i| i as f32 * 0.5 - 4.0).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = TensorView::new(Dtype::F32, vec![rows, width], &bytes).unwrap();
        let data = safetensors::serialize([("t", view)], None).unwrap();
        let file = SafetensorsFile::from_bytes("t.safetensors", data).unwrap();
        let scope = Scope::detect(&file, &[""], "t").unwrap();
        let device = crate::device::Backend::Cpu.device().unwrap();
        let whole = Table::load_blocks(scope, "t", [rows, width], rows, &device).unwrap();
        let split = Table::load_blocks(scope, "t", [rows, width], 3, &device).unwrap();
        assert_eq!((whole.blocks.len(), split.blocks.len()), (1, 3));
        let ids = [6, 0, 3, 3, 5, 1];
        let expected: Vec<f32> = ids
            .iter()
            .flat_map(|&id| values[id as usize * width..(id as usize + 1) * width].to_vec())
            .collect();
        for table in [&whole, &split] {
            let got: Vec<f32> = table
                .lookup(&ids, &device)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            assert_eq!(got, expected);
        }
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, -2.0, 0.5, 0.0, 1.0, 3.0], [2, width]),
            &device,
        );
        let a: Vec<f32> = whole
            .matmul_transposed(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b: Vec<f32> = split
            .matmul_transposed(x)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(a.len(), 2 * rows);
        assert_eq!(a, b);
    }
}
