#!/usr/bin/python3
"""Write a training checkpoint as an anytok model directory.

usage: export.py CHECKPOINT OUTDIR [--dtype f16|f32]

OUTDIR/config.json is the model's configuration with "family": "vqgan" and "preprocess": "taming" (the
preparation the model was trained and measured with); OUTDIR/model.safetensors holds the state dict under
taming-transformers' names (encoder.down.0.block.0.conv1.weight, quantize.embedding.weight, ...), in the chosen
precision (default f16: half the size; decoding differs from f32 by far less than the tokenizer's own error, and
evaluate.py measures the exported file). The codebook's moving averages stay in the checkpoint. The safetensors
metadata records the training step, seed and recipe. The directory is loaded back with VQGAN.load as a check.
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from anytok_torch import safetensors_io  # noqa: E402
from anytok_torch.vqgan import VQGAN  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    args = ap.parse_args()
    state = torch.load(args.checkpoint)
    if not state["vq"]["inited"]:
        sys.exit(f"{args.checkpoint}: the codebook is not initialised yet (still in the autoencoder warm-up)")
    model = VQGAN(**state["config"])
    model.load_state_dict(state["model"])

    os.makedirs(args.out, exist_ok=True)
    config = dict(family="vqgan", ddconfig=state["config"]["ddconfig"], n_embed=state["config"]["n_embed"],
                  embed_dim=state["config"]["embed_dim"], preprocess="taming")
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    dtype = torch.float16 if args.dtype == "f16" else torch.float32
    tensors = {k: v.to(dtype) for k, v in model.state_dict().items()}
    metadata = dict(recipe="training/image/train.sh", step=state["step"], seed=state["args"]["seed"],
                    training_hours=f"{state['elapsed'] / 3600:.2f}")
    path = os.path.join(args.out, "model.safetensors")
    safetensors_io.save(tensors, path, metadata)

    again = VQGAN.load(args.out).state_dict()
    assert sorted(again) == sorted(tensors)
    assert all(torch.equal(v.to(dtype).float(), again[k]) for k, v in model.state_dict().items())
    print(f"wrote {args.out}: step {state['step']}, {len(tensors)} tensors, {os.path.getsize(path)} bytes "
          f"({args.dtype})")


if __name__ == "__main__":
    main()
