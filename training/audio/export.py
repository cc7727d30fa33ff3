#!/usr/bin/python3
"""Write a training checkpoint as an anytok model directory.

usage: export.py CHECKPOINT OUTDIR [--dtype f16|f32]

OUTDIR/config.json is the model's configuration with "family": "encodec" (as anytok_torch.encodec.EnCodec.save
writes it); OUTDIR/model.safetensors holds every tensor of the state dict under the original EnCodec names
(encoder.model.0.conv.conv.weight_g, quantizer.vq.layers.0._codebook.embed, ...), floating-point tensors in the
chosen precision (default f16: half the size, and decoding differs from f32 by far less than the codec's own
error). The safetensors metadata records the training step, seed and recipe. The directory is loaded back with
EnCodec.load as a check.
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from anytok_torch import safetensors_io  # noqa: E402
from anytok_torch.encodec import EnCodec  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    args = ap.parse_args()
    state = torch.load(args.checkpoint)
    model = EnCodec(**state["config"])
    model.load_state_dict(state["model"])
    if not all(bool(layer._codebook.inited) for layer in model.quantizer.vq.layers):
        sys.exit(f"{args.checkpoint}: the codebooks are not initialised yet (still in the autoencoder warm-up)")

    os.makedirs(args.out, exist_ok=True)
    config = dict(family="encodec", **model.config, seanet=model.seanet)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    dtype = torch.float16 if args.dtype == "f16" else torch.float32
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    metadata = dict(recipe="training/audio/train.sh", step=state["step"], seed=state["args"]["seed"],
                    training_hours=f"{state['elapsed'] / 3600:.2f}")
    path = os.path.join(args.out, "model.safetensors")
    safetensors_io.save(tensors, path, metadata)

    again = EnCodec.load(args.out).state_dict()
    assert all(torch.equal(v.to(dtype).float(), again[k]) for k, v in model.state_dict().items()
               if v.is_floating_point())
    print(f"wrote {args.out}: step {state['step']}, {len(tensors)} tensors, {os.path.getsize(path)} bytes "
          f"({args.dtype})")


if __name__ == "__main__":
    main()
