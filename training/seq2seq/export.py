#!/usr/bin/python3
"""Write a training checkpoint as an anytok sequence model directory (format v1, family "seq2seq").

usage: export.py CHECKPOINT OUTDIR [--dtype f16|f32]

OUTDIR/config.json is the model's configuration with "family": "seq2seq" and "vocab": "vocab.json";
OUTDIR/vocab.json is the vocabulary layout the training data was made with (the sidecar's "layout", which is what
`anytok vocab --json` prints), so that anytok builds inputs and constrains outputs with the ids the model learnt;
OUTDIR/model.safetensors holds the state dict (embed.weight, transformer.*), floating-point tensors in the chosen
precision (default f16: half the size; anytok widens them once at load). The safetensors metadata records the
training step, seed and recipe. The directory is loaded back with Seq2Seq.load as a check.
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from anytok_torch import safetensors_io  # noqa: E402
from anytok_torch.seq2seq import Seq2Seq  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    args = ap.parse_args()
    state = torch.load(args.checkpoint)
    model = Seq2Seq(state["config"])
    model.load_state_dict(state["model"])

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(state["layout"], f, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(dict(family="seq2seq", **state["config"], vocab="vocab.json"), f, indent=1)
        f.write("\n")
    dtype = torch.float16 if args.dtype == "f16" else torch.float32
    tensors = {k: v.to(dtype) for k, v in model.state_dict().items()}
    metadata = dict(recipe="training/seq2seq/train.sh", step=state["step"], seed=state["args"]["seed"],
                    training_hours=f"{state['elapsed'] / 3600:.2f}")
    path = os.path.join(args.out, "model.safetensors")
    safetensors_io.save(tensors, path, metadata)

    again = Seq2Seq.load(args.out).state_dict()
    assert again.keys() == tensors.keys() and all(torch.equal(v.float(), again[k]) for k, v in tensors.items())
    n = sum(v.numel() for v in tensors.values())
    print(f"wrote {args.out}: step {state['step']}, {len(tensors)} tensors, {n / 1e6:.2f} M parameters, "
          f"{os.path.getsize(path)} bytes ({args.dtype})")


if __name__ == "__main__":
    main()
