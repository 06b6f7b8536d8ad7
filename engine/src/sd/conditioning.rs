//! Prompt conditioning as the reference worker builds it with Compel 2.x
//! (`Compel(tokenizer, text_encoder, truncate_long_prompts=False)`): weighted fragments,
//! 75-token chunks each wrapped in start/end tokens and padded to 77, weights above 1
//! applied as `empty + (z - empty) * w`, weights below 1 by blending towards the prompt with
//! that fragment masked out (`tan((1 - w) pi / 2)`), and conditionings of different
//! lengths padded with the empty prompt's.

use burn::tensor::{Tensor, TensorData};

use super::prompt::{self, Fragment};
use super::text_encoder::{ClipTextEncoder, Output};
use crate::error::{EngineError, Result};
use crate::tokenizer::ClipTokenizer;

/// Builds conditioning tensors from prompts.
pub struct Conditioner<'a> {
    tokenizer: &'a ClipTokenizer,
    encoder: &'a ClipTextEncoder,
    /// Which hidden state becomes the conditioning.
    output: Output,
    /// Tokens per chunk, start and end included (77).
    chunk: usize,
    empty: Tensor<3>,
}

/// A prompt's tokens, chunked and padded, with per-token weights and the attention mask.
struct Chunked {
    ids: Vec<u32>,
    weights: Vec<f32>,
    mask: Vec<bool>,
}

impl<'a> Conditioner<'a> {
    /// Prepares a conditioner on the last normalized hidden state (Stable Diffusion 1.x;
    /// encodes the empty chunk once).
    pub fn new(tokenizer: &'a ClipTokenizer, encoder: &'a ClipTextEncoder) -> Result<Self> {
        Self::with_output(tokenizer, encoder, Output::LastNormalized)
    }

    /// Prepares a conditioner on `output` (SDXL's encoders: the penultimate hidden state,
    /// not normalized, as `CompelForSDXL` asks for).
    pub fn with_output(
        tokenizer: &'a ClipTokenizer,
        encoder: &'a ClipTextEncoder,
        output: Output,
    ) -> Result<Self> {
        let chunk = encoder.max_positions();
        let mut ids = vec![tokenizer.bos(), tokenizer.eos()];
        ids.resize(chunk, tokenizer.pad());
        let empty = encoder.encode(&[ids], None, output)?;
        Ok(Self {
            tokenizer,
            encoder,
            output,
            chunk,
            empty,
        })
    }

    /// `compel.build_conditioning_tensor(prompt)`: `[1, chunks * 77, hidden]`.
    pub fn encode(&self, text: &str) -> Result<Tensor<3>> {
        let mut fragments = prompt::parse(text);
        if fragments.is_empty() {
            fragments.push(Fragment {
                text: String::new(),
                weight: 1.0,
            });
        }
        let per_fragment: Vec<Vec<u32>> = fragments
            .iter()
            .map(|f| self.tokenizer.encode(&f.text))
            .collect();
        let chunked = self.chunk_and_pad(&fragments, &per_fragment);
        let base = self.weighted_embedding(&chunked, &chunked.mask)?;
        let mut embeddings = vec![base];
        let mut blend = vec![1.0f64];
        let ranges = self.fragment_ranges(&chunked.ids, &per_fragment)?;
        for (fragment, range) in fragments.iter().zip(&ranges) {
            if fragment.weight >= 1.0 {
                continue;
            }
            let mut mask = chunked.mask.clone();
            if let Some((start, end)) = range {
                for flag in &mut mask[*start..=*end] {
                    *flag = false;
                }
            }
            // Chunk-delimiting start/end markers stay visible.
            for (i, flag) in mask.iter_mut().enumerate() {
                if i % self.chunk == 0 || i % self.chunk == self.chunk - 1 {
                    *flag = true;
                }
            }
            embeddings.push(self.weighted_embedding(&chunked, &mask)?);
            let w = fragment.weight.max(1e-5);
            blend.push(((1.0 - w) * std::f64::consts::PI / 2.0).tan());
        }
        if embeddings.len() == 1 {
            return Ok(embeddings.remove(0));
        }
        let total: f32 = blend.iter().map(|&w| w as f32).sum();
        let mut blended: Option<Tensor<3>> = None;
        for (embedding, weight) in embeddings.into_iter().zip(blend) {
            let term = embedding * ((weight as f32) / total);
            blended = Some(match blended {
                Some(sum) => sum + term,
                None => term,
            });
        }
        Ok(blended.expect("at least the base embedding"))
    }

    /// Pads a conditioning to `len` tokens (a multiple of the chunk) with the empty prompt's
    /// embedding (`pad_conditioning_tensors_to_same_length`).
    pub fn pad_to(&self, conditioning: Tensor<3>, len: usize) -> Tensor<3> {
        let missing = len.saturating_sub(conditioning.dims()[1]) / self.chunk;
        if missing == 0 {
            return conditioning;
        }
        let mut parts = vec![conditioning];
        parts.extend(std::iter::repeat_n(self.empty.clone(), missing));
        Tensor::cat(parts, 1)
    }

    /// The token ids the pooled embedding reads (compel's `get_pooled_embeddings`): the
    /// prompt as plain text, weights syntax and all, truncated to one chunk and padded.
    pub fn pooled_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.tokenizer.bos()];
        ids.extend(self.tokenizer.encode(text).into_iter().take(self.chunk - 2));
        ids.push(self.tokenizer.eos());
        ids.resize(self.chunk, self.tokenizer.pad());
        ids
    }

    /// `_chunk_and_pad_token_ids` with `truncate=False` and sentence-aware splitting.
    fn chunk_and_pad(&self, fragments: &[Fragment], per_fragment: &[Vec<u32>]) -> Chunked {
        let mut ids = Vec::new();
        let mut weights = Vec::new();
        for (fragment, tokens) in fragments.iter().zip(per_fragment) {
            ids.extend_from_slice(tokens);
            weights.extend(std::iter::repeat_n(fragment.weight as f32, tokens.len()));
        }
        let body = self.chunk - 2;
        let mut out = Chunked {
            ids: vec![],
            weights: vec![],
            mask: vec![],
        };
        let mut rest = 0;
        loop {
            let split = self.split_point(&ids[rest..], body);
            let end = (rest + split).min(ids.len());
            out.ids.push(self.tokenizer.bos());
            out.ids.extend_from_slice(&ids[rest..end]);
            out.ids.push(self.tokenizer.eos());
            out.weights.push(1.0);
            out.weights.extend_from_slice(&weights[rest..end]);
            out.weights.push(1.0);
            let padded = out.ids.len().div_ceil(self.chunk) * self.chunk;
            out.weights.resize(padded, 1.0);
            out.ids.resize(padded, self.tokenizer.pad());
            out.mask.resize(padded, true);
            rest = end;
            if rest >= ids.len() {
                break out;
            }
        }
    }

    /// `_find_next_best_split_point` in `SENTENCES` mode, falling back to phrases, words,
    /// and finally a hard cut.
    fn split_point(&self, ids: &[u32], max: usize) -> usize {
        if ids.len() <= max {
            return max;
        }
        let pieces: Vec<Option<&str>> = ids[..max]
            .iter()
            .map(|&id| self.tokenizer.token(id))
            .collect();
        let find = |accept: &dyn Fn(&str) -> bool| {
            pieces.iter().rposition(|piece| piece.is_some_and(accept))
        };
        find(&|t| t == ".</w>")
            .or_else(|| find(&|t| matches!(t, ".</w>" | ",</w>" | ";</w>" | ":</w>")))
            .or_else(|| find(&|t| t.ends_with("</w>")))
            .map_or(max, |index| index + 1)
    }

    /// `_get_token_ranges_for_fragments`: where each fragment's tokens sit in the chunked ids.
    fn fragment_ranges(
        &self,
        ids: &[u32],
        per_fragment: &[Vec<u32>],
    ) -> Result<Vec<Option<(usize, usize)>>> {
        let markers = [
            self.tokenizer.bos(),
            self.tokenizer.eos(),
            self.tokenizer.pad(),
        ];
        let mut start = 0;
        let mut ranges = Vec::new();
        for tokens in per_fragment {
            let Some(&first) = tokens.first() else {
                ranges.push(None);
                continue;
            };
            while start < ids.len() - 1 && ids[start] != first {
                start += 1;
            }
            let mut end = start;
            let mut matched = 0;
            loop {
                if end >= ids.len() - 1 {
                    return Err(EngineError::argument(
                        "prompt",
                        "cannot locate a weighted fragment's tokens",
                    ));
                }
                if ids[end] == tokens[matched] {
                    matched += 1;
                    if matched == tokens.len() {
                        break;
                    }
                    end += 1;
                } else if markers.contains(&ids[end]) {
                    end += 1;
                } else {
                    return Err(EngineError::argument(
                        "prompt",
                        "cannot locate a weighted fragment's tokens",
                    ));
                }
            }
            ranges.push(Some((start, end)));
            start = end + 1;
        }
        Ok(ranges)
    }

    /// `build_weighted_embedding_tensor`: encodes chunk by chunk, moving weighted tokens
    /// away from the empty prompt's embedding.
    fn weighted_embedding(&self, chunked: &Chunked, mask: &[bool]) -> Result<Tensor<3>> {
        let device = self.empty.device();
        let hidden = self.encoder.hidden_size();
        let mut parts = Vec::new();
        for start in (0..chunked.ids.len()).step_by(self.chunk) {
            let range = start..start + self.chunk;
            let z = self.encoder.encode(
                &[chunked.ids[range.clone()].to_vec()],
                Some(&[mask[range.clone()].to_vec()]),
                self.output,
            )?;
            let weights = &chunked.weights[range];
            if weights.iter().all(|&w| w == 1.0) {
                parts.push(z);
                continue;
            }
            let w = Tensor::<3>::from_data(
                TensorData::new(weights.to_vec(), [1, self.chunk, 1]),
                &device,
            )
            .expand([1, self.chunk, hidden]);
            let identity = w.clone().equal_elem(1.0);
            let weighted = self.empty.clone() + (z.clone() - self.empty.clone()) * w;
            parts.push(weighted.mask_where(identity, z));
        }
        Ok(Tensor::cat(parts, 1))
    }
}
