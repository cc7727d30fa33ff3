"""What every training recipe needs around its loop: one run per work folder, a log that goes to the screen and to
a file, the learning-rate schedule, resumable checkpoints with a clean stop on a signal, and the export of a
checkpoint as an anytok model directory."""
import argparse
import fcntl
import json
import math
import os
import signal
import sys
import time

import torch

from . import safetensors_io


class Log:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def __call__(self, *parts):
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


_held = []  # open lock files: a lock lasts as long as its file stays open


def hold_lock(work):
    """Holds WORK/train.lock for the life of the process; exits if another run holds it."""
    lock = open(os.path.join(work, "train.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(f"another training run holds {work}/train.lock")
    _held.append(lock)


def add_schedule_options(ap, lr, warmup):
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--warmup", type=int, default=warmup)
    ap.add_argument("--final-lr-share", type=float, default=0.1)


def lr_at(step, args):
    """Linear warm-up, then cosine decay to --final-lr-share of --lr at --steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    p = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (args.final_lr_share + (1 - args.final_lr_share) * 0.5 * (1 + math.cos(math.pi * p)))


def add_run_options(ap, keep_every, threads_help="torch threads (see README.md)"):
    ap.add_argument("--threads", type=int, default=1, help=threads_help)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--keep-every", type=int, default=keep_every)
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop (as on SIGTERM, exit status 3) after this many steps of this run; for tests")


def _save(state, path):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)  # a reader never sees half a checkpoint


class Run:
    """One training run in WORK (--threads, --checkpoint-minutes, --keep-every, --stop-after from add_run_options):
    holds WORK/train.lock, logs to WORK/train.log, and keeps WORK/ckpt/latest.pt, written atomically every
    --checkpoint-minutes, at every --keep-every-th step (with a kept copy step-NNNNNNN.pt) and at the end. SIGINT
    and SIGTERM ask the loop to stop; the run then saves and exits with status 3, so that a calling train.sh stops
    instead of exporting an unfinished model."""

    def __init__(self, args):
        torch.set_num_threads(args.threads)
        self.args = args
        self.ckpt_dir = os.path.join(args.work, "ckpt")
        os.makedirs(self.ckpt_dir, exist_ok=True)
        hold_lock(args.work)
        self.log = Log(os.path.join(args.work, "train.log"))
        self.latest = os.path.join(self.ckpt_dir, "latest.pt")
        self.step = self.first_step = 0
        self.before = 0.0  # seconds of training before this run
        self.started = self.last_save = time.time()
        self.stop = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._ask_to_stop)

    def _ask_to_stop(self, *_):
        self.stop = True

    def resume(self, mismatch):
        """latest.pt's state, or None for a fresh run. mismatch(state) names what differs from this run ("another
        configuration or seed"), or returns None when the checkpoint may be resumed."""
        if not os.path.exists(self.latest):
            return None
        state = torch.load(self.latest)
        problem = mismatch(state)
        if problem:
            sys.exit(f"{self.latest} was trained with {problem}; move it away to start over")
        self.step = self.first_step = state["step"]
        self.before = state["elapsed"]
        self.started = self.last_save = time.time()
        return state

    def hours(self):
        return (self.before + time.time() - self.started) / 3600

    def seconds_per_step(self):
        return (time.time() - self.started) / max(1, self.step - self.first_step)

    def going(self):
        return self.step < self.args.steps and not self.stop

    def stepped(self):
        """Counts a finished step; True when a checkpoint is due after it."""
        self.step += 1
        if self.args.stop_after and self.step - self.first_step >= self.args.stop_after:
            self.stop = True
        return (time.time() - self.last_save >= self.args.checkpoint_minutes * 60
                or self.step % self.args.keep_every == 0)

    def save(self, **state):
        state = dict(state, step=self.step, elapsed=self.before + time.time() - self.started, args=vars(self.args))
        _save(state, self.latest)
        if self.step % self.args.keep_every == 0:
            _save(state, os.path.join(self.ckpt_dir, f"step-{self.step:07d}.pt"))
        self.last_save = time.time()

    def finish(self, summary="", **state):
        """The last checkpoint; exits with status 3 when the run was stopped before --steps."""
        self.save(**state)
        self.log(f"{'stopped' if self.stop else 'finished'} at step {self.step}; saved {self.latest}{summary}")
        if self.stop:
            sys.exit(3)


class SpikeGuard:
    """Rolls a run back past a loss spike, as large language model trainings do: the mean training loss of each
    window of `window` steps is compared with the median of the previous `history` windows' means, and a window
    above `ratio` times that median (from step `start` on) brings back the state of two window boundaries
    earlier and moves the data stream on past the batches in between, so that the run goes on with batches it
    has not seen. More than `max_rollbacks` spikes end the run: its settings are unstable.

    The state is the last `history` means, the two snapshots and the data offset, all kept in the checkpoint; the
    decisions depend on the last `history` windows only, so a run resumed without that state (or from a
    checkpoint older than the guard) decides as an uninterrupted one from `history` windows on."""

    def __init__(self, window=50, history=10, ratio=1.25, start=2000, max_rollbacks=5):
        self.window, self.history, self.ratio, self.start, self.max_rollbacks = window, history, ratio, start, max_rollbacks
        self.sum, self.count, self.means, self.snapshots, self.data_offset, self.rollbacks = 0.0, 0, [], [], 0, 0

    def state_dict(self):
        return dict(sum=self.sum, count=self.count, means=self.means, snapshots=self.snapshots,
                    data_offset=self.data_offset, rollbacks=self.rollbacks)

    def load_state_dict(self, state):
        self.sum, self.count, self.means = state["sum"], state["count"], state["means"]
        self.snapshots, self.data_offset, self.rollbacks = state["snapshots"], state["data_offset"], state["rollbacks"]

    def after_step(self, step, loss, snapshot, log):
        """Counts the loss of the step that made `step`; at a window boundary, either records snapshot() (a dict
        of copies of everything the run restores) and returns None, or returns the snapshot to roll back to. A
        ratio of 0 turns the guard off."""
        if not self.ratio:
            return None
        if step % self.window:  # a partial window after a resume counts from where it started
            self.sum, self.count = self.sum + loss, self.count + 1
            return None
        mean = (self.sum + loss) / (self.count + 1)
        self.sum, self.count = 0.0, 0
        recent = sorted(self.means[-self.history:])
        reference = recent[len(recent) // 2] if len(recent) == self.history else None
        if reference is not None and step > self.start and mean > self.ratio * reference and self.snapshots:
            self.rollbacks += 1
            back = self.snapshots[0]
            if self.rollbacks > self.max_rollbacks:
                sys.exit(f"step {step}: loss spike number {self.rollbacks}: the training is unstable with these "
                         "settings")
            self.data_offset += step - back["step"]
            self.means, self.snapshots = list(back["means"]), [back]
            log(f"step {step}: loss spike (mean {mean:.4g} over the last {self.window} steps, {mean / reference:.2f} "
                f"times the median of the {self.history} windows before); rolled back to step {back['step']}, "
                f"the batches of steps {back['step']}-{step} skipped (data offset now {self.data_offset})")
            return back
        self.means = (self.means + [mean])[-self.history:]
        self.snapshots = (self.snapshots + [dict(snapshot(), step=step, means=list(self.means))])[-2:]
        return None


def export_arguments(doc):
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    return ap.parse_args()


def export(args, state, model, config, recipe, load):
    """Writes OUT/config.json and OUT/model.safetensors (floating-point tensors in --dtype; the metadata names the
    recipe, step, seed and training hours), then loads the directory back with load(OUT) and checks that it holds
    the same tensors."""
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    dtype = torch.float16 if args.dtype == "f16" else torch.float32
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    metadata = dict(recipe=recipe, step=state["step"], seed=state["args"]["seed"],
                    training_hours=f"{state['elapsed'] / 3600:.2f}")
    path = os.path.join(args.out, "model.safetensors")
    safetensors_io.save(tensors, path, metadata)

    again = load(args.out).state_dict()
    if sorted(again) != sorted(tensors) or not all(torch.equal(v.to(again[k].dtype), again[k])
                                                   for k, v in tensors.items()):
        sys.exit(f"{args.out}: the model read back differs from the checkpoint")
    n = sum(v.numel() for v in tensors.values() if v.is_floating_point())
    print(f"wrote {args.out}: step {state['step']}, {len(tensors)} tensors, {n / 1e6:.2f} M parameters, "
          f"{os.path.getsize(path)} bytes ({args.dtype})")
