#!/usr/bin/python3
"""Seconds per training step of candidate model sizes, on random ids shaped like the demo world's examples.

usage: measure.py [--threads 1] [--steps 5] [--vocab 11149] [--audio-ids 384] [--sizes D:H:E:L:F ...]
                  [--batch caption=8,...]

A step is what train.py does: one micro-batch of each task, forward and backward, then an Adam update. The
lengths (encoder input, target with eos) are those of the default models: an image span is 258 ids, a caption
about 15 pieces, a spoken caption at 1.5 kbps on average 384 ids (2 codebooks x 75 frames/s x 2.5 s, with its
markers). The vocabulary defaults to the anytok preset with the default models: 8000 text pieces, 13 markers and
task tokens, 1024 image codes, 2 x 1024 audio codes and 64 location bins. Each size is D (d_model), H (heads),
E and L (encoder and decoder layers), F (feed-forward width). The medians of --steps timed steps are reported, after
one untimed step: wall-clock seconds, and the process's CPU seconds (what the step costs a core of its own when
other jobs share the machine).
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import train  # noqa: E402
from anytok_torch.seq2seq import Seq2Seq  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--vocab", type=int, default=11149)
    ap.add_argument("--audio-ids", type=int, default=384)
    ap.add_argument("--sizes", nargs="+", default=["256:4:4:4:1024"])
    ap.add_argument("--bf16", action="store_true", help="matrix products in bfloat16 (torch.autocast)")
    ap.add_argument("--batch", type=lambda s: train.parse_per_task(s, int),
                    default="caption=8,detect=8,generate-image=8,speak=4,transcribe=4")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    caption = 16
    shapes = dict(zip(train.TASKS, [(260, caption), (260, caption + 1), (caption + 1, 259),
                                    (caption + 1, args.audio_ids + 1), (args.audio_ids + 2, caption)]))
    g = torch.Generator().manual_seed(0)
    print(f"threads {args.threads}, vocabulary {args.vocab}, batch {dict(zip(train.TASKS, args.batch))}, "
          f"(source, target) {shapes}")
    print("d_model heads enc dec ffn  parameters  f16 MB  s/step  cpu s/step")
    for size in args.sizes:
        d, h, e, l, f = (int(x) for x in size.split(":"))
        config = dict(d_model=d, nhead=h, num_encoder_layers=e, num_decoder_layers=l, dim_feedforward=f,
                      activation="gelu", norm_first=True, vocab_size=args.vocab,
                      max_positions=max(1024, args.audio_ids + 2),
                      positions="sinusoidal", scale_embeddings=True, tie_embeddings=True, bos_id=2, eos_id=3,
                      pad_id=0)
        model = Seq2Seq(config).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        batches, names = [], []
        for name, b in zip(train.TASKS, args.batch):
            s, t = shapes[name]
            if b:
                batches.append((torch.randint(4, args.vocab, (b, s), generator=g),
                                torch.randint(4, args.vocab, (b, t), generator=g),
                                torch.randint(4, args.vocab, (b, t), generator=g)))
                names.append(name)
        times, cpu, per_task = [], [], {name: [] for name in names}
        for k in range(args.steps + 1):
            start, start_cpu = time.perf_counter(), time.process_time()
            opt.zero_grad(set_to_none=True)
            for name, (src, tgt_in, labels) in zip(names, batches):
                task_cpu = time.process_time()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                    logits = model.logits(src, tgt_in)
                F.cross_entropy(logits.float().flatten(0, 1), labels.flatten()).backward()
                if k:
                    per_task[name].append(time.process_time() - task_cpu)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if k:
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
        n = sum(p.numel() for p in model.parameters())
        print(f"{d:7d} {h:5d} {e:3d} {l:3d} {f:4d}  {n / 1e6:8.2f} M  {n * 2 / 1e6:6.1f}  "
              f"{statistics.median(times):6.2f}  {statistics.median(cpu):10.2f}  ("
              + ", ".join(f"{name} {statistics.median(v):.2f}" for name, v in per_task.items()) + ")", flush=True)


if __name__ == "__main__":
    main()
