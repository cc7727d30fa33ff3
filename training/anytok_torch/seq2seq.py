"""Encoder-decoder token models (family "seq2seq") built on torch.nn.Transformer itself, so that its state_dict()
is the format's: embed.weight (shared by source and target inputs), pos.weight where positions are learned,
transformer.* exactly as torch.nn.Transformer names them, and lm_head.weight (absent when tied to embed.weight)
with lm_head.bias where the file has one. Configured by the same config.json as anytok reads."""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import safetensors_io

DEFAULTS = dict(activation="relu", norm_first=False, layer_norm_eps=1e-5, positions="sinusoidal",
                scale_embeddings=False, tie_embeddings=True)


def sinusoids(positions, dim):
    """P[p, 2i] = sin(p / 10000^(2i/D)), P[p, 2i+1] = cos(p / 10000^(2i/D)), evaluated in float64 and rounded
    once to float32, so that every runtime holds the same table whatever its own sin and cos are worth."""
    p = torch.arange(positions, dtype=torch.float64)[:, None]
    j = torch.arange(dim)
    angle = p / 10000.0 ** ((j - j % 2).double() / dim)
    return torch.where(j % 2 == 0, angle.sin(), angle.cos()).float()


class Seq2Seq(nn.Module):
    """config: the config.json keys (family and vocab are carried, not used). The head's bias is not a config key:
    a file has one or not, so it is a constructor flag here and load takes it from the file."""

    def __init__(self, config, lm_head_bias=False):
        super().__init__()
        self.config = c = {k: v for k, v in config.items() if k != "family"}
        for k, v in DEFAULTS.items():
            c.setdefault(k, v)
        d, v = c["d_model"], c["vocab_size"]
        self.embed = nn.Embedding(v, d)
        if c["positions"] == "learned":
            self.pos = nn.Embedding(c["max_positions"], d)
        elif c["positions"] == "sinusoidal":
            self.register_buffer("sinusoids", sinusoids(c["max_positions"], d), persistent=False)
        else:
            raise ValueError(f"positions must be sinusoidal or learned, not {c['positions']!r}")
        self.transformer = nn.Transformer(d, c["nhead"], c["num_encoder_layers"], c["num_decoder_layers"],
                                          c["dim_feedforward"], dropout=0.0, activation=c["activation"],
                                          layer_norm_eps=c["layer_norm_eps"], batch_first=True,
                                          norm_first=c["norm_first"])
        self.transformer.encoder.enable_nested_tensor = False
        self.lm_head = nn.Module()
        if not c["tie_embeddings"]:
            self.lm_head.weight = nn.Parameter(torch.randn(v, d) * d ** -0.5)
        if lm_head_bias:
            self.lm_head.bias = nn.Parameter(torch.zeros(v))

    def inputs(self, ids):
        """ids [B, N] → [B, N, D]: embeddings (times √D rounded to float32 where scale_embeddings) plus the
        positions 0..N−1; source and target each count from 0."""
        c, n = self.config, ids.shape[1]
        if n > c["max_positions"]:
            raise ValueError(f"{n} positions, the model has {c['max_positions']}")
        x = self.embed(ids)
        if c["scale_embeddings"]:
            x = x * math.sqrt(c["d_model"])
        return x + (self.pos.weight if hasattr(self, "pos") else self.sinusoids)[:n]

    def encode(self, src):
        """src [B, S], right-padded with pad_id → (memory [B, S, D], padding [B, S]). Nested tensors are off (they
        are a prototype in PyTorch 1.13 and would zero the padded rows before the final norm), so padded rows are
        computed like the others; they are masked as keys, so nothing reads them anyway. In eval without grad the
        encoder layers still take PyTorch's fused fast path, which agrees with the plain one to float32 rounding."""
        pad = src == self.config["pad_id"]
        return self.transformer.encoder(self.inputs(src), src_key_padding_mask=pad), pad

    def decode(self, memory, pad, tgt_in):
        """tgt_in [B, T] → logits [B, T, V], causally: position t sees tgt_in[:, :t+1] and all unpadded memory."""
        t = tgt_in.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=tgt_in.device).triu(1)
        out = self.transformer.decoder(self.inputs(tgt_in), memory, tgt_mask=causal, memory_key_padding_mask=pad)
        weight = self.embed.weight if self.config["tie_embeddings"] else self.lm_head.weight
        return F.linear(out, weight, getattr(self.lm_head, "bias", None))

    def logits(self, src, tgt_in):
        return self.decode(*self.encode(src), tgt_in)

    @torch.no_grad()
    def greedy(self, src, max_new_tokens, disallowed=()):
        """Greedy decoding from bos_id, the whole target recomputed at every step: the reference, not the fast
        way. Disallowed ids never win (disallowing eos_id makes every item run all max_new_tokens). Returns per
        item the list of new ids, ending with eos_id where it was produced; ties go to the lowest id."""
        eos = self.config["eos_id"]
        memory, pad = self.encode(src)
        tgt = torch.full((src.shape[0], 1), self.config["bos_id"], dtype=torch.long, device=src.device)
        done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
        for _ in range(max_new_tokens):
            step = self.decode(memory, pad, tgt)[:, -1]
            step[:, list(disallowed)] = -math.inf
            nxt = step.argmax(-1)
            tgt = torch.cat([tgt, nxt[:, None]], 1)
            done |= nxt == eos
            if done.all():
                break
        return [row[:row.index(eos) + 1] if eos in row else row for row in tgt[:, 1:].tolist()]

    def score(self, src, target):
        """Teacher-forced log-probabilities of target [B, T]: the decoder reads bos_id then target[:, :−1].
        Returns (per-id log-probabilities [B, T], their sums [B])."""
        bos = torch.full_like(target[:, :1], self.config["bos_id"])
        logp = torch.log_softmax(self.logits(src, torch.cat([bos, target[:, :-1]], 1)), -1)
        logp = logp.gather(-1, target[..., None])[..., 0]
        return logp, logp.sum(1)

    @classmethod
    def load(cls, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        if config.get("family", "seq2seq") != "seq2seq":
            raise ValueError(f"{model_dir} holds a {config['family']} model, not seq2seq")
        tensors, _ = safetensors_io.load(os.path.join(model_dir, "model.safetensors"))
        model = cls(config, lm_head_bias="lm_head.bias" in tensors)
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
        return model.eval()

    def save(self, model_dir, extra_config=None):
        os.makedirs(model_dir, exist_ok=True)
        config = dict(family="seq2seq", **self.config)
        config.update(extra_config or {})
        with open(os.path.join(model_dir, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
        safetensors_io.save(self.state_dict(), os.path.join(model_dir, "model.safetensors"))
