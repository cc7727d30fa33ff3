#!/usr/bin/python3
"""Golden cases of the seq2seq family, computed by the project's PyTorch module (training/anytok_torch/seq2seq.py,
which runs torch.nn.Transformer itself) in eval mode without grad. Run it with Debian's own Python:

    /usr/bin/python3 tests/data/seq2seq/make_cases.py

Each case folder holds a tiny model with random weights (config.json, model.safetensors), case.safetensors and
case.json (what is in it and facts about it). Every norm and bias is randomized, so that one read wrongly shows.
Random models make poor greedy tests: with tied embeddings the residual stream is mostly the input token's own
embedding, so the argmax copies bos forever, and eos is one id in 260. So each case draws its weights its own way
(tied ones: small embeddings, Xavier matrices times GAIN so that the layers outweigh the input; the eos row of the
head scaled up) and seeds are searched until greedy decoding makes a useful test: every item emits at least 5 ids
and 3 different ones before eos, at least one item stops at eos before the limit, and every greedy choice beats the
runner-up by at least MARGIN in logits, so float32 rounding between implementations cannot flip it.

Tensors in case.safetensors (B = 3, S = 10, T = 8, N = 12):
- src int64 [B, S]: ids in [3, V), the items 10, 7 and 4 long, right-padded with pad_id.
- tgt_in int64 [B, T]: bos_id, then random ids. logits float32 [B, T, V] = logits(src, tgt_in).
- greedy int64 [B, N]: greedy(src, N), the new ids without bos, up to and including eos; −1 after it.
- score_target int64 [B, T]: random ids ending with eos_id. score_logprobs float32 [B, T]: their teacher-forced
  log-probabilities, the decoder reading bos_id then score_target[:, :−1].
"""
import copy
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "training"))
from anytok_torch import safetensors_io  # noqa: E402
from anytok_torch.seq2seq import Seq2Seq  # noqa: E402

BATCH, LENGTHS, TGT_LEN, NEW_TOKENS = 3, (10, 7, 4), 8, 12
MARGIN = 1e-3
COMMON = dict(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=64,
              layer_norm_eps=1e-5, vocab_size=260, max_positions=64, bos_id=1, eos_id=2, pad_id=0)
CASES = {  # name: (config, lm_head bias, how the weights are drawn)
    "preln-sinusoidal-tied": (dict(COMMON, activation="gelu", norm_first=True, positions="sinusoidal",
                                   scale_embeddings=True, tie_embeddings=True), False,
                              dict(embed_std=0.2, gain=4, eos_scale=1.5)),
    "postln-learned-untied": (dict(COMMON, activation="relu", norm_first=False, positions="learned",
                                   scale_embeddings=False, tie_embeddings=False), True,
                              dict(embed_std=1, gain=1, eos_scale=2)),
    "preln-learned-tied-bias-1x3": (dict(COMMON, nhead=2, num_encoder_layers=1, num_decoder_layers=3,
                                         layer_norm_eps=1e-6, activation="relu", norm_first=True,
                                         positions="learned", scale_embeddings=True, tie_embeddings=True), True,
                                    dict(embed_std=0.2, gain=4, eos_scale=3)),
}


def random_model(config, bias, draw, seed):
    torch.manual_seed(seed)
    model = Seq2Seq(config, lm_head_bias=bias)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("embed.") or name == "lm_head.weight":
                p.normal_(0, draw["embed_std"])
            elif name.startswith("pos."):
                p.normal_(0, 0.5)
            elif name == "lm_head.bias":
                p.normal_(0, 2)
            elif p.dim() == 1:
                p.normal_(1 if "norm" in name and name.endswith("weight") else 0, 0.2)
            else:
                p.mul_(draw["gain"])
        head = model.embed.weight if config["tie_embeddings"] else model.lm_head.weight
        head[config["eos_id"]] *= draw["eos_scale"]
    return model.eval()


def inputs(seed, vocab, pad, bos, eos):
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(3, vocab, (BATCH, max(LENGTHS)), generator=gen)
    for i, n in enumerate(LENGTHS):
        src[i, n:] = pad
    tgt_in = torch.randint(3, vocab, (BATCH, TGT_LEN), generator=gen)
    tgt_in[:, 0] = bos
    target = torch.randint(3, vocab, (BATCH, TGT_LEN), generator=gen)
    target[:, -1] = eos
    return src, tgt_in, target


def greedy_facts(model, src, outputs):
    """Teacher-forces each item's greedy path to get the logits of every choice: checks that each choice is the
    argmax and returns the smallest lead over the runner-up."""
    c = model.config
    rows = [[c["bos_id"]] + out[:-1] + [c["pad_id"]] * (NEW_TOKENS - len(out)) for out in outputs]
    logits = model.logits(src, torch.tensor(rows))
    lead = float("inf")
    for i, out in enumerate(outputs):
        top = logits[i, :len(out)].topk(2, -1)
        assert top.indices[:, 0].tolist() == out, "teacher-forced argmax differs from greedy"
        lead = min(lead, (top.values[:, 0] - top.values[:, 1]).min().item())
    return lead


def useful(outputs, eos, lead):
    emitted = [out.index(eos) if eos in out else len(out) for out in outputs]
    return (min(emitted) >= 5 and any(eos in out for out in outputs) and lead >= MARGIN
            and all(len(set(out) - {eos}) >= 3 for out in outputs))


def make(name, config, bias, draw):
    for seed in range(1000):
        model = random_model(config, bias, draw, seed)
        src, tgt_in, target = inputs(seed, config["vocab_size"], config["pad_id"], config["bos_id"], config["eos_id"])
        with torch.no_grad():
            outputs = model.greedy(src, NEW_TOKENS)
            lead = greedy_facts(model, src, outputs)
        if useful(outputs, config["eos_id"], lead):
            break
    else:
        raise RuntimeError(f"{name}: no seed below 1000 gives a useful greedy case")
    with torch.no_grad():
        logits = model.logits(src, tgt_in)
        logprobs, _ = model.score(src, target)
    # With grad PyTorch takes its plain path, not the fused encoder layers; in float64, what float32 costs.
    plain = model.logits(src, tgt_in).detach()
    with torch.no_grad():
        exact = copy.deepcopy(model).double().logits(src, tgt_in)
    fast_path_diff = (logits - plain).abs().max().item()
    float32_error = (logits - exact).abs().max().item()
    assert fast_path_diff < 1e-5 * logits.abs().max().item(), fast_path_diff
    greedy = torch.full((BATCH, NEW_TOKENS), -1, dtype=torch.long)
    for i, out in enumerate(outputs):
        greedy[i, :len(out)] = torch.tensor(out)

    folder = os.path.join(HERE, name)
    model.save(folder)
    safetensors_io.save(dict(src=src, tgt_in=tgt_in, logits=logits, greedy=greedy, score_target=target,
                             score_logprobs=logprobs), os.path.join(folder, "case.safetensors"))
    facts = {
        "computed_by": f"anytok_torch.seq2seq.Seq2Seq on torch.nn.Transformer (PyTorch {torch.__version__}), "
                       "eval, no grad",
        "seed": seed,
        "lm_head_bias": bias,
        "weights_drawn": dict(draw, note="matrices: Xavier times gain; embeddings (and an untied head) N(0, "
                              "embed_std); head row eos_id times eos_scale; norms 1 + N(0, 0.2); biases N(0, 0.2); "
                              "lm_head.bias N(0, 2); learned positions N(0, 0.5)"),
        "src_lengths": list(LENGTHS),
        "tensors": {
            "src": f"int64 [{BATCH}, {max(LENGTHS)}], ids in [3, {config['vocab_size']}), right-padded with pad_id",
            "tgt_in": f"int64 [{BATCH}, {TGT_LEN}], bos_id then random ids",
            "logits": f"float32 [{BATCH}, {TGT_LEN}, {config['vocab_size']}], logits(src, tgt_in)",
            "greedy": f"int64 [{BATCH}, {NEW_TOKENS}], greedy(src, max_new_tokens={NEW_TOKENS}) without bos, "
                      "up to and including eos_id, -1 after it",
            "score_target": f"int64 [{BATCH}, {TGT_LEN}], random ids ending with eos_id",
            "score_logprobs": f"float32 [{BATCH}, {TGT_LEN}], log-probabilities of score_target, the decoder "
                              "reading bos_id then score_target[:, :-1]",
        },
        "greedy_lengths": [len(out) for out in outputs],
        "greedy_min_lead": lead,
        "logits_fused_vs_plain_max_abs_diff": fast_path_diff,
        "logits_vs_float64_max_abs_diff": float32_error,
        "logits_max_abs": logits.abs().max().item(),
    }
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump(facts, f, indent=1)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    print(f"{name}: seed {seed}, greedy {[len(o) for o in outputs]}, lead {lead:.3g}, "
          f"fused vs plain {fast_path_diff:.2g}, vs float64 {float32_error:.2g}, max |logit| "
          f"{logits.abs().max().item():.3g}, {size / 1024:.0f} KB")


if __name__ == "__main__":
    for name, (config, bias, draw) in CASES.items():
        make(name, config, bias, draw)
