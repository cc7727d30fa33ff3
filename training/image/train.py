#!/usr/bin/python3
"""Train the default image tokenizer: a small taming-transformers VQ-GAN (training/anytok_torch/vqgan.py) at
64x64, downsampling factor 4 (16x16 codes), 1024 codes, on random crops of photographs and on demo-world scenes
(build_data.py).

usage: train.py WORKDIR [--seed N] [--steps N] [options]

Losses: L1 and squared error on the pixels (in [-1, 1]) and the commitment loss (the encoder's latents pulled
towards their codes, weight --beta). No discriminator and no perceptual loss: the model is judged by PSNR, which
an adversarial loss lowers, there are no pretrained LPIPS/VGG weights to compute a perceptual loss with, and on one
CPU core every convolution counts.

Codebook: the first --vq-warmup steps train a plain autoencoder (the decoder reads the latents unquantized), so
that the latents have structure before they are quantized. Then the codebook is initialised with k-means on the
latents of a few batches, and from there follows exponential moving averages of the latents assigned to each code
(it gets no gradient); a code whose moving count falls below --dead-share of the uniform count is replaced by a
random latent of the current batch. Gradients pass the quantizer straight through. The moving averages live in the
checkpoint, not in the model: the exported state dict holds taming's tensors only.

Batches: --batch images, --world-share of them demo-world scenes (as they are, 64x64), the rest crops of a
photograph: a square of side drawn log-uniformly from 64 pixels to the photograph's short side, at a uniformly
random place, mirrored half of the time, resized to 64x64 with INTER_AREA or (half of the time) INTER_LINEAR,
which aliases as the runtime's taming preprocessing does when it shrinks a large image.

Determinism: the model is initialised from --seed, and the batch of step t (crops, scenes, replacement codes) is
drawn from a generator seeded with (seed, t), so a resumed run draws what an uninterrupted one would have drawn.

WORKDIR/ckpt/latest.pt is written every --checkpoint-minutes (atomically: a temporary file renamed over it), on
SIGINT/SIGTERM (then the exit status is 3) and at the end; a copy is kept every --keep-every steps. A run finds
latest.pt and resumes from it. Progress goes to WORKDIR/train.log (and standard output): losses every
--log-every steps, and at each checkpoint the PSNR of the held-out photographs and world scenes and the codebook's
usage on them.
"""
import argparse
import glob
import json
import math
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import imaging  # noqa: E402
from anytok_torch.recipe import Run, add_run_options, add_schedule_options, lr_at  # noqa: E402
from anytok_torch.vqgan import VQGAN  # noqa: E402

# The model: see README.md for the reasons.
CONFIG = dict(ddconfig=dict(double_z=False, z_channels=32, resolution=64, in_channels=3, out_ch=3, ch=32,
                            ch_mult=[1, 2, 2], num_res_blocks=1, attn_resolutions=[], dropout=0.0),
              n_embed=1024, embed_dim=16)
cv2.setNumThreads(1)


class Photos:
    """The training photographs, uint8 RGB in memory; every photograph is drawn equally often."""

    def __init__(self, files):
        self.images = [imaging.read_rgb(f) for f in files]
        if not self.images:
            sys.exit("no training photographs found; run build_data.py first")

    def crop(self, g, size=64):
        image = self.images[int(torch.randint(len(self.images), (1,), generator=g))]
        h, w = image.shape[:2]
        u = torch.rand(5, generator=g).tolist()
        side = int(round(math.exp(math.log(size) + u[0] * (math.log(min(h, w)) - math.log(size)))))
        top, left = int(u[1] * (h - side + 1)), int(u[2] * (w - side + 1))
        patch = image[top:top + side, left:left + side]
        if u[3] < 0.5:
            patch = patch[:, ::-1]
        if side != size:
            patch = cv2.resize(np.ascontiguousarray(patch), (size, size),
                               interpolation=cv2.INTER_AREA if u[4] < 0.5 else cv2.INTER_LINEAR)
        return patch


def batch(photos, world, args, g):
    n_world = int(round(args.batch * args.world_share)) if world is not None else 0
    images = [photos.crop(g) for _ in range(args.batch - n_world)]
    if n_world:
        images += list(world[torch.randint(len(world), (n_world,), generator=g).numpy()])
    return imaging.to_tensor(np.stack(images))


class EmaCodebook:
    """Training-time vector quantization over the model's codebook (quantize.embedding.weight), with exponential
    moving averages of the assigned latents (embed_avg) and of the counts (cluster_size)."""

    def __init__(self, model, args):
        self.embed = model.quantize.embedding.weight
        self.embed.requires_grad_(False)
        k, d = self.embed.shape
        self.state = dict(cluster_size=torch.zeros(k), embed_avg=torch.zeros(k, d), inited=False)
        self.decay, self.eps, self.dead_share = args.ema_decay, 1e-5, args.dead_share

    def initialised(self):
        return self.state["inited"]

    @staticmethod
    def nearest(vectors, embed):
        """As the runtime and taming compute it: argmin of ‖z‖² + ‖e‖² − 2·z·e."""
        d = vectors.pow(2).sum(1, keepdim=True) + embed.pow(2).sum(1) - 2 * vectors @ embed.t()
        return d.argmin(1)

    @torch.no_grad()
    def kmeans_init(self, vectors, per_step, g, iterations=20):
        k = self.embed.shape[0]
        pick = torch.randperm(len(vectors), generator=g)[:k]
        centres = vectors[pick].clone()
        for _ in range(iterations):
            idx = self.nearest(vectors, centres)
            counts = torch.bincount(idx, minlength=k).float()
            sums = torch.zeros_like(centres).index_add_(0, idx, vectors)
            used = counts > 0
            centres[used] = sums[used] / counts[used, None]
        uniform = per_step / k
        self.embed.copy_(centres)
        self.state.update(cluster_size=torch.full((k,), uniform), embed_avg=centres * uniform, inited=True)

    def __call__(self, z, g, update):
        """z [B, E, h, w] → (quantized z with straight-through gradients, commitment loss, codes, replaced)."""
        b, e, h, w = z.shape
        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, e)
        idx = self.nearest(flat, self.embed)
        q = self.embed[idx]
        replaced = 0
        if update:
            with torch.no_grad():
                self.ema_update(flat, idx)
                replaced = self.replace_dead(flat, g)
        q = q.reshape(b, h, w, e).permute(0, 3, 1, 2)
        commit = F.mse_loss(z, q)
        return z + (q - z).detach(), commit, idx, replaced

    def ema_update(self, vectors, idx):
        k = self.embed.shape[0]
        counts = torch.bincount(idx, minlength=k).float()
        sums = torch.zeros_like(self.embed).index_add_(0, idx, vectors)
        cs, avg = self.state["cluster_size"], self.state["embed_avg"]
        cs.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = cs.sum()
        smoothed = (cs + self.eps) / (n + k * self.eps) * n
        self.embed.copy_(avg / smoothed[:, None])

    def replace_dead(self, vectors, g):
        """Codes whose moving count is below dead_share of the uniform count take random latents of the batch,
        with the uniform count, so that they get as long as any other code to be used."""
        k = self.embed.shape[0]
        uniform = len(vectors) / k
        cs = self.state["cluster_size"]
        dead = (cs < self.dead_share * uniform).nonzero().flatten()
        if len(dead):
            new = vectors[torch.randint(0, len(vectors), (len(dead),), generator=g)]
            self.embed[dead] = new
            self.state["embed_avg"][dead] = new * uniform
            cs[dead] = uniform
        return len(dead)


def initialise(model):
    """Every residual branch starts at zero (the second convolution of each ResnetBlock and the output projection
    of each AttnBlock), so that each block starts as the identity and the network as a short stack of
    convolutions that gradients cross unattenuated; PyTorch's defaults elsewhere."""
    with torch.no_grad():
        for name, m in model.named_modules():
            if name.endswith(".conv2") or name.endswith(".proj_out"):
                m.weight.zero_()
                m.bias.zero_()


def perplexity(codes, k):
    p = torch.bincount(codes.flatten(), minlength=k).double()
    p = p / p.sum()
    return float(torch.exp(-(p * (p + 1e-12).log()).sum())), int((p > 0).sum())


@torch.no_grad()
def quick_eval(model, vq, held):
    """PSNR (dB, uint8 as the runtime measures it) of each held-out set, and the codes' perplexity and count
    over all of them (during the warm-up: of the unquantized autoencoder, without codes)."""
    model.eval()
    out, codes = {}, []
    for name, x in held.items():
        z = model.latents(x)
        if vq.initialised():
            c = vq.nearest(z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), vq.embed)
            codes.append(c)
            z = vq.embed[c].reshape(z.shape[0], z.shape[2], z.shape[3], -1).permute(0, 3, 1, 2)
        y = imaging.to_uint8(model.decoder(model.post_quant_conv(z)))
        ref = imaging.to_uint8(x)
        out[name] = sum(imaging.psnr(a, b) for a, b in zip(ref, y)) / len(y)
    model.train()
    usage = perplexity(torch.cat(codes), vq.embed.shape[0]) if codes else (0.0, 0)
    return out, usage


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=18000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--world-share", type=float, default=0.25, help="share of each batch that is world scenes; "
                    "0 trains on photographs alone (and needs no world data)")
    add_schedule_options(ap, lr=1e-3, warmup=200)
    ap.add_argument("--clip-grad", type=float, default=1.0)
    ap.add_argument("--weight-l1", type=float, default=1.0)
    ap.add_argument("--weight-l2", type=float, default=1.0)
    ap.add_argument("--beta", type=float, default=0.25, help="weight of the commitment loss")
    ap.add_argument("--ema-decay", type=float, default=0.99)
    ap.add_argument("--dead-share", type=float, default=0.05)
    ap.add_argument("--vq-warmup", type=int, default=300,
                    help="steps of plain autoencoder training before the codebook is initialised and used")
    ap.add_argument("--kmeans-batches", type=int, default=16)
    ap.add_argument("--config", default="{}", help="JSON merged into the model configuration (for experiments; "
                    "keys of ddconfig go under \"ddconfig\")")
    ap.add_argument("--init", choices=["zero-residual", "default"], default="zero-residual")
    add_run_options(ap, keep_every=5000)
    ap.add_argument("--eval-world", type=int, default=64, help="held-out world scenes checked at each checkpoint")
    args = ap.parse_args()

    config = json.loads(json.dumps(CONFIG))
    extra = json.loads(args.config)
    config["ddconfig"].update(extra.pop("ddconfig", {}))
    config.update(extra)

    run = Run(args)
    log = run.log
    data_dir = os.path.join(args.work, "data")

    torch.manual_seed(args.seed)
    model = VQGAN(**config)
    if args.init == "zero-residual":
        initialise(model)
    model.train()
    vq = EmaCodebook(model, args)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr, betas=(0.9, 0.99))
    state = run.resume(lambda state: "another configuration or seed" if (
        state["config"] != config or state["args"]["seed"] != args.seed) else None)
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        vq.state = state["vq"]
        log(f"resumed from {run.latest} at step {run.step} ({run.hours():.2f} h of training)")
    if run.step >= args.steps:
        log(f"step {run.step} >= --steps {args.steps}: nothing to train")
        return

    photos = Photos(sorted(glob.glob(os.path.join(data_dir, "photos", "*.png"))))
    world = np.load(os.path.join(data_dir, "world-train.npy")) if args.world_share > 0 else None
    held = {"photos": imaging.to_tensor(np.stack([imaging.prepare_taming(imaging.read_rgb(f), 64) for f in sorted(
        glob.glob(os.path.join(data_dir, "eval", "photos", "*.png")))]))}
    if world is not None:
        scenes = [json.loads(line) for line in open(os.path.join(data_dir, "world-eval", "scenes.jsonl"))]
        held["world"] = imaging.to_tensor(np.stack([imaging.read_rgb(os.path.join(data_dir, "world-eval", s["image"]))
                                                    for s in scenes[:args.eval_world]]))
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"start step {run.step}/{args.steps}: {n_params / 1e6:.3f} M trained parameters; {len(photos.images)} "
        f"photographs, {0 if world is None else len(world)} world scenes; config {json.dumps(config)}; "
        f"args {json.dumps(vars(args))}")

    sums, count = {}, 0
    while run.going():
        step = run.step
        if step >= args.vq_warmup and not vq.initialised():
            g = torch.Generator().manual_seed(args.seed * 1000003 - 1)
            with torch.no_grad():
                z = torch.cat([model.latents(batch(photos, world, args, g)) for _ in range(args.kmeans_batches)])
                flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
                vq.kmeans_init(flat, args.batch * z.shape[2] * z.shape[3], g)
            log(f"step {step}: k-means initialised {vq.embed.shape[0]} codes from {len(flat)} latents "
                f"(RMS {flat.pow(2).mean().sqrt():.4g})")
        g = torch.Generator().manual_seed(args.seed * 1000003 + step)
        x = batch(photos, world, args, g)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        z = model.latents(x)
        if vq.initialised():
            q, commit, codes, replaced = vq(z, g, update=True)
            ppl, used = perplexity(codes, vq.embed.shape[0])
        else:  # autoencoder warm-up: the decoder reads the latents directly
            q, commit, replaced, ppl, used = z, torch.zeros(()), 0, 0.0, 0
        y = model.decoder(model.post_quant_conv(q))
        l1 = (y - x).abs().mean()
        l2 = (y - x).pow(2).mean()
        loss = args.weight_l1 * l1 + args.weight_l2 * l2 + args.beta * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], args.clip_grad)
        opt.step()
        checkpoint_due = run.stepped()
        # PSNR of the batch in [-1, 1] units: peak-to-peak 2, so 10·log10(4 / MSE).
        for k, v in dict(loss=loss.item(), l1=l1.item(), l2=l2.item(), psnr=10 * math.log10(4 / max(l2.item(), 1e-10)),
                         commit=commit.item(), zrms=float(z.detach().pow(2).mean().sqrt()), gnorm=float(gnorm),
                         ppl=ppl, used=used, dead=replaced).items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        if run.step % args.log_every == 0:
            log(f"step {run.step} " + " ".join(f"{k} {v / count:.4g}" for k, v in sums.items())
                + f" lr {lr_at(step, args):.3g} elapsed {run.hours():.3f} h")
            sums, count = {}, 0
        if checkpoint_due:
            run.save(model=model.state_dict(), optimizer=opt.state_dict(), vq=vq.state, config=config)
            psnrs, (ppl_eval, used_eval) = quick_eval(model, vq, held)
            what = "quantized" if vq.initialised() else "unquantized (warm-up)"
            log(f"checkpoint step {run.step}: held-out PSNR {what}: "
                + ", ".join(f"{k} {v:.2f} dB" for k, v in psnrs.items())
                + (f"; codes used {used_eval}, perplexity {ppl_eval:.1f}" if vq.initialised() else ""))
    run.finish(model=model.state_dict(), optimizer=opt.state_dict(), vq=vq.state, config=config)


if __name__ == "__main__":
    main()
