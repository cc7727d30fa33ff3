#!/usr/bin/python3
"""Train the default any-to-any sequence model (family "seq2seq", training/anytok_torch/seq2seq.py) on the five
tasks of the demo world, from the datasets that `anytok preprocess` made of them (build_data.py).

usage: train.py WORKDIR [--seed N] [--steps N] [options]

Data: WORKDIR/data/train-NNN (pairs datasets of the training scenes) and WORKDIR/data/valid (held-out scenes of
another seed). An example is an encoder input (its input sequences and eos) and a target (its target sequences);
the decoder reads bos and the target, and learns the target and eos (dataset.py).

A step is one micro-batch of each task (--batch gives the examples of each), so that every step's gradient
serves all five tasks while each micro-batch pads only against examples of its own task, whose lengths are alike.
Within a task, examples come in epochs: a permutation drawn from (seed, task, epoch), cut into windows of
--bucket-batches batches whose examples are sorted by length before they are cut into batches (less padding), the
batches then shuffled. The loss is the sum over tasks of --weight times the task's mean cross-entropy per target
id (eos included), over the whole vocabulary.

Classifier-free guidance: a generate-image example is trained unconditionally, its encoder input replaced by eos
alone (the empty prompt `anytok generate --guidance` reads), with probability --unconditional.

Precision: where the CPU has bfloat16 instructions, the matrix products run in bfloat16 under torch.autocast
(--precision); the weights, the loss and Adam stay float32.

Determinism: the model is initialised from --seed, and everything step t draws (batches, unconditional examples)
comes from (seed, t), so a run stopped and resumed computes what an uninterrupted one does, bit for bit.

WORKDIR/ckpt/latest.pt is written every --checkpoint-minutes (atomically: a temporary file renamed over it), on
SIGINT/SIGTERM (the run then exits with status 3) and at the end; a copy is kept every --keep-every steps. A run
finds latest.pt and resumes from it. WORKDIR/train.lock keeps a second run out. Progress goes to WORKDIR/train.log
(and standard output): every --log-every steps each task's loss and teacher-forced accuracy, and at each
checkpoint the same on held-out examples, with the share of them whose every target id is the model's first choice
(which is the share greedy decoding would reproduce exactly).
"""
import argparse
import glob
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import dataset  # noqa: E402
from anytok_torch.recipe import Run, add_run_options, add_schedule_options, lr_at  # noqa: E402
from anytok_torch.seq2seq import Seq2Seq  # noqa: E402

TASKS = dataset.TASKS
GENERATE_IMAGE = TASKS.index("generate-image")


def model_config(args, pairs):
    """The config.json keys (without family and vocab) for these options and this vocabulary layout."""
    return dict(d_model=args.d_model, nhead=args.heads, num_encoder_layers=args.encoder_layers,
                num_decoder_layers=args.decoder_layers, dim_feedforward=args.ffn, activation="gelu",
                norm_first=True, layer_norm_eps=1e-5, vocab_size=pairs.vocab_size, max_positions=args.max_positions,
                positions="sinusoidal", scale_embeddings=True, tie_embeddings=True, bos_id=pairs.bos,
                eos_id=pairs.eos, pad_id=pairs.pad)


def initialise(model, seed):
    """Embeddings from N(0, 1/D): scaled by √D they enter with unit variance per component, like the sinusoids,
    and the tied head's logits start with unit variance. torch.nn.Transformer's own Xavier initialisation (run in
    its constructor, from the seed set before it) is kept for the layers."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        d = model.embed.weight.shape[1]
        model.embed.weight.copy_(torch.randn(model.embed.weight.shape, generator=g) / math.sqrt(d))


class Batches:
    """The batches of one task, as a pure function of (seed, task, step)."""

    def __init__(self, indices, lengths, batch, bucket_batches, seed, task):
        self.indices, self.lengths, self.batch = indices, lengths, batch
        self.bucket, self.seed, self.task = batch * bucket_batches, seed, task
        self.per_epoch = len(indices) // batch  # a remainder smaller than a batch waits for the next epoch
        self.cache = (None, None)

    def epoch(self, e):
        if self.cache[0] != e:
            rng = np.random.default_rng([self.seed, self.task, e])
            order = rng.permutation(len(self.indices))[:self.per_epoch * self.batch]
            for start in range(0, len(order), self.bucket):
                window = order[start:start + self.bucket]
                order[start:start + self.bucket] = window[np.argsort(self.lengths[window], kind="stable")]
            batches = order.reshape(self.per_epoch, self.batch)[rng.permutation(self.per_epoch)]
            self.cache = (e, self.indices[batches])
        return self.cache[1]

    def __call__(self, step):
        return self.epoch(step // self.per_epoch)[step % self.per_epoch]


def task_loss(model, pairs, indices, unconditional, bf16=False):
    """(mean cross-entropy per target id, ids, right first choices, examples entirely right). With bf16 the
    matrix products run in bfloat16 (torch.autocast; the weights, the loss and the optimiser stay float32)."""
    src, tgt_in, labels = dataset.collate(pairs, indices, unconditional)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model.logits(src, tgt_in)
    logits = logits.float()
    loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    with torch.no_grad():
        mask = labels != -100
        right = (logits.argmax(-1) == labels) & mask
        whole = (right | ~mask).all(1)
    return loss, int(mask.sum()), int(right.sum()), int(whole.sum())


@torch.no_grad()
def validate(model, pairs, per_task, max_positions):
    """Held-out loss, accuracy per id and share of examples entirely right (teacher-forced), per task, over the
    first per_task examples of each task that fit max_positions, four at a time."""
    model.eval()
    out = {}
    fits = (pairs.source_length <= max_positions) & (pairs.target_length <= max_positions)
    for t, name in enumerate(TASKS):
        idx = np.flatnonzero((pairs.task == t) & fits)[:per_task]
        if len(idx) == 0:
            continue
        loss_sum, ids, right, whole = 0.0, 0, 0, 0
        for k in range(0, len(idx), 4):
            loss, n, r, w = task_loss(model, pairs, idx[k:k + 4], [False] * len(idx[k:k + 4]))
            loss_sum, ids, right, whole = loss_sum + float(loss) * n, ids + n, right + r, whole + w
        out[name] = (loss_sum / ids, right / ids, whole / len(idx))
    model.train()
    return out


def held_out(model, valid, args):
    v = validate(model, valid, args.valid_examples, args.max_positions)
    return " ".join(f"{n} {a:.4f}/{b:.3f}/{c:.2f}" for n, (a, b, c) in v.items())


def cpu_has_bf16():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def parse_per_task(text, cast):
    """"caption=8,detect=8,..." → a value per task, in TASKS order; every task must be named."""
    values = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        if name not in TASKS:
            raise argparse.ArgumentTypeError(f"unknown task {name!r} (tasks: {', '.join(TASKS)})")
        values[name] = cast(value)
    missing = [t for t in TASKS if t not in values]
    if missing:
        raise argparse.ArgumentTypeError(f"no value for {', '.join(missing)}")
    return [values[t] for t in TASKS]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10000)
    # The model (README.md gives the reasons).
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--encoder-layers", type=int, default=4)
    ap.add_argument("--decoder-layers", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--max-positions", type=int, default=1024,
                    help="longest encoder input and target (eos included); longer examples are left out")
    # The data and the objective.
    ap.add_argument("--batch", type=lambda s: parse_per_task(s, int),
                    default="caption=8,detect=8,generate-image=8,speak=4,transcribe=4",
                    help="examples of each task in a step (0 leaves a task out)")
    ap.add_argument("--weight", type=lambda s: parse_per_task(s, float),
                    default="caption=1,detect=1,generate-image=1,speak=1,transcribe=1",
                    help="each task's weight in the loss")
    ap.add_argument("--bucket-batches", type=int, default=16, help="batches per window sorted by length")
    ap.add_argument("--unconditional", type=float, default=0.1,
                    help="probability that a generate-image example reads the empty prompt (eos alone)")
    # The optimiser.
    add_schedule_options(ap, lr=1e-3, warmup=1000)
    ap.add_argument("--clip-grad", type=float, default=1.0)
    # Running.
    ap.add_argument("--precision", choices=["auto", "bf16", "f32"], default="auto",
                    help="of the matrix products in training; auto: bf16 where the CPU has bfloat16 instructions "
                    "(avx512_bf16 or amx_bf16), else f32. A resumed run keeps its checkpoint's")
    add_run_options(ap, keep_every=2500)
    ap.add_argument("--valid-examples", type=int, default=16, help="held-out examples of each task at checkpoints")
    args = ap.parse_args()

    run = Run(args)
    log = run.log
    data_dir = os.path.join(args.work, "data")

    prefixes = sorted(p[:-len(".json")] for p in glob.glob(os.path.join(data_dir, "train-*.json")))
    if not prefixes:
        sys.exit(f"no training data in {data_dir} (build_data.py makes it)")
    pairs = dataset.Pairs(prefixes)
    valid = dataset.Pairs([os.path.join(data_dir, "valid")])
    if valid.layout != pairs.layout:
        sys.exit(f"{data_dir}/valid.json has another vocabulary layout than the training data")
    fits = (pairs.source_length <= args.max_positions) & (pairs.target_length <= args.max_positions)
    counts = {name: int((pairs.task == t).sum()) for t, name in enumerate(TASKS)}
    kept = {name: int(((pairs.task == t) & fits).sum()) for t, name in enumerate(TASKS)}
    data = dict(prefixes=[os.path.basename(p) for p in prefixes], examples=counts, kept=kept)

    config = model_config(args, pairs)
    torch.manual_seed(args.seed)
    model = Seq2Seq(config)
    initialise(model, args.seed)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    state = run.resume(lambda state: "another configuration, seed or data" if (
        state["config"] != config or state["args"]["seed"] != args.seed or state["data"] != data) else None)
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        args.precision = state["args"]["precision"]
        log(f"resumed from {run.latest} at step {run.step} ({run.hours():.2f} h of training, {args.precision})")
    elif args.precision == "auto":
        args.precision = "bf16" if cpu_has_bf16() else "f32"
    if run.step >= args.steps:
        log(f"step {run.step} >= --steps {args.steps}: nothing to train")
        return

    batches = []
    for t, name in enumerate(TASKS):
        idx = np.flatnonzero((pairs.task == t) & fits)
        if args.batch[t] == 0:
            batches.append(None)
            continue
        if len(idx) < args.batch[t]:
            sys.exit(f"{name}: {len(idx)} examples fit --max-positions {args.max_positions}, fewer than a batch "
                     f"of {args.batch[t]}")
        lengths = pairs.source_length[idx] + pairs.target_length[idx]
        batches.append(Batches(idx, lengths, args.batch[t], args.bucket_batches, args.seed, t))
    n_params = sum(p.numel() for p in model.parameters())
    longest = {name: (int(pairs.source_length[pairs.task == t].max()), int(pairs.target_length[pairs.task == t].max()))
               for t, name in enumerate(TASKS) if counts[name]}
    log(f"start step {run.step}/{args.steps}: {n_params / 1e6:.2f} M parameters; examples {json.dumps(counts)}, "
        f"of which fit --max-positions {args.max_positions}: {json.dumps(kept)}; longest (source, target) "
        f"{json.dumps(longest)}; held-out {len(valid)}; config {json.dumps(config)}; args {json.dumps(vars(args))}")

    sums = {}
    while run.going():
        step = run.step
        rng = np.random.default_rng([args.seed, 1 << 20, step])
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        opt.zero_grad(set_to_none=True)
        for t, name in enumerate(TASKS):
            if batches[t] is None:
                continue
            idx = batches[t](step)
            uncond = rng.random(len(idx)) < args.unconditional if t == GENERATE_IMAGE else [False] * len(idx)
            loss, ids, right, _ = task_loss(model, pairs, idx, uncond, args.precision == "bf16")
            (args.weight[t] * loss).backward()
            s = sums.setdefault(name, [0.0, 0, 0])
            s[0], s[1], s[2] = s[0] + float(loss) * ids, s[1] + ids, s[2] + right
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
        opt.step()
        sums.setdefault("gnorm", []).append(float(gnorm))
        checkpoint_due = run.stepped()
        if run.step % args.log_every == 0:
            parts = [f"{n} {s[0] / s[1]:.4f}/{s[2] / s[1]:.3f}" for n, s in sums.items() if n != "gnorm"]
            log(f"step {run.step} loss/acc " + " ".join(parts) + f" gnorm {np.mean(sums['gnorm']):.3g}"
                f" lr {lr_at(step, args):.3g} s/step {run.seconds_per_step():.3f} elapsed {run.hours():.3f} h")
            sums = {}
        if checkpoint_due:
            run.save(model=model.state_dict(), optimizer=opt.state_dict(), config=config, data=data,
                     layout=pairs.layout)
            log(f"checkpoint step {run.step}: held-out loss/acc/whole " + held_out(model, valid, args))
    run.finish("; held-out loss/acc/whole " + held_out(model, valid, args), model=model.state_dict(),
               optimizer=opt.state_dict(), config=config, data=data, layout=pairs.layout)


if __name__ == "__main__":
    main()
