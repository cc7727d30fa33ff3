#!/usr/bin/python3
"""Checks the PyTorch EnCodec against the upstream golden cases (tests/data/golden/encodec-*), with the
tolerances of tests/data/golden/README.md: codes equal wherever upstream's margin is ≥ 1e-3 and one of
nearest/runner_up below it (a frame's later codebooks stop being comparable at its first disagreement), and
decoding the golden codes within 1e-4 of upstream. Also checks that save() → load() keeps every tensor.

    /usr/bin/python3 training/anytok_torch/check_encodec_golden.py
"""
import os
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from anytok_torch import safetensors_io  # noqa: E402
from anytok_torch.encodec import EnCodec  # noqa: E402

GOLDEN = os.path.join(HERE, "..", "..", "tests", "data", "golden")
CASES = ("encodec-24k-tiny", "encodec-48k-tiny")


def check(name):
    model_dir = os.path.join(GOLDEN, name)
    model = EnCodec.load(model_dir)
    case, _ = safetensors_io.load(os.path.join(model_dir, "case.safetensors"))
    with torch.no_grad():
        codes, scales = model.encode(case["input"])
        decoded = model.decode(case["codes"], case.get("scales"))
    assert codes.shape == case["codes"].shape, (codes.shape, case["codes"].shape)
    differs = codes != case["codes"]
    # Once a frame's code differs, its later codebooks quantize another residual.
    comparable = differs.long().cumsum(1) - differs.long() == 0
    near = case["margin"] < 1e-3
    either = (codes == case["nearest"]) | (codes == case["runner_up"])
    assert not (comparable & differs & ~near).any(), f"{name}: codes differ away from a near-tie"
    assert not (comparable & differs & ~either).any(), f"{name}: a near-tie code is neither nearest nor runner-up"
    if "scales" in case:
        assert scales is not None and torch.allclose(scales, case["scales"], rtol=1e-5, atol=0), f"{name}: scales"
    assert decoded.shape == case["decoded"].shape, (decoded.shape, case["decoded"].shape)
    err = (decoded - case["decoded"]).abs().max().item()
    assert err <= 1e-4, f"{name}: decoded differs by {err:.3g}"

    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        again = EnCodec.load(tmp).state_dict()
    assert all(torch.equal(v, again[k]) for k, v in model.state_dict().items()), f"{name}: save/load round trip"

    print(f"{name}: codes {int((comparable & ~differs).sum())}/{int(comparable.sum())} comparable equal "
          f"({int(differs.sum())} differ, {int(near.sum())} near-ties), "
          f"{'scales equal, ' if 'scales' in case else ''}decoded max abs error {err:.3g}")


if __name__ == "__main__":
    for name in CASES:
        check(name)
    print("ok")
