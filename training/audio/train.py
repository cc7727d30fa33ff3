#!/usr/bin/python3
"""Train the default audio codec: a small causal EnCodec (training/anytok_torch/encodec.py) on the synthesised
speech and music of build_data.py.

usage: train.py WORKDIR [--seed N] [--steps N] [options]

Losses: L1 on the waveform (per example, divided by the input's mean absolute value, so quiet and loud inputs weigh
alike), squared error on the waveform (per example, divided by the input's energy), L1 between log mel spectrograms
at six resolutions (64- to 2048-sample windows), a commitment loss pulling the encoder's output towards its
quantization, and minus the SI-SNR of each crop in dB where it is above 0 (--weight-sisnr): the other terms alone
left a model whose held-out SI-SNR lagged its log-mel distance. No adversarial discriminator: the codec is trained
on reconstruction alone. The squared error is there because L1 alone stalls: while the output cannot yet predict
the waveform's sign, L1's best answer is silence, and in trials the autoencoder stayed there (normalised L1 ≈ 1)
for over 1000 steps; with the squared error any partial prediction pays, and it left that plateau after about 350
steps.

Weights start from initialise() (variance-preserving, zero biases) rather than PyTorch's defaults.

Residual VQ: the first --vq-warmup steps train a plain autoencoder (the decoder reads the encoder's output), so that
the latent space has structure before it is quantized; then the codebooks are initialised with k-means on encoder
outputs of a few batches and from there follow
exponential moving averages of the vectors assigned to them; a code whose moving count falls below a small share of
the uniform count is replaced by a random vector from the current batch. Gradients pass the quantizer straight
through. Quantizer dropout: each example of a batch is decoded from the first 2, 4 or 8 codebooks (1.5, 3 or
6 kbps), so that every bandwidth of the ladder decodes; every codebook's statistics are updated from every example.

Determinism: the model is initialised from --seed, and the batch of step t (clips, crops, gains, bandwidths,
replacement vectors) is drawn from a generator seeded with (seed, t), so a resumed run draws what an uninterrupted
one would have drawn.

WORKDIR/ckpt/latest.pt is written every --checkpoint-minutes (atomically: a temporary file renamed over it), on
SIGINT/SIGTERM, and at the end; a copy is kept every --keep-every steps. A run finds latest.pt and resumes from it.
Progress goes to WORKDIR/train.log (and standard output): losses every --log-every steps, and at each kept
checkpoint the SI-SNR and log-mel distance of all held-out sentences at the default bandwidth.
"""
import argparse
import copy
import glob
import json
import math
import os
import sys
import wave

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import quality  # noqa: E402
from anytok_torch.recipe import Run, SpikeGuard, add_run_options, add_schedule_options, lr_at  # noqa: E402
from anytok_torch.encodec import EnCodec  # noqa: E402

# The model: see README.md for the reasons.
CONFIG = dict(sample_rate=24000, channels=1, causal=True, norm="weight_norm", normalize=False, segment=None,
              overlap=0.01, n_q=8, bins=1024, target_bandwidths=[1.5, 3.0, 6.0], bandwidth=6.0,
              seanet=dict(dimension=64, n_filters=16, ratios=[8, 5, 4, 2], n_residual_layers=1, lstm=1,
                          kernel_size=7, last_kernel_size=7, residual_kernel_size=3, dilation_base=2, compress=2,
                          true_skip=False, pad_mode="reflect", trim_right_ratio=1.0))
MEL_SCALES = [(64, 16), (128, 32), (256, 64), (512, 80), (1024, 80), (2048, 80)]  # (window, mel bands)


def read_wav(path):
    with wave.open(path) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == CONFIG["sample_rate"], path
        return torch.frombuffer(bytearray(w.readframes(w.getnframes())), dtype=torch.int16)


class Clips:
    """All clips of one kind, int16 in memory; crops are drawn uniformly over time (longer clips more often)."""

    def __init__(self, files):
        self.clips = [read_wav(f) for f in files]
        self.weights = torch.tensor([float(len(c)) for c in self.clips])
        self.seconds = float(self.weights.sum()) / CONFIG["sample_rate"]

    def crop(self, length, g):
        i = int(torch.multinomial(self.weights, 1, generator=g))
        clip = self.clips[i]
        if len(clip) <= length:
            return F.pad(clip.float(), (0, length - len(clip))) / 32768
        start = int(torch.randint(0, len(clip) - length + 1, (1,), generator=g))
        return clip[start:start + length].float() / 32768


def batch(data, args, g):
    """[B, 1, L] inputs: speech with probability --speech-share, else music; each scaled by a random gain
    (--gain-db around the stored -20 dBFS, lowered if a peak would clip) and flipped in sign half of the time;
    and the codebooks each example is decoded from."""
    xs = []
    for _ in range(args.batch):
        kind = "speech" if float(torch.rand((), generator=g)) < args.speech_share else "music"
        x = data[kind].crop(args.segment_samples, g)
        lo, hi = args.gain_db
        gain = 10 ** ((lo + (hi - lo) * float(torch.rand((), generator=g))) / 20)
        gain = min(gain, 0.99 / max(float(x.abs().max()), 1e-9))
        sign = 1.0 if float(torch.rand((), generator=g)) < 0.5 else -1.0
        xs.append(x * gain * sign)
    ladder = [model_codebooks(bw) for bw in CONFIG["target_bandwidths"]]
    pick = torch.multinomial(torch.tensor(args.bandwidth_weights), args.batch, replacement=True, generator=g)
    return torch.stack(xs)[:, None], torch.tensor([ladder[i] for i in pick])


def model_codebooks(bandwidth):
    frame_rate = math.ceil(CONFIG["sample_rate"] / math.prod(CONFIG["seanet"]["ratios"]))
    return max(1, math.floor(bandwidth * 1000 / (math.log2(CONFIG["bins"]) * frame_rate)))


class ResidualVQ:
    """Training-time residual VQ over the EnCodec model's codebook buffers (embed, embed_avg, cluster_size)."""

    def __init__(self, model, args):
        self.codebooks = [layer._codebook for layer in model.quantizer.vq.layers]
        for cb in self.codebooks:
            cb.inited.fill_(0)  # k-means runs after the autoencoder warm-up; a resumed model brings its own
        self.decay, self.eps = args.ema_decay, 1e-5
        self.dead_share = args.dead_share

    def initialised(self):
        return all(bool(cb.inited) for cb in self.codebooks)

    @staticmethod
    def nearest(residual, embed):
        dist = residual.pow(2).sum(1, keepdim=True) - 2 * residual @ embed.t() + embed.pow(2).sum(1)
        return dist.argmin(1)

    def kmeans_init(self, vectors, frames_per_step, g, iterations=20):
        """Each codebook in turn: Lloyd's k-means on what the previous codebooks left of `vectors` [N, D]. The
        moving counts start at the uniform count of one step's frames."""
        residual = vectors
        for cb in self.codebooks:
            bins = cb.embed.shape[0]
            pick = torch.randperm(len(residual), generator=g)[:bins]
            if len(pick) < bins:
                pick = torch.cat([pick, torch.randint(0, len(residual), (bins - len(pick),), generator=g)])
            centres = residual[pick].clone()
            for _ in range(iterations):
                idx = self.nearest(residual, centres)
                counts = torch.bincount(idx, minlength=bins).float()
                sums = torch.zeros_like(centres).index_add_(0, idx, residual)
                used = counts > 0
                centres[used] = sums[used] / counts[used, None]
            uniform = frames_per_step / bins
            cb.embed.copy_(centres)
            cb.cluster_size.fill_(uniform)
            cb.embed_avg.copy_(centres * uniform)
            cb.inited.fill_(1)
            residual = residual - centres[self.nearest(residual, centres)]

    def __call__(self, z, codebooks, g, update):
        """z [B, D, T], codebooks [B] → (quantized z for the decoder with straight-through gradients, the
        commitment loss, per-codebook statistics). Statistics and replacements only when update is True."""
        b, d, t = z.shape
        flat = z.detach().transpose(1, 2).reshape(-1, d)
        keep = codebooks.repeat_interleave(t)[:, None]  # codebooks of each frame's example
        residual, decoded, full, stats = flat, torch.zeros_like(flat), torch.zeros_like(flat), []
        for k, cb in enumerate(self.codebooks):
            idx = self.nearest(residual, cb.embed)
            q = cb.embed[idx]
            full = full + q
            decoded = decoded + q * (k < keep)
            counts = torch.bincount(idx, minlength=cb.embed.shape[0]).float()
            probs = counts / counts.sum()
            stats.append(dict(perplexity=float(torch.exp(-(probs * (probs + 1e-10).log()).sum())), replaced=0))
            if update:
                self.ema_update(cb, residual, idx, counts)
                stats[-1]["replaced"] = self.replace_dead(cb, residual, g)
            residual = residual - q
        full = full.reshape(b, t, d).transpose(1, 2)
        decoded = decoded.reshape(b, t, d).transpose(1, 2)
        commit = F.mse_loss(z, full)
        return z + (decoded - z).detach(), commit, stats

    def ema_update(self, cb, vectors, idx, counts):
        sums = torch.zeros_like(cb.embed).index_add_(0, idx, vectors)
        cb.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        cb.embed_avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n, bins = cb.cluster_size.sum(), cb.embed.shape[0]
        smoothed = (cb.cluster_size + self.eps) / (n + bins * self.eps) * n
        cb.embed.copy_(cb.embed_avg / smoothed[:, None])

    def replace_dead(self, cb, vectors, g):
        """Codes whose moving count is below dead_share of the uniform count take random vectors of the batch,
        with the uniform count, so that they get as long as any other code to be used."""
        bins = cb.embed.shape[0]
        uniform = len(vectors) / bins
        dead = (cb.cluster_size < self.dead_share * uniform).nonzero().flatten()
        if len(dead):
            new = vectors[torch.randint(0, len(vectors), (len(dead),), generator=g)]
            cb.embed[dead] = new
            cb.embed_avg[dead] = new * uniform
            cb.cluster_size[dead] = uniform
        return len(dead)


def si_snr_gain(x, y, eps=1e-8):
    """Mean over the examples of y [B, 1, L] of max(0, SI-SNR in dB against x), SI-SNR as quality.si_snr measures
    it. Examples below 0 dB add nothing: while the output is barely correlated with the input the gradient of the
    logarithm is huge and erratic (with it from step 0 the training crops sat near -35 dB for 400 steps, while
    the other losses alone had them above 0 dB by then). Silent inputs (mean square below 1e-7, -70 dBFS) have no
    SI-SNR and add nothing either."""
    s, e = x[:, 0] - x[:, 0].mean(-1, keepdim=True), y[:, 0] - y[:, 0].mean(-1, keepdim=True)
    energy = s.pow(2).sum(-1, keepdim=True)
    target = (e * s).sum(-1, keepdim=True) / (energy + eps) * s
    db = 10 * torch.log10((target.pow(2).sum(-1) + eps) / ((e - target).pow(2).sum(-1) + eps))
    audible = energy[:, 0] / s.shape[-1] > 1e-7
    return torch.where(audible, db.clamp(min=0), torch.zeros_like(db)).mean()


class MelLoss:
    """Mean over resolutions of mean |ln(mel(x) + 1e-5) − ln(mel(y) + 1e-5)|, mel of STFT magnitudes with hop
    window/4 and a periodic Hann window."""

    def __init__(self, sample_rate):
        self.scales = [(n, torch.hann_window(n), quality.mel_filters(sample_rate, n, m, torch.float32))
                       for n, m in MEL_SCALES]

    def __call__(self, x, y):
        total = 0.0
        for n, window, filters in self.scales:
            def mel(s):
                spec = torch.stft(s, n, n // 4, window=window, center=True, pad_mode="reflect",
                                  return_complex=True).abs()
                return torch.log(torch.einsum("mf,bft->bmt", filters, spec) + 1e-5)
            total = total + (mel(x[:, 0]) - mel(y[:, 0])).abs().mean()
        return total / len(self.scales)


def initialise(model):
    """Fresh weights that keep the signal's scale through the network: every (transposed) convolution drawn from
    N(0, 1/fan-in) (fan-in of a transposed convolution: input channels × kernel / stride), weight-norm gains set
    to the drawn weights' norms, biases zero. With PyTorch's default initialisation the input's variation shrinks
    about 40-fold on its way to the latent and is swamped by the biases, and the autoencoder then takes thousands
    of steps to start depending on its input at all."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
                v = m.weight_v if hasattr(m, "weight_v") else m.weight
                transposed = isinstance(m, torch.nn.ConvTranspose1d)
                fan_in = v.shape[0] * v.shape[2] / m.stride[0] if transposed else v.shape[1] * v.shape[2]
                v.normal_(0, 1 / math.sqrt(fan_in))
                if hasattr(m, "weight_g"):
                    m.weight_g.copy_(torch.norm_except_dim(v, 2, 0))
                m.bias.zero_()


@torch.no_grad()
def quick_eval(model, files, quantized):
    """Mean SI-SNR (dB) and log-mel distance of held-out files at the default bandwidth (during the autoencoder
    warm-up: of the unquantized autoencoder)."""
    model.eval()
    snr, mel = [], []
    for f in files:
        x = read_wav(f).float()[None] / 32768
        if quantized:
            y = model.decode(model.encode(x[None])[0])[0]
        else:
            y = model.decoder(model.encoder(x[None]))[0]
        snr.append(quality.si_snr(x, y))
        mel.append(quality.log_mel_distance(x, y, CONFIG["sample_rate"]))
    model.train()
    return sum(snr) / len(snr), sum(mel) / len(mel)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--segment-samples", type=int, default=11520, help="0.48 s, 36 frames")
    ap.add_argument("--speech-share", type=float, default=0.65)
    ap.add_argument("--gain-db", type=float, nargs=2, default=[-16.0, 6.0])
    ap.add_argument("--bandwidth-weights", type=float, nargs=3, default=[0.25, 0.25, 0.5],
                    help="how often examples are decoded at 1.5, 3 and 6 kbps")
    add_schedule_options(ap, lr=5e-4, warmup=200)
    ap.add_argument("--clip-grad", type=float, default=1.0)
    ap.add_argument("--weight-l1", type=float, default=1.0)
    ap.add_argument("--weight-l2", type=float, default=1.0)
    ap.add_argument("--weight-mel", type=float, default=1.0)
    ap.add_argument("--weight-commit", type=float, default=1.0)
    ap.add_argument("--weight-sisnr", type=float, default=0.2,
                    help="weight of the crops' SI-SNR in dB (where positive), subtracted from the loss")
    ap.add_argument("--ema-decay", type=float, default=0.99)
    ap.add_argument("--dead-share", type=float, default=0.05)
    ap.add_argument("--vq-warmup", type=int, default=1000,
                    help="steps of plain autoencoder training before the codebooks are initialised and used")
    ap.add_argument("--kmeans-batches", type=int, default=16)
    add_run_options(ap, keep_every=2000, threads_help="1 is as fast as 2 on 2 cores, and much faster when the "
                    "machine is shared (see README.md)")
    ap.add_argument("--spike-ratio", type=float, default=1.25,
                    help="roll back past a 50-step window whose mean loss exceeds this times the median of the 10 "
                    "windows before (0: off; see anytok_torch.recipe.SpikeGuard)")
    args = ap.parse_args()

    run = Run(args)
    log = run.log
    data_dir = os.path.join(args.work, "data")

    torch.manual_seed(args.seed)
    model = EnCodec(**CONFIG)
    initialise(model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.8, 0.99))
    rvq, mel_loss = ResidualVQ(model, args), MelLoss(CONFIG["sample_rate"])
    state = run.resume(lambda state: "another configuration or seed" if (
        state["config"] != CONFIG or state["args"]["seed"] != args.seed) else None)
    guard = SpikeGuard(ratio=args.spike_ratio, start=args.vq_warmup + 1000)
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if "guard" in state:  # checkpoints of step 6,946 and before were written without one
            guard.load_state_dict(state["guard"])
        log(f"resumed from {run.latest} at step {run.step} ({run.hours():.2f} h of training)")
    if run.step >= args.steps:
        log(f"step {run.step} >= --steps {args.steps}: nothing to train")
        return

    data = {k: Clips(sorted(glob.glob(os.path.join(data_dir, "train", k, "*.wav")))) for k in ("speech", "music")}
    held = sorted(glob.glob(os.path.join(data_dir, "eval", "speech", "*.wav")))
    n_params = sum(p.numel() for p in model.parameters())
    log(f"start step {run.step}/{args.steps}: {n_params / 1e6:.2f} M parameters; data speech "
        f"{data['speech'].seconds / 3600:.2f} h ({len(data['speech'].clips)} clips), music "
        f"{data['music'].seconds / 3600:.2f} h ({len(data['music'].clips)} clips); args {json.dumps(vars(args))}")

    sums, count = {}, 0
    while run.going():
        step = run.step
        if step >= args.vq_warmup and not rvq.initialised():
            g = torch.Generator().manual_seed(args.seed * 1000003 - 1)
            with torch.no_grad():
                z = torch.cat([model.encoder(batch(data, args, g)[0]) for _ in range(args.kmeans_batches)])
                rvq.kmeans_init(z.transpose(1, 2).reshape(-1, z.shape[1]), args.batch * z.shape[2], g)
            log(f"step {step}: k-means initialised {len(rvq.codebooks)} codebooks from "
                f"{z.shape[0] * z.shape[2]} encoder frames (RMS {z.pow(2).mean().sqrt():.4g})")
        g = torch.Generator().manual_seed(args.seed * 1000003 + step + guard.data_offset)
        x, codebooks = batch(data, args, g)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        z = model.encoder(x)
        if rvq.initialised():
            q, commit, stats = rvq(z, codebooks, g, update=True)
        else:  # autoencoder warm-up: the decoder reads the encoder's output directly
            q, commit, stats = z, torch.zeros(()), [dict(perplexity=0.0, replaced=0)]
        y = model.decoder(q)[..., :x.shape[-1]]
        l1 = ((y - x).abs().mean(-1) / (x.abs().mean(-1) + 3e-3)).mean()
        l2 = ((y - x).pow(2).mean(-1) / (x.pow(2).mean(-1) + 1e-5)).mean()
        mel = mel_loss(x, y)
        sisnr = si_snr_gain(x, y)
        loss = (args.weight_l1 * l1 + args.weight_l2 * l2 + args.weight_mel * mel + args.weight_commit * commit
                - args.weight_sisnr * sisnr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
        opt.step()
        checkpoint_due = run.stepped()
        back = guard.after_step(run.step, loss.item(), lambda: copy.deepcopy(
            dict(model=model.state_dict(), optimizer=opt.state_dict())), log)
        if back:
            model.load_state_dict(back["model"])
            opt.load_state_dict(back["optimizer"])
            run.step, sums, count = back["step"], {}, 0
            continue
        for k, v in dict(loss=loss.item(), l1=l1.item(), l2=l2.item(), mel=mel.item(), sisnr=sisnr.item(),
                         commit=commit.item(),
                         zrms=float(z.detach().pow(2).mean().sqrt()),
                         gnorm=float(gnorm), ppl0=stats[0]["perplexity"], ppl7=stats[-1]["perplexity"],
                         dead=sum(s["replaced"] for s in stats)).items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        if run.step % args.log_every == 0:
            log(f"step {run.step} " + " ".join(f"{k} {v / count:.4g}" for k, v in sums.items())
                + f" lr {lr_at(step, args):.3g} elapsed {run.hours():.3f} h")
            sums, count = {}, 0
        if checkpoint_due:
            run.save(model=model.state_dict(), optimizer=opt.state_dict(), config=CONFIG, guard=guard.state_dict())
        if run.step % args.keep_every == 0:
            snr, lmd = quick_eval(model, held, rvq.initialised())
            what = f"at {CONFIG['bandwidth']} kbps" if rvq.initialised() else "unquantized (warm-up)"
            log(f"checkpoint step {run.step}: held-out speech {what} "
                f"({len(held)} files) SI-SNR {snr:.2f} dB, log-mel distance {lmd:.4f}")
    run.finish(model=model.state_dict(), optimizer=opt.state_dict(), config=CONFIG, guard=guard.state_dict())


if __name__ == "__main__":
    main()
