#!/usr/bin/python3
"""Measure an image model directory on the held-out images, in PyTorch and with the C++ runtime.

usage: evaluate.py MODEL_DIR DATA_DIR [--anytok build/anytok] [--floor 22] [--tolerance 0.1] [--json out.json]

Held-out sets (build_data.py), none of them ever trained on:
  photos  scikit-image's colour sample photographs (DATA_DIR/eval/photos); the floor is checked on their mean
  gray    scikit-image's grayscale sample photographs as RGB (DATA_DIR/eval/gray); reported only
  world   demo-world scenes of the held-out seed (DATA_DIR/world-eval)

Each image is prepared as the runtime's "taming" preprocessing does (short side resized to the model's resolution
with cv2.resize INTER_LINEAR, centre crop), coded and decoded with anytok_torch.vqgan.VQGAN, turned back into 8-bit
pixels as the runtime does (clip to [-1, 1], (x + 1)·127.5, round half away from zero) and compared with the
prepared input: PSNR = 10·log10(255² / MSE) over all pixels and channels, averaged over the images of a set
(a mean of per-image dB, as the runtime prints them). Codebook usage: how many of the codes occur in a set's code
grids, and their perplexity exp(H) of the codes' empirical distribution.

Also reported, in PyTorch only: the held-out photographs at their own resolution, as every whole tile of the
model's resolution in a grid from the top-left corner (no resizing, so no aliasing from shrinking the photograph);
a photograph's figure is the mean PSNR of its tiles, the set's the mean over photographs.

With --anytok, `anytok reconstruct` codes the same files and `anytok tokenize` gives their codes; the mean PSNR of
every set must agree with PyTorch's within --tolerance dB, and the share of codes that agree is reported. The
script fails (exit 1) when they do not agree, or when the mean PSNR of the held-out photographs (PyTorch or C++)
is below --floor.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import imaging  # noqa: E402
from anytok_torch.vqgan import VQGAN  # noqa: E402

LINE = re.compile(r"^(?P<file>.*): \d+x\d+ → \d+x\d+ codes, PSNR (?P<psnr>\S+) dB, SSIM (?P<ssim>\S+)$")


def mean(values):
    return sum(values) / len(values)


def usage(codes, k):
    counts = np.bincount(np.concatenate([c.ravel() for c in codes]), minlength=k).astype(np.float64)
    p = counts / counts.sum()
    nz = p[p > 0]
    return int((counts > 0).sum()), float(np.exp(-(nz * np.log(nz)).sum()))


def held_out_files(data_dir):
    sets = {"photos": sorted(glob.glob(os.path.join(data_dir, "eval", "photos", "*.png"))),
            "gray": sorted(glob.glob(os.path.join(data_dir, "eval", "gray", "*.png")))}
    world_dir = os.path.join(data_dir, "world-eval")
    if os.path.exists(os.path.join(world_dir, "scenes.jsonl")):
        with open(os.path.join(world_dir, "scenes.jsonl"), encoding="utf-8") as f:
            sets["world"] = [os.path.join(world_dir, json.loads(line)["image"]) for line in f]
    return {k: v for k, v in sets.items() if v}


@torch.no_grad()
def measure(model, files, batch=32):
    """{file: (psnr, codes [h, w])} with PyTorch."""
    resolution = model.ddconfig["resolution"]
    out = {}
    for i in range(0, len(files), batch):
        chunk = files[i:i + batch]
        ref = np.stack([imaging.prepare_taming(imaging.read_rgb(f), resolution) for f in chunk])
        codes = model.encode(imaging.to_tensor(ref))
        rec = imaging.to_uint8(model.decode(codes))
        for f, a, b, c in zip(chunk, ref, rec, codes):
            out[f] = (imaging.psnr(a, b), c.numpy())
    return out


@torch.no_grad()
def measure_tiles(model, files, batch=64):
    """{file: (mean tile PSNR, tiles)}: the photograph at its own resolution cut into whole tiles of the model's
    resolution, each coded and decoded."""
    r = model.ddconfig["resolution"]
    out = {}
    for f in files:
        rgb = imaging.read_rgb(f)
        tiles = [rgb[y:y + r, x:x + r] for y in range(0, rgb.shape[0] - r + 1, r)
                 for x in range(0, rgb.shape[1] - r + 1, r)]
        values = []
        for i in range(0, len(tiles), batch):
            ref = np.stack(tiles[i:i + batch])
            rec = imaging.to_uint8(model.decode(model.encode(imaging.to_tensor(ref))))
            values += [imaging.psnr(a, b) for a, b in zip(ref, rec)]
        out[f] = (mean(values), len(values))
    return out


def run_anytok(anytok, model_dir, files, threads):
    """{file: (psnr, ssim, codes [h, w])} from anytok reconstruct and anytok tokenize."""
    out = subprocess.run([anytok, "reconstruct", *files, "--image-model", model_dir, "--threads", str(threads)],
                         capture_output=True, text=True, check=True).stdout
    measured = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            measured[m["file"]] = (float(m["psnr"]), float(m["ssim"]))
    if sorted(measured) != sorted(files):
        sys.exit(f"anytok reconstruct reported {len(measured)} of {len(files)} files:\n{out[-2000:]}")
    out = subprocess.run([anytok, "tokenize", *files, "--image-model", model_dir, "--threads", str(threads)],
                         capture_output=True, text=True, check=True).stdout
    codes = {}
    for line in out.splitlines():
        record = json.loads(line)
        codes[record["input"]] = np.array(record["codes"])
    return {f: (*measured[f], codes[f]) for f in files}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("data_dir")
    ap.add_argument("--anytok", help="the anytok binary, to check the C++ runtime against PyTorch")
    ap.add_argument("--floor", type=float, default=22.0, help="minimum mean PSNR (dB) of the held-out photographs")
    ap.add_argument("--tolerance", type=float, default=0.1, help="dB the C++ and PyTorch means may differ by")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = VQGAN.load(args.model)
    k = model.n_embed
    sets = held_out_files(args.data_dir)
    py = {name: measure(model, files) for name, files in sets.items()}
    cpp = {name: run_anytok(args.anytok, args.model, files, args.threads) for name, files in sets.items()} \
        if args.anytok else {}

    dd = model.ddconfig
    factor = 2 ** (len(dd["ch_mult"]) - 1)
    grid = dd["resolution"] // factor
    print(f"{args.model}: {dd['resolution']}x{dd['resolution']} → {grid}x{grid} codes of {k}; held-out: "
          + ", ".join(f"{name} {len(files)}" for name, files in sets.items()))
    print("set     images  PSNR dB (PyTorch)  PSNR dB (anytok)  per-image C++−PyTorch dB  codes equal  codes used"
          "  perplexity")
    failed = False
    for name, files in sets.items():
        p = mean([py[name][f][0] for f in files])
        used, ppl = usage([py[name][f][1] for f in files], k)
        line = f"{name:7s} {len(files):6d}  {p:17.2f}"
        if cpp:
            c = mean([cpp[name][f][0] for f in files])
            d = [cpp[name][f][0] - py[name][f][0] for f in files]
            equal = mean([float((cpp[name][f][2] == py[name][f][1]).mean()) for f in files])
            line += f"  {c:16.2f}  {min(d):+11.3f} to {max(d):+.3f}  {100 * equal:10.2f}%"
            if abs(c - p) > args.tolerance:
                line += "   FAIL: means differ by more than the tolerance"
                failed = True
        else:
            line += "  " + " " * 16 + "  " + " " * 25 + "  " + " " * 11
        print(line + f"  {used:10d}  {ppl:10.1f}")
    all_codes = [v[1] for name in sets for v in py[name].values()]
    used, ppl = usage(all_codes, k)
    print(f"all held-out images: {used} of {k} codes used, perplexity {ppl:.1f}")
    print("photos: " + ", ".join(f"{os.path.splitext(os.path.basename(f))[0]} {py['photos'][f][0]:.2f}"
                                 for f in sets["photos"]))
    print("gray: " + ", ".join(f"{os.path.splitext(os.path.basename(f))[0]} {py['gray'][f][0]:.2f}"
                               for f in sets.get("gray", [])))
    tiles = measure_tiles(model, sets["photos"])
    tiles_mean = mean([v[0] for v in tiles.values()])
    print(f"photos at their own resolution, {sum(v[1] for v in tiles.values())} tiles of {dd['resolution']}x"
          f"{dd['resolution']}: mean PSNR {tiles_mean:.2f} dB (PyTorch); "
          + ", ".join(f"{os.path.splitext(os.path.basename(f))[0]} {v[0]:.2f}" for f, v in tiles.items()))
    if cpp:
        print(f"C++ and PyTorch agree when their mean PSNR differs by at most {args.tolerance} dB in every set")
    photos = mean([py["photos"][f][0] for f in sets["photos"]])
    checks = [("PyTorch", photos)] + ([("anytok", mean([cpp["photos"][f][0] for f in sets["photos"]]))] if cpp else [])
    for who, value in checks:
        if value < args.floor:
            print(f"FAIL: held-out photographs' mean PSNR {value:.2f} dB ({who}) is below the floor of {args.floor} dB")
            failed = True
        else:
            print(f"ok: held-out photographs' mean PSNR {value:.2f} dB ({who}), floor {args.floor} dB")

    if args.json:
        rows = []
        for name, files in sets.items():
            for f in files:
                row = dict(set=name, file=os.path.relpath(f, args.data_dir), psnr=py[name][f][0])
                if cpp:
                    row.update(cpp_psnr=cpp[name][f][0], cpp_ssim=cpp[name][f][1],
                               codes_equal=float((cpp[name][f][2] == py[name][f][1]).mean()))
                rows.append(row)
        with open(args.json, "w") as f:
            json.dump(dict(model=args.model, floor=args.floor, tolerance=args.tolerance, codes_used=used,
                           perplexity=ppl, failed=failed, results=rows,
                           photo_tiles=dict(mean_psnr=tiles_mean, photos={
                               os.path.relpath(f, args.data_dir): dict(psnr=v[0], tiles=v[1])
                               for f, v in tiles.items()})), f, indent=1)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
