#!/usr/bin/python3
"""Seq2seq greedy decoding speed: anytok against PyTorch on the same architecture, weights, inputs, machine and
thread count.

Builds a Transformer-base-sized encoder-decoder (d_model 512, 8 heads, 6 + 6 layers, FFN 2048, vocabulary 32000,
pre-LN, GELU, sinusoidal positions, scaled and tied embeddings) with random weights, then times greedy decoding of
exactly 256 new ids from sources of 64 random ids, batch 1 and 8, each measurement in a process of its own so that
peak resident memory belongs to that measurement alone. Throughput = batch · new ids / seconds (higher is better).

    bench/seq2seq.py [--threads N] [--repeat R] [--build DIR] [--batches 1,8] [--new-tokens 256]

PyTorch's side is a strong baseline, not Seq2Seq.greedy (which recomputes the whole target at every step): it
encodes once, projects each decoder layer's cross-attention keys and values once, caches self-attention keys and
values, and runs one new position per step on the module's own weights, laid out for the batch's products
(prepare(), untimed like loading). Before timing, the script checks that its ids and logits agree with
Seq2Seq.greedy on a short run. Threads: with MKL, torch.set_num_threads(THREADS) governs
PyTorch's ops and its BLAS alike. Debian's PyTorch calls OpenBLAS, whose own thread pool ignores set_num_threads
and fights PyTorch's OpenMP pool for the cores (decoding ran 4x slower with both at 2 threads on 2 cores); there
the worker gives OpenBLAS THREADS threads (OPENBLAS_NUM_THREADS) and runs PyTorch's own ops in one, the fastest
setting measured, so that either side computes on THREADS threads at most.

anytok's side is BUILD/bench/seq2seq_bench, given the very model and inputs PyTorch times:

    seq2seq_bench MODEL_DIR BATCH NEW_TOKENS REPEAT THREADS SRC.safetensors

- MODEL_DIR: config.json (family "seq2seq") and model.safetensors as Seq2Seq.save writes them (tied: no
  lm_head.weight, no lm_head.bias).
- SRC.safetensors: one tensor "src", int64 [BATCH, 64], ids in [3, 32000); no padding.
- One run: encode src, then greedy decoding from bos_id for exactly NEW_TOKENS steps per item. eos_id is a
  disallowed id (its logit is −inf before the argmax), so no item stops early and nothing stops on eos; ties go
  to the lowest id.
- Loading the model and reading the input are not timed. One untimed run, then REPEAT timed ones; it prints one
  JSON line {"seconds": best seconds of one whole run, "peak_rss_mb": VmHWM in MiB}.
"""
import argparse
import json
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))

from measure import best_seconds, measure, peak_rss_mb  # noqa: E402  (bench/ is the script's own folder)

SRC_LEN = 64
MODEL = dict(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
             activation="gelu", norm_first=True, layer_norm_eps=1e-5, vocab_size=32000, max_positions=512,
             positions="sinusoidal", scale_embeddings=True, tie_embeddings=True, bos_id=1, eos_id=2, pad_id=0)


def random_model(seed=0):
    """PyTorch's initialization, but embeddings N(0, 1/√D) as Transformer recipes draw them, so that tied logits
    stay of order 1. Random weights make greedy decoding repeat an id or two; the work per step is the same, and
    check() compares every step's logits, not the ids alone."""
    import torch
    from anytok_torch.seq2seq import Seq2Seq
    torch.manual_seed(seed)
    model = Seq2Seq(MODEL)
    with torch.no_grad():
        model.embed.weight.normal_(0, MODEL["d_model"] ** -0.5)
    return model.eval()


def prepare(model, batch):
    """Lays the decoder's matrices and the head out for the products a step makes (not timed, like loading). One
    row: OpenBLAS's matrix-vector product on row-major W runs about twice as fast as F.linear's one-row GEMM.
    Several rows: x · Wᵀ with Wᵀ contiguous made a whole batch-8 decode about 15% faster than F.linear on W.
    Only strides change; the module computes the same."""
    import torch
    if batch == 1:
        return
    layers = model.transformer.decoder.layers
    matrices = [p for layer in layers for name, p in layer.named_parameters() if p.dim() == 2]
    head = model.embed.weight if model.config["tie_embeddings"] else model.lm_head.weight
    with torch.no_grad():
        for p in matrices + [head]:
            p.data = p.data.t().contiguous().t()


def linear(x, w, b=None):
    """x [B, K] · wᵀ (+ b): a matrix-vector product for one row, a GEMM otherwise."""
    import torch
    if x.shape[0] == 1:
        return (torch.mv(w, x[0]) if b is None else torch.addmv(b, w, x[0]))[None]
    return torch.mm(x, w.t()) if b is None else torch.addmm(b, x, w.t())


def cached_greedy(model, src, new_tokens, disallowed=(), keep_logits=False):
    """Greedy decoding on a Seq2Seq's weights, one position per step: keys and values of the cross-attention are
    projected once per input, those of the self-attention cached per layer. Returns ids [B, new_tokens] (and the
    logits of each step [B, new_tokens, V] with keep_logits)."""
    import torch
    import torch.nn.functional as F
    c, layers = model.config, model.transformer.decoder.layers
    d, h, pre = c["d_model"], c["nhead"], c["norm_first"]
    hd = d // h
    memory, pad = model.encode(src)
    b, s = pad.shape
    cross_mask = torch.zeros(b * h, 1, s).masked_fill(pad.repeat_interleave(h, 0)[:, None], -math.inf)
    cross = []
    for layer in layers:
        attn = layer.multihead_attn
        kv = F.linear(memory, attn.in_proj_weight[d:], attn.in_proj_bias[d:]).view(b, s, 2, h, hd)
        k, v = kv.permute(2, 0, 3, 1, 4).reshape(2, b * h, s, hd)
        cross.append((k.transpose(1, 2).contiguous(), v.contiguous()))
    keys = [torch.empty(b * h, new_tokens, hd) for _ in layers]
    values = [torch.empty(b * h, new_tokens, hd) for _ in layers]
    table = model.pos.weight if hasattr(model, "pos") else model.sinusoids
    head = model.embed.weight if c["tie_embeddings"] else model.lm_head.weight
    bias = getattr(model.lm_head, "bias", None)
    scale = math.sqrt(d) if c["scale_embeddings"] else 1.0
    ids = torch.full((b,), c["bos_id"], dtype=torch.long)
    out, kept = torch.empty(b, new_tokens, dtype=torch.long), []
    for t in range(new_tokens):
        x = model.embed.weight[ids] * scale + table[t]
        for i, layer in enumerate(layers):
            attn = layer.self_attn
            y = layer.norm1(x) if pre else x
            q, k, v = linear(y, attn.in_proj_weight, attn.in_proj_bias).view(b, 3, h, hd).unbind(1)
            keys[i][:, t] = k.reshape(b * h, hd)
            values[i][:, t] = v.reshape(b * h, hd)
            w = torch.bmm(q.reshape(b * h, 1, hd) / math.sqrt(hd), keys[i][:, :t + 1].transpose(1, 2))
            y = torch.bmm(torch.softmax(w, -1), values[i][:, :t + 1]).view(b, d)
            y = linear(y, attn.out_proj.weight, attn.out_proj.bias)
            x = x + y if pre else layer.norm1(x + y)

            attn, (ck, cv) = layer.multihead_attn, cross[i]
            y = layer.norm2(x) if pre else x
            q = linear(y, attn.in_proj_weight[:d], attn.in_proj_bias[:d]).view(b * h, 1, hd)
            w = torch.baddbmm(cross_mask, q / math.sqrt(hd), ck)
            y = torch.bmm(torch.softmax(w, -1), cv).view(b, d)
            y = linear(y, attn.out_proj.weight, attn.out_proj.bias)
            x = x + y if pre else layer.norm2(x + y)

            y = layer.norm3(x) if pre else x
            y = linear(layer.activation(linear(y, layer.linear1.weight, layer.linear1.bias)),
                       layer.linear2.weight, layer.linear2.bias)
            x = x + y if pre else layer.norm3(x + y)
        logits = linear(model.transformer.decoder.norm(x), head, bias)
        logits[:, list(disallowed)] = -math.inf
        ids = logits.argmax(-1)
        out[:, t] = ids
        if keep_logits:
            kept.append(logits)
    return (out, torch.stack(kept, 1)) if keep_logits else out


def check(model, new_tokens=8):
    """Cached decoding against Seq2Seq.greedy (whole target recomputed each step), one source alone, then two, one
    of them padded; each after prepare() for its batch. Returns the ids of the first and the largest difference
    between step logits and the reference's teacher-forced ones."""
    import torch
    c = model.config
    gen = torch.Generator().manual_seed(1)
    src = torch.randint(3, c["vocab_size"], (2, SRC_LEN), generator=gen)
    src[1, SRC_LEN // 2:] = c["pad_id"]
    allowed = torch.arange(c["vocab_size"]) != c["eos_id"]
    diff = 0.0
    for batch in (1, 2):
        prepare(model, batch)
        with torch.inference_mode():
            ids, logits = cached_greedy(model, src[:batch], new_tokens, [c["eos_id"]], keep_logits=True)
            reference = model.greedy(src[:batch], new_tokens, [c["eos_id"]])
            bos = torch.full((batch, 1), c["bos_id"], dtype=torch.long)
            forced = model.logits(src[:batch], torch.cat([bos, ids[:, :-1]], 1))
        if ids.tolist() != reference:
            sys.exit(f"cached decoding gave {ids.tolist()}, Seq2Seq.greedy {reference}")
        diff = max(diff, (logits - forced)[..., allowed].abs().max().item())
    return ids[0], diff


def torch_worker(model_dir, batch, new_tokens, src_path, repeat, threads):
    import torch
    from anytok_torch import safetensors_io
    from anytok_torch.seq2seq import Seq2Seq
    torch.set_num_threads(threads if torch.backends.mkl.is_available() else 1)
    model = Seq2Seq.load(model_dir)
    src = safetensors_io.load(src_path)[0]["src"]
    assert src.shape[0] == batch
    prepare(model, batch)
    run = lambda: cached_greedy(model, src, new_tokens, [model.config["eos_id"]])
    with torch.inference_mode():
        best = best_seconds(run, repeat)
    print(json.dumps({"seconds": best, "peak_rss_mb": peak_rss_mb()}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--batches", default="1,8")
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--torch-worker", nargs=5, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.torch_worker:
        d, batch, new_tokens, src, repeat = a.torch_worker
        return torch_worker(d, int(batch), int(new_tokens), src, int(repeat), a.threads)

    import torch
    from anytok_torch import safetensors_io
    binary = os.path.join(a.build, "bench", "seq2seq_bench")
    have_binary = os.path.exists(binary)
    if not have_binary:
        print(f"{binary} is missing (build first: scripts/setup); timing PyTorch alone")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "seq2seq-base")
        model = random_model()
        model.save(model_dir)
        weights_mb = os.path.getsize(os.path.join(model_dir, "model.safetensors")) / 2**20
        ids, diff = check(model)
        print(f"check: cached decoding = Seq2Seq.greedy for {len(ids)} ids (e.g. {ids.tolist()}), "
              f"step logits within {diff:.2g}")
        del model

        print(f"seq2seq d512 8 heads 6+6 layers FFN 2048 vocab 32000 pre-LN tied, {SRC_LEN}-id sources, "
              f"{a.new_tokens} new ids (eos disallowed), {a.threads} threads, best of {a.repeat}; "
              f"new ids/s (higher is better), weights {weights_mb:.0f} MB")
        print(f"{'batch':>5} {'pytorch':>9} {'anytok':>9} {'ratio':>6} {'rss torch':>10} {'rss anytok':>10}")
        for batch in map(int, a.batches.split(",")):
            src_path = os.path.join(tmp, f"src-{batch}.safetensors")
            gen = torch.Generator().manual_seed(batch)
            safetensors_io.save({"src": torch.randint(3, MODEL["vocab_size"], (batch, SRC_LEN), generator=gen)},
                                src_path)
            theirs = measure([sys.executable, __file__, "--threads", str(a.threads), "--torch-worker",
                              model_dir, str(batch), str(a.new_tokens), src_path, str(a.repeat)],
                             dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads)))
            tput_theirs = batch * a.new_tokens / theirs["seconds"]
            row = f"{batch:>5} {tput_theirs:>9.1f} "
            if have_binary:
                ours = measure([binary, model_dir, str(batch), str(a.new_tokens), str(a.repeat), str(a.threads),
                                src_path])
                tput_ours = batch * a.new_tokens / ours["seconds"]
                row += (f"{tput_ours:>9.1f} {tput_ours / tput_theirs:>5.2f}x "
                        f"{theirs['peak_rss_mb']:>8.0f}MB {ours['peak_rss_mb']:>8.0f}MB")
            else:
                row += f"{'-':>9} {'-':>6} {theirs['peak_rss_mb']:>8.0f}MB {'-':>10}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
