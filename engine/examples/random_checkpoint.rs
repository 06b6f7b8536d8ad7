//! Writes random-weight checkpoints in the layouts real downloads use, for benchmarks at
//! full size without downloading anything:
//!
//! - `sd15`: a `diffusers` Stable Diffusion 1.5 pipeline folder (UNet 320/640/1280/1280,
//!   2 layers per block, cross-attention 768, 8 heads; VAE 128/256/512/512; CLIP text
//!   encoder 768 wide, 12 layers, 12 heads, vocabulary 49408; SD 1.5's configs). The CLIP
//!   tokenizer is copied from `shared/reference/sd-tiny/tokenizer` (its ids are all below
//!   the vocabulary size, which is all the encoder needs).
//! - `gpt2-small`: a transformers GPT-2 folder (12 layers, 768 wide, 12 heads, vocabulary
//!   50257, 1024 positions) with a synthesized byte-level BPE of that size (256 bytes,
//!   50000 merges, `<|endoftext|>` = 50256).
//!
//! ```text
//! cargo run --release -p engine --example random_checkpoint -- sd15|gpt2-small OUT_DIR
//!     [--seed N] [--dtype f32|f16] [--shared DIR]
//! ```
//!
//! Weights are seeded and deterministic: every tensor's values depend only on the seed and
//! the tensor's name. Linear and convolution weights are uniform in `±1/sqrt(fan_in)` (as
//! PyTorch initializes them), embeddings have standard deviation 0.02, norms are ones and
//! zeros, so activations stay in range through every layer. A tensor is generated when it
//! is written, so memory stays at one tensor whatever the checkpoint's size.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use safetensors::{Dtype, View};
use serde_json::json;

const USAGE: &str =
    "usage: random_checkpoint sd15|gpt2-small OUT_DIR [--seed N] [--dtype f32|f16] [--shared DIR]";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut positional, mut seed, mut dtype, mut shared) = (Vec::new(), 0u64, Dtype::F32, None);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seed" => seed = value()?.parse().context("--seed")?,
            "--dtype" => {
                dtype = match value()?.as_str() {
                    "f32" => Dtype::F32,
                    "f16" => Dtype::F16,
                    other => bail!("--dtype {other:?}: f32 or f16"),
                }
            }
            "--shared" => shared = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => positional.push(arg.clone()),
        }
    }
    let [kind, out] = positional.as_slice() else {
        bail!("{USAGE}")
    };
    let out = PathBuf::from(out);
    let shared = shared.map_or_else(locate::try_shared, Ok)?;
    let started = std::time::Instant::now();
    match kind.as_str() {
        "sd15" => write_sd15(&out, seed, dtype, &shared)?,
        "gpt2-small" => write_gpt2_small(&out, seed, dtype)?,
        other => bail!("unknown checkpoint {other:?}\n{USAGE}"),
    }
    eprintln!(
        "wrote {kind} to {} in {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Tensors and their values.

/// How a tensor's values are drawn.
#[derive(Clone, Copy)]
enum Init {
    Ones,
    Zeros,
    /// Uniform in `[-bound, bound]`.
    Uniform(f32),
}

/// A tensor whose bytes are generated when the safetensors writer asks for them.
struct Lazy {
    name: String,
    shape: Vec<usize>,
    init: Init,
    seed: u64,
    dtype: Dtype,
}

impl View for Lazy {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        let count: usize = self.shape.iter().product();
        let mut rng = SplitMix64(self.seed ^ fnv1a(self.name.as_bytes()));
        let mut next = || match self.init {
            Init::Ones => 1.0f32,
            Init::Zeros => 0.0,
            Init::Uniform(bound) => {
                // 24 random bits to [0, 1), then to [-bound, bound).
                let unit = (rng.next() >> 40) as f32 / (1u64 << 24) as f32;
                (unit * 2.0 - 1.0) * bound
            }
        };
        let bytes: Vec<u8> = match self.dtype {
            Dtype::F16 => (0..count)
                .flat_map(|_| half::f16::from_f32(next()).to_le_bytes())
                .collect(),
            _ => (0..count).flat_map(|_| next().to_le_bytes()).collect(),
        };
        Cow::Owned(bytes)
    }

    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * self.dtype.bitsize() / 8
    }
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The tensors of one safetensors file, named as the reference libraries name them.
struct Weights {
    prefix: String,
    tensors: Vec<(String, Vec<usize>, Init)>,
}

const EMBEDDING_STD: f32 = 0.02;

impl Weights {
    fn new() -> Self {
        Self {
            prefix: String::new(),
            tensors: Vec::new(),
        }
    }

    fn push(&mut self, name: &str, shape: &[usize], init: Init) {
        self.tensors
            .push((format!("{}{name}", self.prefix), shape.to_vec(), init));
    }

    /// Runs `f` with `prefix` appended to the current prefix.
    fn scope(&mut self, prefix: &str, f: impl FnOnce(&mut Self)) {
        let saved = self.prefix.clone();
        self.prefix.push_str(prefix);
        f(self);
        self.prefix = saved;
    }

    fn bound(fan_in: usize) -> Init {
        Init::Uniform(1.0 / (fan_in as f32).sqrt())
    }

    /// `nn.Linear(inp, out)`: weight `[out, inp]`.
    fn linear(&mut self, name: &str, out: usize, inp: usize, bias: bool) {
        self.push(&format!("{name}.weight"), &[out, inp], Self::bound(inp));
        if bias {
            self.push(&format!("{name}.bias"), &[out], Self::bound(inp));
        }
    }

    /// GPT-2's `Conv1D(out, inp)`: weight `[inp, out]`.
    fn conv1d(&mut self, name: &str, inp: usize, out: usize) {
        self.push(&format!("{name}.weight"), &[inp, out], Self::bound(inp));
        self.push(&format!("{name}.bias"), &[out], Init::Zeros);
    }

    /// `nn.Conv2d(inp, out, k)`: weight `[out, inp, k, k]`.
    fn conv(&mut self, name: &str, out: usize, inp: usize, k: usize) {
        let fan_in = inp * k * k;
        self.push(
            &format!("{name}.weight"),
            &[out, inp, k, k],
            Self::bound(fan_in),
        );
        self.push(&format!("{name}.bias"), &[out], Self::bound(fan_in));
    }

    /// A group or layer norm over `channels`.
    fn norm(&mut self, name: &str, channels: usize) {
        self.push(&format!("{name}.weight"), &[channels], Init::Ones);
        self.push(&format!("{name}.bias"), &[channels], Init::Zeros);
    }

    fn embedding(&mut self, name: &str, rows: usize, width: usize) {
        self.push(
            &format!("{name}.weight"),
            &[rows, width],
            Init::Uniform(EMBEDDING_STD * 3f32.sqrt()),
        );
    }

    fn parameters(&self) -> usize {
        self.tensors
            .iter()
            .map(|(_, shape, _)| shape.iter().product::<usize>())
            .sum()
    }

    fn write(self, path: &Path, seed: u64, dtype: Dtype) -> Result<()> {
        let count = self.parameters();
        let views = self.tensors.into_iter().map(|(name, shape, init)| {
            let view = Lazy {
                name: name.clone(),
                shape,
                init,
                seed,
                dtype,
            };
            (name, view)
        });
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        safetensors::serialize_to_file(views, Some(metadata), path)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("  {}: {count} parameters", path.display());
        Ok(())
    }
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))
}

// ---------------------------------------------------------------------------------------
// Stable Diffusion 1.5.

const UNET_CHANNELS: [usize; 4] = [320, 640, 1280, 1280];
const VAE_CHANNELS: [usize; 4] = [128, 256, 512, 512];
const LAYERS_PER_BLOCK: usize = 2;
const CROSS_ATTENTION_DIM: usize = 768;
const CLIP_VOCAB: usize = 49408;
const CLIP_WIDTH: usize = 768;
const CLIP_LAYERS: usize = 12;
const CLIP_HEADS: usize = 12;
const CLIP_POSITIONS: usize = 77;
const CLIP_INTERMEDIATE: usize = 3072;

fn write_sd15(out: &Path, seed: u64, dtype: Dtype, shared: &Path) -> Result<()> {
    for folder in ["unet", "vae", "text_encoder", "tokenizer", "scheduler"] {
        create_dir(&out.join(folder))?;
    }
    let tokenizer = shared.join("reference/sd-tiny/tokenizer");
    for file in [
        "vocab.json",
        "merges.txt",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(tokenizer.join(file), out.join("tokenizer").join(file)).with_context(
            || {
                format!(
                    "copying the CLIP tokenizer from {} (set --shared or TESSERA_SHARED)",
                    tokenizer.display()
                )
            },
        )?;
    }
    write_json(&out.join("model_index.json"), &sd15_model_index())?;
    write_json(
        &out.join("scheduler/scheduler_config.json"),
        &sd15_scheduler(),
    )?;
    write_json(&out.join("unet/config.json"), &sd15_unet_config())?;
    write_json(&out.join("vae/config.json"), &sd15_vae_config())?;
    write_json(&out.join("text_encoder/config.json"), &sd15_clip_config())?;
    clip_weights().write(&out.join("text_encoder/model.safetensors"), seed, dtype)?;
    vae_weights().write(
        &out.join("vae/diffusion_pytorch_model.safetensors"),
        seed,
        dtype,
    )?;
    unet_weights().write(
        &out.join("unet/diffusion_pytorch_model.safetensors"),
        seed,
        dtype,
    )?;
    Ok(())
}

fn sd15_model_index() -> serde_json::Value {
    json!({
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": "0.6.0",
        "feature_extractor": [null, null],
        "requires_safety_checker": false,
        "safety_checker": [null, null],
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]
    })
}

fn sd15_scheduler() -> serde_json::Value {
    json!({
        "_class_name": "PNDMScheduler",
        "_diffusers_version": "0.6.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "num_train_timesteps": 1000,
        "set_alpha_to_one": false,
        "skip_prk_steps": true,
        "steps_offset": 1,
        "trained_betas": null,
        "clip_sample": false
    })
}

fn sd15_unet_config() -> serde_json::Value {
    json!({
        "_class_name": "UNet2DConditionModel",
        "_diffusers_version": "0.6.0",
        "act_fn": "silu",
        "attention_head_dim": 8,
        "block_out_channels": UNET_CHANNELS,
        "center_input_sample": false,
        "cross_attention_dim": CROSS_ATTENTION_DIM,
        "down_block_types": [
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "DownBlock2D"
        ],
        "downsample_padding": 1,
        "flip_sin_to_cos": true,
        "freq_shift": 0,
        "in_channels": 4,
        "layers_per_block": LAYERS_PER_BLOCK,
        "mid_block_scale_factor": 1,
        "norm_eps": 1e-05,
        "norm_num_groups": 32,
        "out_channels": 4,
        "sample_size": 64,
        "up_block_types": [
            "UpBlock2D",
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D"
        ]
    })
}

fn sd15_vae_config() -> serde_json::Value {
    json!({
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.6.0",
        "act_fn": "silu",
        "block_out_channels": VAE_CHANNELS,
        "down_block_types": vec!["DownEncoderBlock2D"; 4],
        "in_channels": 3,
        "latent_channels": 4,
        "layers_per_block": LAYERS_PER_BLOCK,
        "norm_num_groups": 32,
        "out_channels": 3,
        "sample_size": 512,
        "up_block_types": vec!["UpDecoderBlock2D"; 4]
    })
}

fn sd15_clip_config() -> serde_json::Value {
    json!({
        "_name_or_path": "openai/clip-vit-large-patch14",
        "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "dropout": 0.0,
        "eos_token_id": 2,
        "hidden_act": "quick_gelu",
        "hidden_size": CLIP_WIDTH,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": CLIP_INTERMEDIATE,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": CLIP_POSITIONS,
        "model_type": "clip_text_model",
        "num_attention_heads": CLIP_HEADS,
        "num_hidden_layers": CLIP_LAYERS,
        "pad_token_id": 1,
        "projection_dim": 768,
        "torch_dtype": "float32",
        "vocab_size": CLIP_VOCAB
    })
}

/// `CLIPTextModel` under the `text_model.` prefix, as SD 1.5's own file names it.
fn clip_weights() -> Weights {
    let mut w = Weights::new();
    let d = CLIP_WIDTH;
    w.scope("text_model.", |w| {
        w.embedding("embeddings.token_embedding", CLIP_VOCAB, d);
        w.embedding("embeddings.position_embedding", CLIP_POSITIONS, d);
        for layer in 0..CLIP_LAYERS {
            w.scope(&format!("encoder.layers.{layer}."), |w| {
                for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    w.linear(&format!("self_attn.{proj}"), d, d, true);
                }
                w.norm("layer_norm1", d);
                w.linear("mlp.fc1", CLIP_INTERMEDIATE, d, true);
                w.linear("mlp.fc2", d, CLIP_INTERMEDIATE, true);
                w.norm("layer_norm2", d);
            });
        }
        w.norm("final_layer_norm", d);
    });
    w
}

/// A `ResnetBlock2D`; `temb` is the time-embedding width, if any.
fn resnet(w: &mut Weights, name: &str, inp: usize, out: usize, temb: Option<usize>) {
    w.scope(&format!("{name}."), |w| {
        w.norm("norm1", inp);
        w.conv("conv1", out, inp, 3);
        if let Some(temb) = temb {
            w.linear("time_emb_proj", out, temb, true);
        }
        w.norm("norm2", out);
        w.conv("conv2", out, out, 3);
        if inp != out {
            w.conv("conv_shortcut", out, inp, 1);
        }
    });
}

/// A `Transformer2DModel` with one `BasicTransformerBlock` (1x1-convolution projections).
fn transformer(w: &mut Weights, name: &str, c: usize) {
    w.scope(&format!("{name}."), |w| {
        w.norm("norm", c);
        w.conv("proj_in", c, c, 1);
        w.scope("transformer_blocks.0.", |w| {
            w.norm("norm1", c);
            for (attn, context) in [("attn1", c), ("attn2", CROSS_ATTENTION_DIM)] {
                w.linear(&format!("{attn}.to_q"), c, c, false);
                w.linear(&format!("{attn}.to_k"), c, context, false);
                w.linear(&format!("{attn}.to_v"), c, context, false);
                w.linear(&format!("{attn}.to_out.0"), c, c, true);
            }
            w.norm("norm2", c);
            w.norm("norm3", c);
            w.linear("ff.net.0.proj", 8 * c, c, true);
            w.linear("ff.net.2", c, 4 * c, true);
        });
        w.conv("proj_out", c, c, 1);
    });
}

/// `UNet2DConditionModel` with SD 1.5's configuration, named as `diffusers` names it.
fn unet_weights() -> Weights {
    let mut w = Weights::new();
    let channels = UNET_CHANNELS;
    let temb = 4 * channels[0];
    let levels = channels.len();
    let cross_down = |i: usize| i + 1 < levels;
    let cross_up = |i: usize| i > 0;
    w.conv("conv_in", channels[0], 4, 3);
    w.linear("time_embedding.linear_1", temb, channels[0], true);
    w.linear("time_embedding.linear_2", temb, temb, true);
    let mut inp = channels[0];
    for (i, &out) in channels.iter().enumerate() {
        w.scope(&format!("down_blocks.{i}."), |w| {
            for j in 0..LAYERS_PER_BLOCK {
                let from = if j == 0 { inp } else { out };
                resnet(w, &format!("resnets.{j}"), from, out, Some(temb));
                if cross_down(i) {
                    transformer(w, &format!("attentions.{j}"), out);
                }
            }
            if i + 1 < levels {
                w.conv("downsamplers.0.conv", out, out, 3);
            }
        });
        inp = out;
    }
    let mid = channels[levels - 1];
    w.scope("mid_block.", |w| {
        resnet(w, "resnets.0", mid, mid, Some(temb));
        transformer(w, "attentions.0", mid);
        resnet(w, "resnets.1", mid, mid, Some(temb));
    });
    let reversed: Vec<usize> = channels.iter().rev().copied().collect();
    let mut output = reversed[0];
    for i in 0..levels {
        let prev = output;
        output = reversed[i];
        let input = reversed[(i + 1).min(levels - 1)];
        w.scope(&format!("up_blocks.{i}."), |w| {
            for j in 0..=LAYERS_PER_BLOCK {
                let skip = if j == LAYERS_PER_BLOCK { input } else { output };
                let from = if j == 0 { prev } else { output };
                resnet(w, &format!("resnets.{j}"), from + skip, output, Some(temb));
                if cross_up(i) {
                    transformer(w, &format!("attentions.{j}"), output);
                }
            }
            if i + 1 < levels {
                w.conv("upsamplers.0.conv", output, output, 3);
            }
        });
    }
    w.norm("conv_norm_out", channels[0]);
    w.conv("conv_out", 4, channels[0], 3);
    w
}

/// The VAE's single-head mid-block attention.
fn vae_attention(w: &mut Weights, name: &str, c: usize) {
    w.scope(&format!("{name}."), |w| {
        w.norm("group_norm", c);
        for proj in ["to_q", "to_k", "to_v", "to_out.0"] {
            w.linear(proj, c, c, true);
        }
    });
}

fn vae_mid(w: &mut Weights, c: usize) {
    w.scope("mid_block.", |w| {
        resnet(w, "resnets.0", c, c, None);
        vae_attention(w, "attentions.0", c);
        resnet(w, "resnets.1", c, c, None);
    });
}

/// `AutoencoderKL` with SD 1.5's configuration: encoder, decoder and both 1x1 convolutions.
fn vae_weights() -> Weights {
    let mut w = Weights::new();
    let channels = VAE_CHANNELS;
    let levels = channels.len();
    let top = channels[levels - 1];
    w.scope("encoder.", |w| {
        w.conv("conv_in", channels[0], 3, 3);
        let mut inp = channels[0];
        for (i, &out) in channels.iter().enumerate() {
            w.scope(&format!("down_blocks.{i}."), |w| {
                for j in 0..LAYERS_PER_BLOCK {
                    let from = if j == 0 { inp } else { out };
                    resnet(w, &format!("resnets.{j}"), from, out, None);
                }
                if i + 1 < levels {
                    w.conv("downsamplers.0.conv", out, out, 3);
                }
            });
            inp = out;
        }
        vae_mid(w, top);
        w.norm("conv_norm_out", top);
        w.conv("conv_out", 8, top, 3);
    });
    w.scope("decoder.", |w| {
        w.conv("conv_in", top, 4, 3);
        vae_mid(w, top);
        let reversed: Vec<usize> = channels.iter().rev().copied().collect();
        let mut prev = reversed[0];
        for (i, &output) in reversed.iter().enumerate() {
            w.scope(&format!("up_blocks.{i}."), |w| {
                for j in 0..=LAYERS_PER_BLOCK {
                    let from = if j == 0 { prev } else { output };
                    resnet(w, &format!("resnets.{j}"), from, output, None);
                }
                if i + 1 < levels {
                    w.conv("upsamplers.0.conv", output, output, 3);
                }
            });
            prev = output;
        }
        w.norm("conv_norm_out", channels[0]);
        w.conv("conv_out", 3, channels[0], 3);
    });
    w.conv("quant_conv", 8, 8, 1);
    w.conv("post_quant_conv", 4, 4, 1);
    w
}

// ---------------------------------------------------------------------------------------
// GPT-2 small.

const GPT2_VOCAB: usize = 50257;
const GPT2_WIDTH: usize = 768;
const GPT2_LAYERS: usize = 12;
const GPT2_HEADS: usize = 12;
const GPT2_POSITIONS: usize = 1024;
const GPT2_EOS: usize = GPT2_VOCAB - 1;
const CHAT_TEMPLATE: &str = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

fn write_gpt2_small(out: &Path, seed: u64, dtype: Dtype) -> Result<()> {
    create_dir(out)?;
    write_json(
        &out.join("config.json"),
        &json!({
            "activation_function": "gelu_new",
            "architectures": ["GPT2LMHeadModel"],
            "attn_pdrop": 0.1,
            "bos_token_id": GPT2_EOS,
            "embd_pdrop": 0.1,
            "eos_token_id": GPT2_EOS,
            "initializer_range": 0.02,
            "layer_norm_epsilon": 1e-05,
            "model_type": "gpt2",
            "n_ctx": GPT2_POSITIONS,
            "n_embd": GPT2_WIDTH,
            "n_head": GPT2_HEADS,
            "n_inner": null,
            "n_layer": GPT2_LAYERS,
            "n_positions": GPT2_POSITIONS,
            "resid_pdrop": 0.1,
            "scale_attn_weights": true,
            "summary_activation": null,
            "summary_first_dropout": 0.1,
            "summary_proj_to_labels": true,
            "summary_type": "cls_index",
            "summary_use_proj": true,
            "tie_word_embeddings": true,
            "use_cache": true,
            "vocab_size": GPT2_VOCAB
        }),
    )?;
    write_json(
        &out.join("generation_config.json"),
        &json!({"bos_token_id": GPT2_EOS, "eos_token_id": GPT2_EOS}),
    )?;
    write_json(
        &out.join("tokenizer_config.json"),
        &json!({
            "backend": "tokenizers",
            "bos_token": "<|endoftext|>",
            "eos_token": "<|endoftext|>",
            "model_max_length": GPT2_POSITIONS,
            "tokenizer_class": "TokenizersBackend"
        }),
    )?;
    std::fs::write(out.join("chat_template.jinja"), CHAT_TEMPLATE)?;
    let (vocab, merges) = byte_level_bpe(GPT2_VOCAB - 257);
    let mut vocab_json = serde_json::Map::new();
    for (id, token) in vocab.iter().enumerate() {
        vocab_json.insert(token.clone(), json!(id));
    }
    vocab_json.insert("<|endoftext|>".into(), json!(GPT2_EOS));
    let vocab_json = serde_json::Value::Object(vocab_json);
    write_json(&out.join("vocab.json"), &vocab_json)?;
    let merges_txt: String = std::iter::once("#version: 0.2".to_string())
        .chain(merges.iter().map(|(a, b)| format!("{a} {b}")))
        .map(|line| line + "\n")
        .collect();
    std::fs::write(out.join("merges.txt"), merges_txt)?;
    let byte_level = |prefix: bool, trim: bool| json!({"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": trim, "use_regex": true});
    write_json(
        &out.join("tokenizer.json"),
        &json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [{
                "id": GPT2_EOS, "content": "<|endoftext|>", "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false, "special": true
            }],
            "normalizer": null,
            "pre_tokenizer": byte_level(false, true),
            "post_processor": byte_level(true, false),
            "decoder": byte_level(true, true),
            "model": {
                "type": "BPE", "dropout": null, "unk_token": null,
                "continuing_subword_prefix": null, "end_of_word_suffix": null,
                "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab_json,
                "merges": merges.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>()
            }
        }),
    )?;
    let mut w = Weights::new();
    let d = GPT2_WIDTH;
    w.scope("transformer.", |w| {
        w.embedding("wte", GPT2_VOCAB, d);
        w.embedding("wpe", GPT2_POSITIONS, d);
        for layer in 0..GPT2_LAYERS {
            w.scope(&format!("h.{layer}."), |w| {
                w.norm("ln_1", d);
                w.conv1d("attn.c_attn", d, 3 * d);
                w.conv1d("attn.c_proj", d, d);
                w.norm("ln_2", d);
                w.conv1d("mlp.c_fc", d, 4 * d);
                w.conv1d("mlp.c_proj", 4 * d, d);
            });
        }
        w.norm("ln_f", d);
    });
    w.write(&out.join("model.safetensors"), seed, dtype)
}

/// GPT-2's byte-to-character map (`bytes_to_unicode`), in its order: printable bytes
/// first, then the rest mapped to U+0100 onwards.
fn bytes_to_unicode() -> Vec<char> {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut chars: Vec<char> = (0..256u32)
        .filter(|&b| printable(b))
        .filter_map(char::from_u32)
        .collect();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable(b) {
            chars.extend(char::from_u32(256 + extra));
            extra += 1;
        }
    }
    chars
}

/// A byte-level BPE with the 256 byte symbols and `merge_count` merges of symbol pairs,
/// space-prefixed letters and lower-case letters first, so English text tokenizes into
/// two-byte pieces.
fn byte_level_bpe(merge_count: usize) -> (Vec<String>, Vec<(String, String)>) {
    let symbols = bytes_to_unicode();
    let rank = |c: char| match c {
        'Ġ' => 0,
        'a'..='z' => 1,
        'A'..='Z' => 2,
        '0'..='9' => 3,
        _ if c.is_ascii() => 4,
        _ => 5,
    };
    let mut ordered = symbols.clone();
    ordered.sort_by_key(|&c| rank(c));
    let mut vocab: Vec<String> = symbols.iter().map(char::to_string).collect();
    let mut merges = Vec::with_capacity(merge_count);
    'outer: for &a in &ordered {
        for &b in &ordered {
            if merges.len() == merge_count {
                break 'outer;
            }
            merges.push((a.to_string(), b.to_string()));
            vocab.push(format!("{a}{b}"));
        }
    }
    (vocab, merges)
}
