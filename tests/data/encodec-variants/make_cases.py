#!/usr/bin/python3
"""Builds the EnCodec parity cases in tests/data/encodec-variants/<name>/: tiny models with seeded random weights
in SEANet configurations that the upstream golden cases (tests/data/golden/encodec-*) do not cover, and what the
PyTorch reference (training/anytok_torch/encodec.py, itself checked against the golden cases) computes with them.

Every folder follows the golden case format (tests/data/golden/README.md): config.json, model.safetensors,
case.safetensors with input [B,C,L] (PCM_16 / 32768), codes [B,K,T] int64, scales [B,S] (when normalize),
decoded [B,C,L'] = decode(codes), margin/nearest/runner_up [B,K,T] (float64 squared distances of the residual
actually quantized, margin = (d2 − d1)/d1), and case.json saying what the case exercises.

    /usr/bin/python3 tests/data/encodec-variants/make_cases.py [--upstream PATH] [--only NAME ...]

With --upstream PATH (a checkout of facebookresearch/encodec, the folder holding encodec/), every case is also
recomputed with upstream's own EncodecModel (einops and torchaudio stubbed, as inference does not need them) and
the script fails unless its codes match (near-tie rule) and its decoding of the case's codes is within 1e-5.
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "training"))
from anytok_torch import safetensors_io  # noqa: E402
from anytok_torch.encodec import EnCodec, hf_name  # noqa: E402

SR = 8000

# name → (config, what the case exercises, batch, input length, seed, key scheme, prefix)
VARIANTS = {
    "noncausal-weightnorm": dict(
        config=dict(sample_rate=SR, channels=1, causal=False, norm="weight_norm", normalize=False, segment=None,
                    n_q=4, bins=64, target_bandwidths=[8.0, 16.0], bandwidth=16.0,
                    seanet=dict(dimension=16, n_filters=4, ratios=[2, 3, 2], n_residual_layers=2, lstm=1,
                                dilation_base=3)),
        what="non-causal weight-norm model that streams: odd stride 3 (asymmetric padding/trim), two residual "
             "layers per level with dilations 1 and 3, one LSTM layer; unsegmented, not normalized",
        batch=2, length=2203, seed=101),
    "causal-trim-half": dict(
        config=dict(sample_rate=SR, channels=1, causal=True, norm="weight_norm", normalize=False, segment=None,
                    n_q=4, bins=32, target_bandwidths=[3.5, 7.0, 14.0], bandwidth=7.0,
                    seanet=dict(dimension=24, n_filters=8, ratios=[3, 4], n_residual_layers=1, lstm=1,
                                kernel_size=5, last_kernel_size=3, residual_kernel_size=5, compress=4,
                                true_skip=True, trim_right_ratio=0.5)),
        what="causal, trim_right_ratio 0.5 (transposed convs trim on both sides), one LSTM layer, true_skip "
             "(identity shortcut), compress 4, kernels 5/3/5; bandwidth 7 kbps of [3.5, 7, 14] at frame rate "
             "ceil(8000/12) = 667 selects 2 of 4 codebooks",
        batch=2, length=2400, seed=202),
    "no-lstm-constant-pad": dict(
        config=dict(sample_rate=SR, channels=1, causal=False, norm="none", normalize=False, segment=None,
                    n_q=3, bins=64, target_bandwidths=[6.0], bandwidth=None,
                    seanet=dict(dimension=16, n_filters=8, ratios=[5, 2], n_residual_layers=1, lstm=0,
                                pad_mode="constant")),
        what="no LSTM, zero ('constant') padding, plain convs (norm none, key 'weight'), non-causal and streaming, "
             "odd stride 5; no bandwidth: all 3 codebooks",
        batch=1, length=3001, seed=303),
    "segments-no-normalize": dict(
        config=dict(sample_rate=SR, channels=2, causal=False, norm="time_group_norm", normalize=False, segment=0.05,
                    overlap=0.1, n_q=4, bins=32, target_bandwidths=[5.0, 10.0], bandwidth=10.0,
                    seanet=dict(dimension=16, n_filters=4, ratios=[4, 2], n_residual_layers=1, lstm=1)),
        what="stereo, time_group_norm, segments of 400 samples every 360 (overlap 0.1) without normalization (no "
             "scales); the input length 1470 makes the last two segments short (390 and 30 samples, the last one "
             "wholly inside the previous one's overlap), so decoding needs the encoded length",
        batch=2, length=1470, seed=404),
    "hf-parametrizations": dict(
        config=dict(sample_rate=SR, channels=1, causal=True, norm="weight_norm", normalize=True, segment=None,
                    n_q=4, bins=64, target_bandwidths=[6.0, 12.0, 24.0], bandwidth=12.0,
                    seanet=dict(dimension=16, n_filters=4, ratios=[4, 2], n_residual_layers=1, lstm=2)),
        what="transformers key names with torch parametrizations (…conv.parametrizations.weight.original0/1, "
             "quantizer.layers.K.codebook.*) under the common prefix 'model.'; causal, normalize without "
             "segments (one scale per item)",
        batch=2, length=1800, seed=505, keys="hf-parametrizations", prefix="model."),
    "even-kernels-replicate": dict(
        config=dict(sample_rate=SR, channels=2, causal=False, norm="weight_norm", normalize=False, segment=None,
                    n_q=3, bins=32, target_bandwidths=[5.0, 10.0, 15.0], bandwidth=None,
                    seanet=dict(dimension=16, n_filters=4, ratios=[3, 2], n_residual_layers=1, lstm=0,
                                kernel_size=4, last_kernel_size=2, residual_kernel_size=2, pad_mode="replicate")),
        what="stereo, non-causal and streaming, even kernels at stride 1 (kernel 4: padding 2 left / 1 right; "
             "kernel 2: 1 / 0), 'replicate' padding, no LSTM; no bandwidth: all 3 codebooks",
        batch=2, length=1201, seed=808),
    "segments-normalize-causal": dict(
        config=dict(sample_rate=SR, channels=1, causal=True, norm="weight_norm", normalize=True, segment=0.04,
                    overlap=0.0, n_q=3, bins=32, target_bandwidths=[4.0, 8.0, 12.0], bandwidth=8.0,
                    seanet=dict(dimension=16, n_filters=4, ratios=[5, 2], n_residual_layers=1, lstm=1)),
        what="causal weight-norm model in segments of 320 samples without overlap (stride 320), each normalized "
             "(one scale per segment); the input length 1000 leaves a last segment of 40 samples; 8 of 12 kbps "
             "at frame rate 800 selects 2 of 3 codebooks",
        batch=2, length=1000, seed=909),
    "short-input": dict(
        config=dict(sample_rate=SR, channels=1, causal=False, norm="weight_norm", normalize=False, segment=None,
                    n_q=2, bins=32, target_bandwidths=[10.0], bandwidth=None,
                    seanet=dict(dimension=16, n_filters=4, ratios=[2, 2, 2], n_residual_layers=1, lstm=1)),
        what="9 samples, non-causal reflect padding: the deeper convs (kernel 7 on 2 frames, stride-2 kernel 4 "
             "on 3-5 steps) see inputs no longer than their padding, so pad1d's zero-extension rule applies",
        batch=2, length=9, seed=606),
    "short-input-causal": dict(
        config=dict(sample_rate=SR, channels=1, causal=True, norm="weight_norm", normalize=False, segment=None,
                    n_q=2, bins=32, target_bandwidths=[10.0], bandwidth=None,
                    seanet=dict(dimension=16, n_filters=4, ratios=[2, 2], n_residual_layers=1, lstm=1)),
        what="5 samples, causal reflect padding: the first conv pads 6 on the left, more than the input, so "
             "pad1d's zero-extension rule applies from the first layer on",
        batch=1, length=5, seed=707),
}


def signal(batch, channels, length, seed):
    """Seeded audio-like input: a few decaying tones, a chirp and noise, as PCM_16 / 32768."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float64) / SR
    out = torch.zeros(batch, channels, length, dtype=torch.float64)
    for b in range(batch):
        for c in range(channels):
            x = torch.zeros(length, dtype=torch.float64)
            for _ in range(3):
                f = 80 + 1500 * torch.rand(1, generator=g, dtype=torch.float64)
                a = 0.05 + 0.2 * torch.rand(1, generator=g, dtype=torch.float64)
                ph = 2 * math.pi * torch.rand(1, generator=g, dtype=torch.float64)
                x += a * torch.sin(2 * math.pi * f * t + ph) * torch.exp(-t * 3 * torch.rand(1, generator=g))
            x += 0.1 * torch.sin(2 * math.pi * (200 + 2000 * t) * t)
            x += 0.03 * torch.randn(length, generator=g, dtype=torch.float64)
            out[b, c] = x
    pcm = torch.clamp(torch.round(out * 32768), -32768, 32767)
    return (pcm / 32768).float()


def convs(module):
    """The model's Conv1d / ConvTranspose1d layers in forward order."""
    return [m for m in module.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d))]


def randomize(model, g):
    """Random weights everywhere (weight_v, weight_g, biases, GroupNorm affine, LSTM), before calibration."""
    with torch.no_grad():
        for conv in convs(model):
            if hasattr(conv, "weight_v"):
                conv.weight_v.copy_(torch.randn(conv.weight_v.shape, generator=g))
                conv.weight_g.copy_(0.5 + torch.rand(conv.weight_g.shape, generator=g))
            else:
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) / math.sqrt(conv.weight[0].numel()))
            conv.bias.copy_(0.1 * torch.randn(conv.bias.shape, generator=g))
        for m in model.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, torch.nn.LSTM):
                bound = 1.5 / math.sqrt(m.hidden_size)
                for p in m.parameters():
                    p.copy_((2 * torch.rand(p.shape, generator=g) - 1) * bound)


def calibrate(layers, run, last_target):
    """Scales each conv in turn so that its output has an RMS of about 1 (the last one last_target) on
    the case's own input: activations neither vanish nor explode through the tiny random network."""
    for i, conv in enumerate(layers):
        seen = []
        hook = conv.register_forward_hook(lambda m, a, out: seen.append(out.detach()))
        with torch.no_grad():
            run()
        hook.remove()
        rms = torch.cat([s.flatten() for s in seen]).pow(2).mean().sqrt().item()  # defined for 1 sample too
        factor = (last_target if i == len(layers) - 1 else 1.0) / max(rms, 1e-6)
        with torch.no_grad():
            if hasattr(conv, "weight_g"):
                conv.weight_g.mul_(factor)
            else:
                conv.weight.mul_(factor)
            conv.bias.mul_(factor)


def frames_of(model, x):
    """The encoder's output for every segment (normalized as encode does), [N, D] rows in the order codes are."""
    rows = []
    offsets = range(0, x.shape[-1], model.segment_stride or x.shape[-1])
    for offset, length in zip(offsets, model.segment_lengths(x.shape[-1])):
        seg = x[..., offset:offset + length]
        if model.normalize:
            seg = seg / (1e-8 + seg.mean(1, keepdim=True).pow(2).mean(2, keepdim=True).sqrt())
        rows.append(model.encoder(seg))
    return rows


def fit_codebooks(model, x, g):
    """Codebooks drawn around the residuals they will quantize: codebook k ~ N(mean, std² + mean²/4) of the residual
    left by codebooks < k (per dimension), so that codes spread over the bins and every stage matters."""
    with torch.no_grad():
        z = torch.cat([f.transpose(1, 2).reshape(-1, f.shape[1]) for f in frames_of(model, x)])
        residual = z
        for layer in model.quantizer.vq.layers:
            cb = layer._codebook
            mean, std = residual.mean(0), residual.std(0, unbiased=False)
            spread = (std.pow(2) + 0.25 * mean.pow(2)).sqrt()  # not 0 for a single frame
            cb.embed.copy_(mean + spread * torch.randn(cb.embed.shape, generator=g))
            cb.embed_avg.copy_(cb.embed * (1 + 0.1 * torch.rand(cb.embed.shape, generator=g)))
            cb.cluster_size.copy_(torch.rand(cb.cluster_size.shape, generator=g) * 10)
            cb.inited.fill_(1)
            d = residual.pow(2).sum(1, keepdim=True) - 2 * residual @ cb.embed.t() + cb.embed.pow(2).sum(1)[None]
            residual = residual - cb.embed[d.argmin(1)]


def margins(model, x, codes):
    """margin, nearest, runner_up [B,K,T]: float64 squared distances of each residual that was quantized (the
    float32 residual of the codes actually chosen) to every code."""
    b, k_count, _ = codes.shape
    out = {n: [] for n in ("margin", "nearest", "runner_up")}
    t0 = 0
    with torch.no_grad():
        for f in frames_of(model, x):
            t = f.shape[2]
            residual = f.transpose(1, 2).reshape(-1, f.shape[1])
            seg = {n: [] for n in out}
            for k in range(k_count):
                embed = model.quantizer.vq.layers[k]._codebook.embed
                d = ((residual.double()[:, None, :] - embed.double()[None]) ** 2).sum(-1)
                s, i = d.sort(1)
                seg["margin"].append(((s[:, 1] - s[:, 0]) / s[:, 0]).float().reshape(b, t))
                seg["nearest"].append(i[:, 0].reshape(b, t))
                seg["runner_up"].append(i[:, 1].reshape(b, t))
                residual = residual - embed[codes[:, k, t0:t0 + t].reshape(-1)]
            for n in out:
                out[n].append(torch.stack(seg[n], 1))
            t0 += t
    return {n: torch.cat(v, 2) for n, v in out.items()}


def hf_parametrization_names(state, prefix):
    """Original key names → transformers' with weight norm as torch parametrizations, under a prefix."""
    out = {}
    for name, tensor in state.items():
        new = hf_name(name)
        if new.endswith(".weight_g"):
            new = new[:-len("weight_g")] + "parametrizations.weight.original0"
        elif new.endswith(".weight_v"):
            new = new[:-len("weight_v")] + "parametrizations.weight.original1"
        out[prefix + new] = tensor
    return out


def build(name, spec, out_root):
    cfg = spec["config"]
    torch.manual_seed(spec["seed"])
    g = torch.Generator().manual_seed(spec["seed"])
    model = EnCodec(**cfg).eval()
    x = signal(spec["batch"], cfg["channels"], spec["length"], spec["seed"] + 1)
    randomize(model, g)
    calibrate(convs(model.encoder), lambda: frames_of(model, x), 1.0)
    fit_codebooks(model, x, g)
    with torch.no_grad():
        codes, _ = model.encode(x)
    calibrate(convs(model.decoder), lambda: model.decode(codes, None, x.shape[-1]), 0.3)
    last_norm = model.decoder.model[-1].conv.norm
    if isinstance(last_norm, torch.nn.GroupNorm):  # it undoes the calibration: scale its affine instead
        with torch.no_grad():
            last_norm.weight.mul_(0.3)
            last_norm.bias.mul_(0.3)

    with torch.no_grad():
        codes, scales = model.encode(x)
        decoded = model.decode(codes, scales, x.shape[-1])
    case = dict(input=x, codes=codes, decoded=decoded, **margins(model, x, codes))
    if scales is not None:
        case["scales"] = scales

    folder = os.path.join(out_root, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    model.save(folder)
    keys, prefix = spec.get("keys", "encodec"), spec.get("prefix", "")
    if keys != "encodec" or prefix:
        state = model.state_dict()
        if keys != "encodec":
            state = hf_parametrization_names(state, prefix)
        else:
            state = {prefix + k: v for k, v in state.items()}
        safetensors_io.save(state, os.path.join(folder, "model.safetensors"))
    safetensors_io.save(case, os.path.join(folder, "case.safetensors"))

    frame_rate = math.ceil(cfg["sample_rate"] / math.prod(cfg["seanet"]["ratios"]))
    info = dict(computed_by="training/anytok_torch/encodec.py (PyTorch reference; checked against upstream "
                            "facebookresearch/encodec with make_cases.py --upstream)",
                script="tests/data/encodec-variants/make_cases.py", key_names=keys, prefix=spec.get("prefix", ""),
                seed=spec["seed"], exercises=spec["what"], input_length=spec["length"], frame_rate=frame_rate,
                segment_lengths=model.segment_lengths(spec["length"]),
                streams=not cfg.get("segment") and not cfg.get("normalize") and cfg["norm"] != "time_group_norm",
                input_transform="PCM_16 / 32768 of a seeded synthetic signal",
                codes_shape=list(codes.shape), decoded_shape=list(decoded.shape),
                near_ties=int((case["margin"] < 1e-3).sum()),
                distinct_codes_per_codebook=[len(codes[:, k].unique()) for k in range(codes.shape[1])],
                decoded_std=round(decoded.std().item(), 4),
                note="seanet keys absent from config.json take the upstream SEANetEncoder/SEANetDecoder defaults")
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump(info, f, indent=1)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    print(f"{name}: codes {list(codes.shape)}, decoded {list(decoded.shape)} (std {decoded.std().item():.3f}), "
          f"near-ties {info['near_ties']}, distinct codes {info['distinct_codes_per_codebook']}, {size // 1024} KB")
    return folder, model


# --- cross-check against upstream facebookresearch/encodec -------------------------------------------------------

def _stub_imports():
    """einops (the handful of patterns inference uses) and torchaudio (only imported) for upstream's modules."""
    patterns = {
        "b ... t -> b t ...": lambda x: x.movedim(-1, 1), "b t ... -> b ... t": lambda x: x.movedim(1, -1),
        "b d n -> b n d": lambda x: x.transpose(1, 2), "b n d -> b d n": lambda x: x.transpose(1, 2),
        "... d -> (...) d": lambda x: x.reshape(-1, x.shape[-1]), "n d -> n () d": lambda x: x[:, None],
        "c d -> () c d": lambda x: x[None],
    }
    einops = types.ModuleType("einops")
    einops.rearrange = lambda x, p, **_: patterns[p](x)
    einops.repeat = lambda x, p, d: x[:, None].expand(-1, d)
    sys.modules.setdefault("einops", einops)
    sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))


def check_upstream(folder, upstream):
    _stub_imports()
    sys.path.insert(0, upstream)
    from encodec.model import EncodecModel  # noqa: E402
    from encodec import modules as m, quantization as qt  # noqa: E402
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    s = cfg["seanet"]
    common = dict(channels=cfg["channels"], dimension=s["dimension"], n_filters=s["n_filters"],
                  n_residual_layers=s["n_residual_layers"], ratios=s["ratios"], norm=cfg["norm"],
                  kernel_size=s["kernel_size"], last_kernel_size=s["last_kernel_size"],
                  residual_kernel_size=s["residual_kernel_size"], dilation_base=s["dilation_base"],
                  causal=cfg["causal"], pad_mode=s["pad_mode"], true_skip=s["true_skip"], compress=s["compress"],
                  lstm=s["lstm"])
    model = EncodecModel(m.SEANetEncoder(**common),
                         m.SEANetDecoder(**common, trim_right_ratio=s["trim_right_ratio"]),
                         qt.ResidualVectorQuantizer(dimension=s["dimension"], n_q=cfg["n_q"], bins=cfg["bins"]),
                         cfg["target_bandwidths"], cfg["sample_rate"], cfg["channels"], normalize=cfg["normalize"],
                         segment=cfg["segment"], overlap=cfg["overlap"])
    # Loaded through the reference, so that renamed (transformers) checkpoints come back in upstream's names.
    model.load_state_dict(EnCodec.load(_unprefixed(folder)).state_dict())
    model.eval()
    if cfg["bandwidth"]:
        model.set_target_bandwidth(cfg["bandwidth"])
    case, _ = safetensors_io.load(os.path.join(folder, "case.safetensors"))
    with torch.no_grad():
        frames = model.encode(case["input"])
        codes = torch.cat([c for c, _ in frames], 2)
        ts = [c.shape[2] for c, _ in frames]
        ref = torch.split(case["codes"], ts, 2)
        scales = case.get("scales")
        decoded = model.decode([(c, None if scales is None else scales[:, i:i + 1]) for i, c in enumerate(ref)])
    assert codes.shape == case["codes"].shape, (codes.shape, case["codes"].shape)
    differs = codes != case["codes"]
    comparable = differs.long().cumsum(1) - differs.long() == 0
    near = case["margin"] < 1e-3
    either = (codes == case["nearest"]) | (codes == case["runner_up"])
    assert not (comparable & differs & ~near).any(), f"{folder}: upstream codes differ away from a near-tie"
    assert not (comparable & differs & ~either).any(), f"{folder}: upstream near-tie code not nearest/runner-up"
    if scales is not None:
        up = torch.cat([s for _, s in frames], 1)
        assert torch.allclose(up, scales, rtol=1e-6, atol=0), f"{folder}: scales"
    assert decoded.shape == case["decoded"].shape, (decoded.shape, case["decoded"].shape)
    err = (decoded - case["decoded"]).abs().max().item()
    assert err <= 1e-5, f"{folder}: upstream decodes the codes {err:.3g} away"
    print(f"  upstream agrees: {int(differs.sum())} codes differ (near-ties), decoded within {err:.3g}")


def _unprefixed(folder):
    """The folder itself, or a temporary copy with the key prefix stripped (the reference does not strip one)."""
    with open(os.path.join(folder, "case.json")) as f:
        prefix = json.load(f).get("prefix", "")
    if not prefix:
        return folder
    tmp = tempfile.mkdtemp()
    shutil.copy(os.path.join(folder, "config.json"), tmp)
    tensors, _ = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    safetensors_io.save({k[len(prefix):]: v for k, v in tensors.items()}, os.path.join(tmp, "model.safetensors"))
    return tmp


def check_reload(folder, model):
    """The saved checkpoint, read back through the reference's loader, is the model that computed the case."""
    again = EnCodec.load(_unprefixed(folder)).state_dict()
    assert all(torch.equal(v, again[k]) for k, v in model.state_dict().items()), f"{folder}: reload"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", help="facebookresearch/encodec checkout to cross-check every case against")
    ap.add_argument("--only", nargs="*", help="variants to build (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name, spec in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        folder, model = build(name, spec, HERE)
        check_reload(folder, model)
        if args.upstream:
            check_upstream(folder, args.upstream)
    print("ok")


if __name__ == "__main__":
    main()
