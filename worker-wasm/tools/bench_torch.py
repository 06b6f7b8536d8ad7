"""PyTorch side of `cargo bench -p worker-wasm --bench engine`: the same tasks with
diffusers + compel and transformers on the CPU, for a side-by-side ratio.

    pip install torch diffusers transformers compel
    python worker-wasm/tools/bench_torch.py [SHARED_DIR]
"""
import json
import sys
import time
from pathlib import Path

import torch
from compel import Compel
from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
from transformers import AutoModelForCausalLM, AutoTokenizer

shared = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared")
ref = shared / "reference"
torch.use_deterministic_algorithms(True)

pipe = StableDiffusionPipeline.from_pretrained(ref / "sd-tiny", torch_dtype=torch.float32, safety_checker=None)
pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
pipe.set_progress_bar_config(disable=True)
compel = Compel(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, truncate_long_prompts=False)
task = json.loads((ref / "sd-cases/dpm_default/task.json").read_text())
c = task["task_config"]
for run in range(3):
    steps = []
    last = [time.perf_counter()]

    def on_step(pipeline, i, t, kwargs):
        now = time.perf_counter()
        steps.append(now - last[0])
        last[0] = now
        return kwargs

    start = time.perf_counter()
    with torch.no_grad():
        pos, neg = compel(task["prompt"]), compel(task["negative_prompt"])
        pos, neg = compel.pad_conditioning_tensors_to_same_length([pos, neg])
        g = torch.Generator("cpu").manual_seed(c["seed"])
        for _ in range(c["num_images"]):
            last[0] = time.perf_counter()
            pipe(prompt_embeds=pos, negative_prompt_embeds=neg, width=c["image_width"], height=c["image_height"],
                 num_inference_steps=c["steps"], guidance_scale=c["cfg"], generator=g,
                 callback_on_step_end=on_step)
    total = time.perf_counter() - start
    steps.sort()
    print(f"torch sd-tiny dpm_default run {run}: task {total * 1e3:.1f} ms, median step {steps[len(steps) // 2] * 1e3:.2f} ms")

tok = AutoTokenizer.from_pretrained(ref / "gpt2-tiny")
model = AutoModelForCausalLM.from_pretrained(ref / "gpt2-tiny", torch_dtype=torch.float32)
prompt = tok.apply_chat_template([{"role": "user", "content": "Tell me a long story."}], tokenize=False, add_generation_prompt=True)
ids = tok(prompt, return_tensors="pt").input_ids
for run in range(3):
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=64, do_sample=False, min_new_tokens=64, pad_token_id=0)
    seconds = time.perf_counter() - start
    new = out.shape[1] - ids.shape[1]
    print(f"torch gpt2-tiny run {run}: {ids.shape[1]} prompt + {new} new tokens in {seconds * 1e3:.1f} ms: {new / seconds:.0f} tokens/s")
