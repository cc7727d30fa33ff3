#!/usr/bin/python3
"""A tiny seq2seq model with random weights over the demo world's layout for the golden test models, so that the
tests can run `anytok demo` end to end and check the gallery it writes. Its outputs are noise; only their
structure is tested. Run it with Debian's own Python from the repository root, after building anytok:

    /usr/bin/python3 tests/data/demo/make_model.py

It writes tests/data/demo/seq2seq/: config.json, vocab.json (the layout `anytok vocab --json` gives for the
golden vqgan-taming-tiny and encodec-24k-tiny models at 9 kbps) and model.safetensors (f16).
"""
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "training"))
from anytok_torch.seq2seq import Seq2Seq  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "data", "golden")


def main():
    layout = json.loads(subprocess.run(
        [os.path.join(ROOT, "build", "anytok"), "vocab", "--json",
         "--image-model", os.path.join(GOLDEN, "vqgan-taming-tiny"),
         "--audio-model", os.path.join(GOLDEN, "encodec-24k-tiny"), "--bandwidth", "9"],
        check=True, capture_output=True, text=True).stdout)
    size = layout["size"]
    config = dict(family="seq2seq", d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                  dim_feedforward=32, activation="gelu", norm_first=True, layer_norm_eps=1e-5, vocab_size=size,
                  max_positions=8192, positions="sinusoidal", scale_embeddings=True, tie_embeddings=True,
                  bos_id=2, eos_id=3, pad_id=0, vocab="vocab.json")
    torch.manual_seed(1)
    model = Seq2Seq(config)
    folder = os.path.join(HERE, "seq2seq")
    os.makedirs(folder, exist_ok=True)
    model.half().save(folder)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump(layout, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
