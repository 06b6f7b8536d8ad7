//! Building blocks shared by the UNet and the VAE (`diffusers` layout and names).

use burn::tensor::{
    Device, Tensor, module::interpolate, ops::InterpolateMode, ops::InterpolateOptions,
};

use crate::error::Result;
use crate::nn::{Conv2d, GroupNorm, LayerNorm, Linear, multi_head_attention, silu};
use crate::weights::Scope;

/// `ResnetBlock2D` with the default `resnet_time_scale_shift`.
pub(super) struct ResnetBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    time_emb_proj: Option<Linear>,
    norm2: GroupNorm,
    conv2: Conv2d,
    conv_shortcut: Option<Conv2d>,
}

/// Shape parameters of a [`ResnetBlock`].
#[derive(Clone, Copy)]
pub(super) struct ResnetShape {
    /// Input channels.
    pub d_in: usize,
    /// Output channels.
    pub d_out: usize,
    /// Time-embedding width, or `None` (VAE).
    pub temb: Option<usize>,
    /// Group-norm groups.
    pub groups: usize,
    /// Group-norm epsilon.
    pub eps: f64,
}

impl ResnetBlock {
    /// Loads the block at `name`.
    pub(super) fn load(
        scope: Scope<'_>,
        name: &str,
        shape: ResnetShape,
        device: &Device,
    ) -> Result<Self> {
        let ResnetShape {
            d_in,
            d_out,
            temb,
            groups,
            eps,
        } = shape;
        let conv_shortcut = if d_in != d_out {
            Some(Conv2d::load(
                scope,
                &format!("{name}.conv_shortcut"),
                [d_in, d_out, 1],
                1,
                device,
            )?)
        } else {
            None
        };
        Ok(Self {
            norm1: GroupNorm::load(scope, &format!("{name}.norm1"), groups, d_in, eps, device)?,
            conv1: Conv2d::load(scope, &format!("{name}.conv1"), [d_in, d_out, 3], 1, device)?,
            time_emb_proj: temb
                .map(|t| Linear::torch(scope, &format!("{name}.time_emb_proj"), t, d_out, device))
                .transpose()?,
            norm2: GroupNorm::load(scope, &format!("{name}.norm2"), groups, d_out, eps, device)?,
            conv2: Conv2d::load(
                scope,
                &format!("{name}.conv2"),
                [d_out, d_out, 3],
                1,
                device,
            )?,
            conv_shortcut,
        })
    }

    /// `x` `[b, c, h, w]`; `temb` `[b, t]` is the raw time embedding (SiLU is applied here).
    pub(super) fn forward(&self, x: Tensor<4>, temb: Option<&Tensor<2>>) -> Tensor<4> {
        let mut h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        if let (Some(proj), Some(temb)) = (&self.time_emb_proj, temb) {
            let t = proj.forward(silu(temb.clone()));
            let [b, c] = t.dims();
            h = h + t.reshape([b, c, 1, 1]);
        }
        let h = self.conv2.forward(silu(self.norm2.forward(h)));
        let shortcut = match &self.conv_shortcut {
            Some(conv) => conv.forward(x),
            None => x,
        };
        shortcut + h
    }
}

/// `Downsample2D`: a stride-2 3x3 convolution.
pub(super) struct Downsample {
    conv: Conv2d,
}

impl Downsample {
    /// Loads `{name}.conv`.
    pub(super) fn load(
        scope: Scope<'_>,
        name: &str,
        channels: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            conv: Conv2d::load(
                scope,
                &format!("{name}.conv"),
                [channels, channels, 3],
                2,
                device,
            )?,
        })
    }

    /// Halves the spatial size.
    pub(super) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(x)
    }
}

/// `Upsample2D`: nearest-neighbour x2, then a 3x3 convolution.
pub(super) struct Upsample {
    conv: Conv2d,
}

impl Upsample {
    /// Loads `{name}.conv`.
    pub(super) fn load(
        scope: Scope<'_>,
        name: &str,
        channels: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            conv: Conv2d::load(
                scope,
                &format!("{name}.conv"),
                [channels, channels, 3],
                1,
                device,
            )?,
        })
    }

    /// Doubles the spatial size.
    pub(super) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let up = interpolate(
            x,
            InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([2 * h, 2 * w]),
        );
        self.conv.forward(up)
    }
}

/// `diffusers`' `Attention` projections: `to_q`, `to_k`, `to_v`, `to_out.0`.
pub(super) struct AttentionProjections {
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
    heads: usize,
}

impl AttentionProjections {
    /// Loads the attention at `name`: queries from `dim`, keys and values from `kv_dim`.
    pub(super) fn load(
        scope: Scope<'_>,
        name: &str,
        [dim, kv_dim, heads]: [usize; 3],
        device: &Device,
    ) -> Result<Self> {
        let (q, k, v, out) = if scope.contains(&format!("{name}.query.weight")) {
            ("query", "key", "value", "proj_attn") // older VAE checkpoints
        } else {
            ("to_q", "to_k", "to_v", "to_out.0")
        };
        Ok(Self {
            to_q: Linear::torch(scope, &format!("{name}.{q}"), dim, dim, device)?,
            to_k: Linear::torch(scope, &format!("{name}.{k}"), kv_dim, dim, device)?,
            to_v: Linear::torch(scope, &format!("{name}.{v}"), kv_dim, dim, device)?,
            to_out: Linear::torch(scope, &format!("{name}.{out}"), dim, dim, device)?,
            heads,
        })
    }

    /// Attends from `x` `[b, n, dim]` to `context` (or to itself).
    pub(super) fn forward(&self, x: Tensor<3>, context: Option<&Tensor<3>>) -> Tensor<3> {
        let context = context.cloned().unwrap_or_else(|| x.clone());
        let q = self.to_q.forward(x);
        let k = self.to_k.forward(context.clone());
        let v = self.to_v.forward(context);
        self.to_out
            .forward(multi_head_attention(q, k, v, self.heads))
    }
}

/// The VAE's single-head spatial self-attention (`UNetMidBlock2D`'s attention).
pub(super) struct SpatialSelfAttention {
    group_norm: GroupNorm,
    attention: AttentionProjections,
}

impl SpatialSelfAttention {
    /// Loads the attention at `name` over `channels` channels.
    pub(super) fn load(
        scope: Scope<'_>,
        name: &str,
        channels: usize,
        groups: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            group_norm: GroupNorm::load(
                scope,
                &format!("{name}.group_norm"),
                groups,
                channels,
                1e-6,
                device,
            )?,
            attention: AttentionProjections::load(scope, name, [channels, channels, 1], device)?,
        })
    }

    /// Residual self-attention over the pixels of `x` `[b, c, h, w]`.
    pub(super) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let seq = self
            .group_norm
            .forward(x.clone())
            .reshape([b, c, h * w])
            .swap_dims(1, 2);
        let out = self
            .attention
            .forward(seq, None)
            .swap_dims(1, 2)
            .reshape([b, c, h, w]);
        out + x
    }
}

/// `Transformer2DModel` with one or more `BasicTransformerBlock`s (self-attention,
/// cross-attention, GEGLU feed-forward).
pub(super) struct SpatialTransformer {
    norm: GroupNorm,
    proj_in: Projection,
    blocks: Vec<TransformerBlock>,
    proj_out: Projection,
}

enum Projection {
    Conv(Conv2d),
    Linear(Linear),
}

struct TransformerBlock {
    norm1: LayerNorm,
    attn1: AttentionProjections,
    norm2: LayerNorm,
    attn2: AttentionProjections,
    norm3: LayerNorm,
    ff_in: Linear,
    ff_out: Linear,
}

/// Shape parameters of a [`SpatialTransformer`].
#[derive(Clone, Copy)]
pub(super) struct TransformerShape {
    /// Channels.
    pub channels: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of the text embeddings.
    pub cross_dim: usize,
    /// Number of transformer blocks.
    pub layers: usize,
    /// Group-norm groups.
    pub groups: usize,
    /// `use_linear_projection`.
    pub linear_projection: bool,
}

impl SpatialTransformer {
    /// Loads the transformer at `name`.
    pub(super) fn load(
        scope: Scope<'_>,
        name: &str,
        shape: TransformerShape,
        device: &Device,
    ) -> Result<Self> {
        let c = shape.channels;
        let projection = |which: &str| -> Result<Projection> {
            let full = format!("{name}.{which}");
            Ok(if shape.linear_projection {
                Projection::Linear(Linear::torch(scope, &full, c, c, device)?)
            } else {
                Projection::Conv(Conv2d::load(scope, &full, [c, c, 1], 1, device)?)
            })
        };
        let blocks = (0..shape.layers)
            .map(|i| {
                let p = format!("{name}.transformer_blocks.{i}");
                let ln = |n: &str| LayerNorm::load(scope, &format!("{p}.{n}"), c, 1e-5, device);
                Ok(TransformerBlock {
                    norm1: ln("norm1")?,
                    attn1: AttentionProjections::load(
                        scope,
                        &format!("{p}.attn1"),
                        [c, c, shape.heads],
                        device,
                    )?,
                    norm2: ln("norm2")?,
                    attn2: AttentionProjections::load(
                        scope,
                        &format!("{p}.attn2"),
                        [c, shape.cross_dim, shape.heads],
                        device,
                    )?,
                    norm3: ln("norm3")?,
                    ff_in: Linear::torch(scope, &format!("{p}.ff.net.0.proj"), c, 8 * c, device)?,
                    ff_out: Linear::torch(scope, &format!("{p}.ff.net.2"), 4 * c, c, device)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            norm: GroupNorm::load(
                scope,
                &format!("{name}.norm"),
                shape.groups,
                c,
                1e-6,
                device,
            )?,
            proj_in: projection("proj_in")?,
            blocks,
            proj_out: projection("proj_out")?,
        })
    }

    /// `x` `[b, c, h, w]` attending to `context` `[b, n, cross_dim]`.
    pub(super) fn forward(&self, x: Tensor<4>, context: &Tensor<3>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let normed = self.norm.forward(x.clone());
        let to_seq = |t: Tensor<4>| t.reshape([b, c, h * w]).swap_dims(1, 2);
        let mut seq = match &self.proj_in {
            Projection::Conv(conv) => to_seq(conv.forward(normed)),
            Projection::Linear(linear) => linear.forward(to_seq(normed)),
        };
        for block in &self.blocks {
            seq = block.attn1.forward(block.norm1.forward(seq.clone()), None) + seq;
            seq = block
                .attn2
                .forward(block.norm2.forward(seq.clone()), Some(context))
                + seq;
            let hidden = block.ff_in.forward(block.norm3.forward(seq.clone()));
            let [_, n, two_inner] = hidden.dims();
            let inner = two_inner / 2;
            let value = hidden.clone().slice([0..b, 0..n, 0..inner]);
            let gate = hidden.slice([0..b, 0..n, inner..two_inner]);
            seq = block
                .ff_out
                .forward(value * burn::tensor::activation::gelu(gate))
                + seq;
        }
        let to_image = |t: Tensor<3>| t.swap_dims(1, 2).reshape([b, c, h, w]);
        let out = match &self.proj_out {
            Projection::Conv(conv) => conv.forward(to_image(seq)),
            Projection::Linear(linear) => to_image(linear.forward(seq)),
        };
        out + x
    }
}
