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
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from anytok_torch.recipe import export, export_arguments  # noqa: E402
from anytok_torch.seq2seq import Seq2Seq  # noqa: E402


def main():
    args = export_arguments(__doc__)
    state = torch.load(args.checkpoint)
    model = Seq2Seq(state["config"])
    model.load_state_dict(state["model"])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(state["layout"], f, indent=1)
        f.write("\n")
    export(args, state, model, dict(family="seq2seq", **state["config"], vocab="vocab.json"),
           "training/seq2seq/train.sh", Seq2Seq.load)


if __name__ == "__main__":
    main()
