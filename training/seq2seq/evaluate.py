#!/usr/bin/python3
"""Check an exported sequence model: the C++ runtime against PyTorch, then the demo world's held-out metrics.

usage: evaluate.py MODEL_DIR DATA_DIR --image-model DIR --audio-model DIR --bandwidth KBPS
                   [--anytok build/anytok] [--parity 2] [--parity-tokens 300] [--demo-seed 1000]
                   [--demo-count 100] [--json results.json]

1. Agreement. For the first --parity held-out examples of each task (DATA_DIR/valid, scenes of a seed never
   trained on), greedy decoding in PyTorch (Seq2Seq.load of MODEL_DIR, recomputing the whole target at each step)
   and in anytok (`anytok generate --model MODEL_DIR --input-ids ... --greedy`, KV-cached) must give the same ids,
   up to eos or --parity-tokens new ids. No output constraint is used on either side, and the input ids are the
   preprocessed dataset's, so the check is about the model alone.
2. Quality. `anytok demo --model MODEL_DIR --image-model DIR --audio-model DIR --bandwidth KBPS --seed 1000
   --count N --eval --json` runs the model on N scenes of the demo's own held-out world (seed 1000, never trained or
   validated on) through the five tasks and prints one JSON object: "tasks" with each task's metrics (caption
   attribute_accuracy and exact_match, detect mean_iou, generate-image shows_requested_colours and objects_shown,
   speak log_mel_distance and round_trip_exact_match, transcribe exact_match) and "floors", a list of
   {task, metric, floor, value, met}. Every floor listed must be met, and the three of FLOORS must be among them
   (caption attribute accuracy 0.90, detection mean IoU 0.70, generated pictures showing the requested colours
   0.80), so that a demo that stopped reporting one cannot pass. --demo-tasks limits the tasks (the floors of the
   tasks left out are then not required).

Prints a report; exits with status 1 when a check fails. --json writes every measurement.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import dataset  # noqa: E402
from anytok_torch.seq2seq import Seq2Seq  # noqa: E402

# The floors `anytok demo --eval --json` must report, and report met, for a model to ship. The demo owns their
# values (world/metrics); these are the ones this recipe was written against.
FLOORS = {("caption", "attribute_accuracy"): 0.90, ("detect", "mean_iou"): 0.70,
          ("generate-image", "shows_requested_colours"): 0.80}


def parity(args, model, valid):
    """[(task, example index, PyTorch ids, anytok ids, seconds of each)] for the first --parity examples per task
    that fit the model's positions."""
    rows = []
    limit = model.config["max_positions"]
    for t, name in enumerate(dataset.TASKS):
        fits = np.flatnonzero((valid.task == t) & (valid.source_length <= limit))[:args.parity]
        for i in fits:
            src, _ = valid.example(i)
            new = min(args.parity_tokens, limit)
            start = time.time()
            ours = model.greedy(torch.from_numpy(src)[None], new)[0]
            torch_s = time.time() - start
            start = time.time()
            out = subprocess.run([args.anytok, "generate", "--model", args.model, "--input-ids",
                                  " ".join(str(int(x)) for x in src), "--greedy", "--max-new-tokens", str(new),
                                  "--threads", "1"], check=True, capture_output=True, text=True)
            theirs = json.loads(out.stdout)["tokens"]
            rows.append((name, int(i), ours, theirs, torch_s, time.time() - start))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--image-model", required=True)
    ap.add_argument("--audio-model", required=True)
    ap.add_argument("--bandwidth", required=True)
    ap.add_argument("--anytok", default="build/anytok")
    ap.add_argument("--parity", type=int, default=2, help="held-out examples of each task decoded on both sides")
    ap.add_argument("--parity-tokens", type=int, default=300, help="most new ids compared per example")
    ap.add_argument("--demo-seed", type=int, default=1000)
    ap.add_argument("--demo-count", type=int, default=100)
    ap.add_argument("--demo-tasks", help="comma-separated tasks for anytok demo (default: all five)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    failures, results = [], {}

    model = Seq2Seq.load(args.model)
    valid = dataset.Pairs([os.path.join(args.data, "valid")])
    with open(os.path.join(args.model, "vocab.json"), encoding="utf-8") as f:
        if json.load(f) != valid.layout:
            failures.append(f"{args.model}/vocab.json is not the layout of {args.data}/valid")
    rows = parity(args, model, valid)
    print(f"{args.model}: greedy decoding, PyTorch against anytok, held-out examples of {args.data}/valid")
    print("task            example  new ids  same   PyTorch s  anytok s  first ids")
    for name, i, ours, theirs, ts, cs in rows:
        same = ours == theirs
        print(f"{name:15s} {i:7d}  {len(ours):7d}  {'yes' if same else 'NO':4s}  {ts:10.2f}  {cs:8.2f}  "
              f"{' '.join(str(x) for x in ours[:8])}")
        if not same:
            at = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            failures.append(f"{name} example {i}: PyTorch and anytok differ at new id {at} "
                            f"({ours[at:at + 4]} against {theirs[at:at + 4]})")
    results["parity"] = [dict(task=n, example=i, torch=o, anytok=c, same=o == c) for n, i, o, c, _, _ in rows]

    cmd = [args.anytok, "demo", "--model", args.model, "--image-model", args.image_model, "--audio-model",
           args.audio_model, "--bandwidth", str(args.bandwidth), "--seed", str(args.demo_seed), "--count",
           str(args.demo_count), "--threads", str(args.threads), "--eval", "--json"]
    if args.demo_tasks:
        cmd += ["--tasks", args.demo_tasks]
    print("+ " + " ".join(cmd), flush=True)
    demo = subprocess.run(cmd, capture_output=True, text=True)
    if demo.returncode != 0:
        failures.append(f"anytok demo failed (status {demo.returncode}): {demo.stderr.strip()[-500:]}")
    else:
        metrics = json.loads(demo.stdout)
        results["demo"] = metrics
        print(f"anytok demo, {metrics.get('scenes')} scenes of seed {metrics.get('seed')}:")
        for task, values in metrics.get("tasks", {}).items():
            print(f"  {task:15s} " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
        reported = {(f["task"], f["metric"]): f for f in metrics.get("floors", [])}
        asked = set(args.demo_tasks.split(",")) if args.demo_tasks else None
        for task, metric in FLOORS:
            if (task, metric) not in reported and (asked is None or task in asked):
                failures.append(f"anytok demo reported no floor for {task} {metric}")
        for (task, metric), f in reported.items():
            floor = max(f["floor"], FLOORS.get((task, metric), f["floor"]))
            met = f["met"] and f["value"] >= floor
            print(f"  floor {task} {metric} {floor}: {f['value']:.4f} {'met' if met else 'NOT MET'}")
            if not met:
                failures.append(f"{task} {metric} {f['value']:.4f} is below the floor {floor}")

    results["failures"] = failures
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
