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
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from anytok_torch.recipe import export, export_arguments  # noqa: E402
from anytok_torch.vqgan import VQGAN  # noqa: E402


def main():
    args = export_arguments(__doc__)
    state = torch.load(args.checkpoint)
    if not state["vq"]["inited"]:
        sys.exit(f"{args.checkpoint}: the codebook is not initialised yet (still in the autoencoder warm-up)")
    model = VQGAN(**state["config"])
    model.load_state_dict(state["model"])
    config = dict(family="vqgan", ddconfig=state["config"]["ddconfig"], n_embed=state["config"]["n_embed"],
                  embed_dim=state["config"]["embed_dim"], preprocess="taming")
    export(args, state, model, config, "training/image/train.sh", VQGAN.load)


if __name__ == "__main__":
    main()
