#!/usr/bin/python3
"""VQ-GAN speed: anytok against PyTorch on the same architecture, weights, machine and thread count.

Builds two models with random weights (taming f16 and Unified-IO 2 f8, the upstream configurations), then
times encode (image → codes) and decode (codes → image) at 256×256 for batch 1 and 8 on each side, each
measurement in a process of its own so that peak resident memory belongs to that measurement alone.

    bench/vqgan.py [--threads N] [--repeat R] [--build DIR] [--only taming-f16|uio2-f8]
"""
import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))

from measure import best_seconds, measure, peak_rss_mb  # noqa: E402  (bench/ is the script's own folder)

MODELS = {
    "taming-f16": dict(ddconfig=dict(ch=128, ch_mult=[1, 1, 2, 2, 4], num_res_blocks=2, attn_resolutions=[16],
                                     resolution=256, z_channels=256, in_channels=3, out_ch=3),
                       n_embed=16384, embed_dim=256),
    "uio2-f8": dict(ddconfig=dict(ch=128, ch_mult=[1, 2, 2, 4], num_res_blocks=2, attn_resolutions=[32],
                                  resolution=256, z_channels=4, in_channels=3, out_ch=3),
                    n_embed=16384, embed_dim=4),
}


def torch_worker(model_dir, mode, batch, size, repeat, threads):
    import torch
    from anytok_torch.vqgan import VQGAN
    torch.set_num_threads(threads)
    model = VQGAN.load(model_dir)
    gen = torch.Generator().manual_seed(0)
    factor = 2 ** (len(model.ddconfig["ch_mult"]) - 1)
    if mode == "encode":
        x = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
        run = lambda: model.encode(x)
    else:
        side = size // factor
        codes = torch.randint(0, model.n_embed, (batch, side, side), generator=gen)
        run = lambda: model.decode(codes)
    with torch.no_grad():
        best = best_seconds(run, repeat)
    peak = peak_rss_mb()
    print(json.dumps({"seconds_per_batch": best, "peak_rss_mb": peak}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batches", default="1,8")
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--only", choices=sorted(MODELS))
    p.add_argument("--torch-worker", nargs=5, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.torch_worker:
        d, mode, batch, size, repeat = a.torch_worker
        return torch_worker(d, mode, int(batch), int(size), int(repeat), a.threads)

    import torch
    from anytok_torch.vqgan import VQGAN
    binary = os.path.join(a.build, "bench", "vqgan_bench")
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: build first (scripts/setup)")
    print(f"VQ-GAN, {a.size}x{a.size}, {a.threads} threads, best of {a.repeat}; images/s (higher is better)")
    print(f"{'model':<11} {'op':<7} {'batch':>5} {'pytorch':>9} {'anytok':>9} {'ratio':>6} {'rss torch':>10} {'rss anytok':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in MODELS.items():
            if a.only and name != a.only:
                continue
            torch.manual_seed(0)
            model_dir = os.path.join(tmp, name)
            VQGAN(**config).save(model_dir)
            weights_mb = os.path.getsize(os.path.join(model_dir, "model.safetensors")) / 2**20
            for mode in ("encode", "decode"):
                for batch in map(int, a.batches.split(",")):
                    ours = measure([binary, model_dir, mode, str(batch), str(a.size), str(a.repeat), str(a.threads)])
                    theirs = measure([sys.executable, __file__, "--threads", str(a.threads), "--torch-worker",
                                      model_dir, mode, str(batch), str(a.size), str(a.repeat)])
                    tput_ours, tput_theirs = batch / ours["seconds_per_batch"], batch / theirs["seconds_per_batch"]
                    print(f"{name:<11} {mode:<7} {batch:>5} {tput_theirs:>9.3f} {tput_ours:>9.3f} "
                          f"{tput_ours / tput_theirs:>5.2f}x {theirs['peak_rss_mb']:>8.0f}MB {ours['peak_rss_mb']:>8.0f}MB",
                          flush=True)
            print(f"{name:<11} weights: {weights_mb:.0f} MB")


if __name__ == "__main__":
    main()
