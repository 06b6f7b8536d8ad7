//! What every architecture's decoding shares: the key/value cache, the check of a forward
//! pass's input, and the causal mask.

use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::error::{EngineError, Result};

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

/// Refuses a forward pass of `ids` after `past` cached positions that is empty, runs past the
/// model's `positions`, or names a token outside its `vocab`.
pub(super) fn check_input(ids: &[u32], past: usize, positions: usize, vocab: usize) -> Result<()> {
    if ids.is_empty() {
        return Err(EngineError::argument(
            "messages",
            "the prompt has no tokens",
        ));
    }
    if past + ids.len() > positions {
        return Err(EngineError::argument(
            "generation_config.max_new_tokens",
            format!(
                "prompt and generation need {} positions, the model has {positions}",
                past + ids.len()
            ),
        ));
    }
    if let Some(&bad) = ids.iter().find(|&&id| id as usize >= vocab) {
        return Err(EngineError::argument(
            "prompt",
            format!("token id {bad} is outside the vocabulary"),
        ));
    }
    Ok(())
}

/// `[1, 1, t, past + t]`: true where query `i` must not see key `j` (a later position).
pub(super) fn causal_mask(t: usize, past: usize, device: &Device) -> Tensor<4, Bool> {
    let s = past + t;
    let values: Vec<bool> = (0..t)
        .flat_map(|i| (0..s).map(move |j| j > past + i))
        .collect();
    Tensor::from_data(TensorData::new(values, [1, 1, t, s]), device)
}
