//! The key/value cache of decoding and the causal mask, shared by every architecture.

use burn::tensor::{Bool, Device, Tensor, TensorData};

/// Keys and values of the positions seen so far, per layer (`[1, kv_heads, seen, head_dim]`).
#[derive(Default)]
pub struct KvCache {
    layers: Vec<(Tensor<4>, Tensor<4>)>,
    seen: usize,
}

impl KvCache {
    /// How many positions the cache holds.
    pub fn len(&self) -> usize {
        self.seen
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }

    /// Appends the new positions' keys and values of `layer` (layers in order, each once per
    /// forward pass) and returns every position's, old and new.
    pub(super) fn extend(
        &mut self,
        layer: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        if let Some((past_k, past_v)) = self.layers.get_mut(layer) {
            *past_k = Tensor::cat(vec![past_k.clone(), k], 2);
            *past_v = Tensor::cat(vec![past_v.clone(), v], 2);
            (past_k.clone(), past_v.clone())
        } else {
            debug_assert_eq!(layer, self.layers.len(), "layers extend in order");
            self.layers.push((k.clone(), v.clone()));
            (k, v)
        }
    }

    /// Records that a forward pass of `tokens` positions has gone through every layer.
    pub(super) fn advance(&mut self, tokens: usize) {
        self.seen += tokens;
    }
}

/// `[1, 1, t, past + t]`: true where query `i` must not see key `j` (a later position).
pub(super) fn causal_mask(t: usize, past: usize, device: &Device) -> Tensor<4, Bool> {
    let s = past + t;
    let values: Vec<bool> = (0..t)
        .flat_map(|i| (0..s).map(move |j| j > past + i))
        .collect();
    Tensor::from_data(TensorData::new(values, [1, 1, t, s]), device)
}
