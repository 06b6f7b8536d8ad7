"""PyTorch side of the engine benchmark (`cargo xtask bench engine` runs both sides): the
same checkpoints and tasks with diffusers + compel and transformers on the CPU, printing the
same `BENCH {json}` lines as `benches/engine.rs` for a side-by-side ratio.

    pip install torch diffusers transformers compel safetensors
    python engine/tools/bench_torch.py [WORKLOAD...] [--shared DIR] [--models DIR]
        [--threads N] [--width N --height N --steps N --images N --runs N --max-new-tokens N]

Workloads: sd-tiny, gpt2-tiny (shared/reference), sd15, gpt2-small (random-weight
checkpoints under --models, written by `examples/random_checkpoint.rs`); the two tiny ones
when none is named. The SD task is the reference `dpm_default` case, its size, steps and
image count overridable. Peak memory is the process's VmHWM: run one workload per process
for a per-workload figure. Threads: torch.set_num_threads(--threads, default all cores).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

parser = argparse.ArgumentParser()
parser.add_argument("workloads", nargs="*", default=["sd-tiny", "gpt2-tiny"])
parser.add_argument("--shared", type=Path, default=Path(os.environ.get("TESSERA_SHARED", Path(__file__).resolve().parents[3] / "shared")))
parser.add_argument("--models", type=Path)
parser.add_argument("--threads", type=int, default=os.cpu_count())
for flag in ["width", "height", "steps", "images", "runs", "max-new-tokens"]:
    parser.add_argument(f"--{flag}", type=int)
args = parser.parse_args()
ref = args.shared / "reference"
torch.set_num_threads(args.threads)
torch.use_deterministic_algorithms(True)


def peak_rss_mib():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None


def median(values):
    """The middle value (the upper one of an even count), as benches/engine.rs takes it."""
    return sorted(values)[len(values) // 2]


def report(value):
    value.update(side="torch", threads=str(torch.get_num_threads()), peak_rss_mib=peak_rss_mib(),
                 versions=f"torch {torch.__version__}")
    print("BENCH " + json.dumps(value), flush=True)


def sd(workload, folder):
    from compel import Compel
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    start = time.perf_counter()
    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=torch.float32, safety_checker=None)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    load = time.perf_counter() - start
    compel = Compel(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, truncate_long_prompts=False)
    task = json.loads((ref / "sd-cases/dpm_default/task.json").read_text())
    c = task["task_config"]
    width = args.width or c["image_width"]
    height = args.height or c["image_height"]
    steps_n = args.steps or c["steps"]
    images = args.images or c["num_images"]
    runs = args.runs or 3
    tasks, steps = [], []
    for run in range(runs):
        run_steps = []
        last = [time.perf_counter()]

        def on_step(pipeline, i, t, kwargs):
            now = time.perf_counter()
            run_steps.append(now - last[0])
            last[0] = now
            return kwargs

        start = time.perf_counter()
        last[0] = start
        with torch.no_grad():
            pos, neg = compel(task["prompt"]), compel(task["negative_prompt"])
            pos, neg = compel.pad_conditioning_tensors_to_same_length([pos, neg])
            g = torch.Generator("cpu").manual_seed(c["seed"])
            for _ in range(images):
                pipe(prompt_embeds=pos, negative_prompt_embeds=neg, width=width, height=height,
                     num_inference_steps=steps_n, guidance_scale=c["cfg"], generator=g,
                     callback_on_step_end=on_step)
                last[0] = time.perf_counter()
        total = time.perf_counter() - start
        step = median(run_steps)
        print(f"torch {workload} run {run}: {images} images x {steps_n} steps at {width}x{height} (cfg {c['cfg']}): "
              f"task {total * 1e3:.1f} ms, median step {step * 1e3:.2f} ms", flush=True)
        tasks.append(total)
        steps.extend(run_steps)
    report(dict(workload=workload, runs=runs, load_s=load, task_s=median(tasks),
                step_s=median(steps),
                settings=f"{width}x{height}, {steps_n} steps, {images} image(s), cfg {c['cfg']}, DPM-Solver++"))


def llm(workload, folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(folder)
    model, info = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, output_loading_info=True)
    missing = [k for k in info.get("missing_keys", []) if "lm_head" not in k]
    if missing or info.get("unexpected_keys") or info.get("mismatched_keys"):
        sys.exit(f"{folder}: the checkpoint does not match the model: {info}")
    model.eval()
    load = time.perf_counter() - start
    max_new = args.max_new_tokens or 64
    prompt = tok.apply_chat_template([{"role": "user", "content": "Tell me a long story."}], tokenize=False,
                                     add_generation_prompt=True)
    ids = tok(prompt, return_tensors="pt").input_ids
    runs = args.runs or 3
    rates, tasks = [], []
    for run in range(runs):
        start = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new, do_sample=False,
                                 min_new_tokens=max_new, pad_token_id=tok.eos_token_id)
        seconds = time.perf_counter() - start
        new = out.shape[1] - ids.shape[1]
        print(f"torch {workload} run {run}: {ids.shape[1]} prompt + {new} new tokens in {seconds * 1e3:.1f} ms: "
              f"{new / seconds:.1f} tokens/s", flush=True)
        rates.append(new / seconds)
        tasks.append(seconds)
    report(dict(workload=workload, runs=runs, load_s=load, task_s=median(tasks),
                tokens_per_s=median(rates),
                settings=f"{ids.shape[1]} prompt + {new} new tokens, greedy"))


def models(name):
    if args.models is None:
        sys.exit(f"{name}: --models DIR is needed for the full-size checkpoints")
    return args.models / name


for workload in args.workloads:
    if workload == "sd-tiny":
        sd(workload, ref / "sd-tiny")
    elif workload == "sd15":
        sd(workload, models("sd15-random"))
    elif workload == "gpt2-tiny":
        llm(workload, ref / "gpt2-tiny")
    elif workload == "gpt2-small":
        llm(workload, models("gpt2-small-random"))
    else:
        sys.exit(f"unknown workload {workload!r}: sd-tiny, sd15, gpt2-tiny, gpt2-small")
