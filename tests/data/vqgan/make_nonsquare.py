#!/usr/bin/python3
"""Expected outputs of the taming-tiny golden VQ-GAN on a non-square input, computed by the project's PyTorch
VQ-GAN (training/anytok_torch/vqgan.py, itself checked against the upstream golden cases).

Writes nonsquare.safetensors: input [1,3,48,80], z, codes [1,12,20], recon."""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "training"))
from anytok_torch import safetensors_io  # noqa: E402
from anytok_torch.vqgan import VQGAN  # noqa: E402

torch.manual_seed(7)
model = VQGAN.load(os.path.join(HERE, "..", "golden", "vqgan-taming-tiny"))
pixels = torch.randint(0, 256, (1, 3, 48, 80), dtype=torch.uint8)
x = pixels.float() / 127.5 - 1
with torch.no_grad():
    z = model.latents(x)
    codes = model.quantize.codes(z)
    recon = model.decode(codes)
safetensors_io.save({"input": x, "z": z, "codes": codes, "recon": recon}, os.path.join(HERE, "nonsquare.safetensors"))
