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
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from anytok_torch.recipe import export, export_arguments  # noqa: E402
from anytok_torch.encodec import EnCodec  # noqa: E402


def main():
    args = export_arguments(__doc__)
    state = torch.load(args.checkpoint)
    model = EnCodec(**state["config"])
    model.load_state_dict(state["model"])
    if not all(bool(layer._codebook.inited) for layer in model.quantizer.vq.layers):
        sys.exit(f"{args.checkpoint}: the codebooks are not initialised yet (still in the autoencoder warm-up)")
    export(args, state, model, dict(family="encodec", **model.config, seanet=model.seanet),
           "training/audio/train.sh", EnCodec.load)


if __name__ == "__main__":
    main()
