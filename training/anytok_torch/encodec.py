"""EnCodec (SEANet encoder/decoder, LSTM, residual VQ) in PyTorch, with facebookresearch/encodec's module names,
so that its state_dict() is the original checkpoint layout. Configured by the same config.json as anytok reads
(sample_rate, channels, causal, norm, normalize, segment, overlap, n_q, bins, target_bandwidths, bandwidth, seanet)."""
import json
import math
import os
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import safetensors_io

SEANET = dict(dimension=128, n_filters=32, ratios=[8, 5, 4, 2], n_residual_layers=1, lstm=2, kernel_size=7,
              last_kernel_size=7, residual_kernel_size=3, dilation_base=2, compress=2, true_skip=False,
              pad_mode="reflect", trim_right_ratio=1.0)


def normed(conv, norm):
    """Weight norm stays a forward hook, as upstream runs it in eval: the weight is recomputed on every call."""
    return nn.utils.weight_norm(conv) if norm == "weight_norm" else conv


def norm_after(channels, norm, causal):
    if norm != "time_group_norm":
        return nn.Identity()
    if causal:
        raise ValueError("time_group_norm normalizes over the whole time axis, so it cannot be causal")
    return nn.GroupNorm(1, channels)


def pad1d(x, left, right, mode):
    """Reflection needs more samples than it mirrors; a too-short input is zero-extended first and the
    extension cut off again, so short segments still pad the way upstream does."""
    if mode != "reflect":
        return F.pad(x, (left, right), mode)
    extra = max(0, max(left, right) - x.shape[-1] + 1)
    y = F.pad(F.pad(x, (0, extra)), (left, right), mode)
    return y[..., :y.shape[-1] - extra]


class NormConv1d(nn.Module):
    def __init__(self, cin, cout, kernel, stride, dilation, norm, causal):
        super().__init__()
        self.conv = normed(nn.Conv1d(cin, cout, kernel, stride, dilation=dilation), norm)
        self.norm = norm_after(cout, norm, causal)

    def forward(self, x):
        return self.norm(self.conv(x))


class NormConvTranspose1d(nn.Module):
    def __init__(self, cin, cout, kernel, stride, norm, causal):
        super().__init__()
        self.convtr = normed(nn.ConvTranspose1d(cin, cout, kernel, stride), norm)
        self.norm = norm_after(cout, norm, causal)

    def forward(self, x):
        return self.norm(self.convtr(x))


class SConv1d(nn.Module):
    """A conv whose output has exactly ceil(length / stride) frames: kernel − stride samples of padding (all on
    the left when causal, the larger half on the left otherwise), plus what the last window needs on the right."""

    def __init__(self, cin, cout, kernel, stride=1, dilation=1, norm="none", causal=False, pad_mode="reflect"):
        super().__init__()
        self.conv = NormConv1d(cin, cout, kernel, stride, dilation, norm, causal)
        self.causal, self.pad_mode = causal, pad_mode
        self.span, self.stride = (kernel - 1) * dilation + 1, stride

    def forward(self, x):
        total = self.span - self.stride
        length = x.shape[-1]
        frames = math.ceil((length - self.span + total) / self.stride + 1)
        extra = (frames - 1) * self.stride + self.span - total - length
        left = total if self.causal else total - total // 2
        return self.conv(pad1d(x, left, total - left + extra, self.pad_mode))


class SConvTranspose1d(nn.Module):
    """The transposed conv's kernel − stride surplus samples are trimmed (causal: trim_right_ratio of them on the
    right); the encoder's extra right padding is not, so outputs are frames × stride long."""

    def __init__(self, cin, cout, kernel, stride, norm="none", causal=False, trim_right_ratio=1.0):
        super().__init__()
        self.convtr = NormConvTranspose1d(cin, cout, kernel, stride, norm, causal)
        total = kernel - stride
        right = math.ceil(total * trim_right_ratio) if causal else total // 2
        self.trim = (total - right, right)

    def forward(self, x):
        y = self.convtr(x)
        return y[..., self.trim[0]:y.shape[-1] - self.trim[1]]


class ResnetBlock(nn.Module):
    def __init__(self, dim, dilation, s, conv):
        super().__init__()
        hidden = dim // s["compress"]
        self.block = nn.Sequential(nn.ELU(), conv(dim, hidden, s["residual_kernel_size"], dilation=dilation),
                                   nn.ELU(), conv(hidden, dim, 1))
        self.shortcut = nn.Identity() if s["true_skip"] else conv(dim, dim, 1)

    def forward(self, x):
        return self.shortcut(x) + self.block(x)


class SLSTM(nn.Module):
    """A skip-connected LSTM over time, taking and returning the conv layout [B, C, T]."""

    def __init__(self, dim, layers):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, layers)

    def forward(self, x):
        x = x.permute(2, 0, 1)
        return (self.lstm(x)[0] + x).permute(1, 2, 0)


class SEANet(nn.Module):
    """Encoder (ratios reversed, widths doubling) or decoder (the mirror image, transposed convs)."""

    def __init__(self, channels, norm, causal, s, decoder):
        super().__init__()

        def conv(cin, cout, kernel, stride=1, dilation=1):
            return SConv1d(cin, cout, kernel, stride, dilation, norm, causal, s["pad_mode"])

        def residuals(dim):
            return [ResnetBlock(dim, s["dilation_base"] ** j, s, conv) for j in range(s["n_residual_layers"])]

        nf, ratios, layers = s["n_filters"], s["ratios"], []
        if not decoder:
            layers.append(conv(channels, nf, s["kernel_size"]))
            for i, r in enumerate(reversed(ratios)):
                layers += residuals(nf * 2 ** i) + [nn.ELU(), conv(nf * 2 ** i, nf * 2 ** (i + 1), 2 * r, r)]
            width = nf * 2 ** len(ratios)
            layers += [SLSTM(width, s["lstm"])] if s["lstm"] else []
            layers += [nn.ELU(), conv(width, s["dimension"], s["last_kernel_size"])]
        else:
            width = nf * 2 ** len(ratios)
            layers.append(conv(s["dimension"], width, s["kernel_size"]))
            layers += [SLSTM(width, s["lstm"])] if s["lstm"] else []
            for r in ratios:
                layers += [nn.ELU(), SConvTranspose1d(width, width // 2, 2 * r, r, norm, causal, s["trim_right_ratio"])]
                width //= 2
                layers += residuals(width)
            layers += [nn.ELU(), conv(nf, channels, s["last_kernel_size"])]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class Codebook(nn.Module):
    """Only embed is used at inference; the EMA statistics are kept so that checkpoints round-trip whole."""

    def __init__(self, bins, dim):
        super().__init__()
        self.register_buffer("inited", torch.ones(1))
        self.register_buffer("cluster_size", torch.zeros(bins))
        self.register_buffer("embed", torch.randn(bins, dim))
        self.register_buffer("embed_avg", self.embed.clone())


class Quantizer(nn.Module):
    def __init__(self, n_q, bins, dim):
        super().__init__()
        self.vq = nn.Module()
        self.vq.layers = nn.ModuleList(nn.Module() for _ in range(n_q))
        for layer in self.vq.layers:
            layer._codebook = Codebook(bins, dim)

    def codes(self, z, n_q):
        """z [B, D, T] → codes [B, n_q, T]. Each stage quantizes what the previous ones left, nearest by
        ‖r‖² − 2·r·e + ‖e‖² in float32, summed in upstream's order so that near-ties fall the same way."""
        b, d, t = z.shape
        residual, codes = z.transpose(1, 2).reshape(-1, d), []
        for layer in self.vq.layers[:n_q]:
            embed = layer._codebook.embed.t()
            dist = residual.pow(2).sum(1, keepdim=True) - 2 * residual @ embed + embed.pow(2).sum(0, keepdim=True)
            idx = dist.argmin(1)
            residual = residual - layer._codebook.embed[idx]
            codes.append(idx.reshape(b, t))
        return torch.stack(codes, 1)

    def lookup(self, codes):
        """codes [B, K, T] → the sum of the K codebook vectors [B, D, T]."""
        z = 0.0
        for k in range(codes.shape[1]):
            z = z + F.embedding(codes[:, k], self.vq.layers[k]._codebook.embed)
        return z.transpose(1, 2)


def original_name(name, hf_names):
    """Hugging Face transformers' names for a tensor → upstream's. Both parametrization spellings of weight norm
    are accepted; the rest is a table built from the model's own names (which layers are transposed convs is
    known only there)."""
    name = re.sub(r"parametrizations\.weight\.original0$", "weight_g", name)
    name = re.sub(r"parametrizations\.weight\.original1$", "weight_v", name)
    return hf_names.get(name, name)


def hf_name(name):
    name = re.sub(r"^quantizer\.vq\.layers\.(\d+)\._codebook\.", r"quantizer.layers.\1.codebook.", name)
    name = re.sub(r"^(encoder|decoder)\.model\.", r"\1.layers.", name)
    return re.sub(r"\.(conv\.conv|convtr\.convtr)\.", ".conv.", name.replace(".conv.norm.", ".norm.")
                  .replace(".convtr.norm.", ".norm."))


class EnCodec(nn.Module):
    def __init__(self, sample_rate=24000, channels=1, causal=True, norm="weight_norm", normalize=False, segment=None,
                 overlap=0.01, n_q=32, bins=1024, target_bandwidths=(1.5, 3.0, 6.0, 12.0, 24.0), bandwidth=None,
                 seanet=None, **_):
        super().__init__()
        self.seanet = dict(SEANET, **(seanet or {}))
        self.config = dict(sample_rate=sample_rate, channels=channels, causal=causal, norm=norm, normalize=normalize,
                           segment=segment, overlap=overlap, n_q=n_q, bins=bins,
                           target_bandwidths=list(target_bandwidths), bandwidth=bandwidth)
        self.sample_rate, self.channels, self.normalize = sample_rate, channels, normalize
        self.n_q, self.bins, self.bandwidth = n_q, bins, bandwidth
        self.hop = math.prod(self.seanet["ratios"])
        self.frame_rate = math.ceil(sample_rate / self.hop)
        self.segment_length = None if segment is None else int(segment * sample_rate)
        self.segment_stride = None if segment is None else max(1, int((1 - overlap) * self.segment_length))
        self.encoder = SEANet(channels, norm, causal, self.seanet, decoder=False)
        self.decoder = SEANet(channels, norm, causal, self.seanet, decoder=True)
        self.quantizer = Quantizer(n_q, bins, self.seanet["dimension"])

    def codebooks(self, bandwidth=None):
        """How many codebooks a bandwidth in kbps affords (each one costs log2(bins) bits per frame); all of
        them when there is no bandwidth."""
        bandwidth = self.bandwidth if bandwidth is None else bandwidth
        if not bandwidth:
            return self.n_q
        return max(1, math.floor(bandwidth * 1000 / (math.log2(self.bins) * self.frame_rate)))

    def segment_lengths(self, length):
        """Samples in each segment of an input: overlapping windows of segment_length every segment_stride,
        the last ones cut short by the input's end."""
        if self.segment_length is None:
            return [length]
        return [min(self.segment_length, length - o) for o in range(0, length, self.segment_stride)]

    def encode(self, wav, bandwidth=None):
        """wav [B, C, L] → (codes [B, K, T] with the segments' frames concatenated along T, scales [B, S] or
        None). With normalize, each segment is divided by its loudness (RMS of the channel mean) first."""
        n_q, codes, scales = self.codebooks(bandwidth), [], []
        offsets = range(0, wav.shape[-1], self.segment_stride or wav.shape[-1])
        for offset, length in zip(offsets, self.segment_lengths(wav.shape[-1])):
            x = wav[..., offset:offset + length]
            if self.normalize:
                scale = 1e-8 + x.mean(1, keepdim=True).pow(2).mean(2, keepdim=True).sqrt()
                x = x / scale
                scales.append(scale.reshape(-1, 1))
            codes.append(self.quantizer.codes(self.encoder(x), n_q))
        return torch.cat(codes, 2), torch.cat(scales, 1) if scales else None

    def decode(self, codes, scales=None, length=None):
        """codes [B, K, T] (+ scales [B, S]) → wav [B, C, L'], not trimmed to the input's length. Segments are
        decoded alone and cross-faded with triangular weights.

        T is split as every segment full but the last. That is wrong only when the last segment lies wholly
        inside the previous one's overlap (which then was cut short too); T cannot tell, so such codes need the
        encoded input's length."""
        full = math.ceil((self.segment_length or codes.shape[2] * self.hop) / self.hop)
        if length is not None:
            frames = [math.ceil(n / self.hop) for n in self.segment_lengths(length)]
        else:
            n, rest = divmod(codes.shape[2], full)
            frames = [full] * n + ([rest] if rest else [])
            if rest and rest * self.hop < self.segment_length - self.segment_stride:
                raise ValueError(f"{codes.shape[2]} frames end in a segment inside the overlap; "
                                 "pass the encoded input's length to split them")
        if sum(frames) != codes.shape[2] or (scales is not None and scales.shape[1] != len(frames)):
            raise ValueError(f"{codes.shape[2]} frames and {None if scales is None else scales.shape[1]} scales "
                             f"do not split into segments of {full} frames; pass the encoded input's length")
        outs = []
        for i, part in enumerate(torch.split(codes, frames, 2)):
            y = self.decoder(self.quantizer.lookup(part))
            outs.append(y * scales[:, i].reshape(-1, 1, 1) if scales is not None else y)
        return outs[0] if self.segment_length is None else overlap_add(outs, self.segment_stride)

    @classmethod
    def load(cls, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        model = cls(**config)
        tensors, _ = safetensors_io.load(os.path.join(model_dir, "model.safetensors"))
        hf_names = {hf_name(k): k for k in model.state_dict()}
        model.load_state_dict({original_name(k, hf_names): v.float() for k, v in tensors.items()})
        return model.eval()

    def save(self, model_dir, extra_config=None):
        os.makedirs(model_dir, exist_ok=True)
        config = dict(family="encodec", **self.config, seanet=self.seanet)
        config.update(extra_config or {})
        with open(os.path.join(model_dir, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
        safetensors_io.save(self.state_dict(), os.path.join(model_dir, "model.safetensors"))


def overlap_add(frames, stride):
    """Each frame weighted by a triangle peaking at its middle, then divided by the summed weights: a lone frame
    passes unchanged and two overlapping ones cross-fade linearly."""
    n = frames[0].shape[-1]
    t = torch.linspace(0, 1, n + 2, dtype=frames[0].dtype)[1:-1]
    weight = 0.5 - (t - 0.5).abs()
    total = stride * (len(frames) - 1) + frames[-1].shape[-1]
    out = frames[0].new_zeros(*frames[0].shape[:-1], total)
    weights = frames[0].new_zeros(total)
    for i, frame in enumerate(frames):
        m = frame.shape[-1]
        out[..., i * stride:i * stride + m] += weight[:m] * frame
        weights[i * stride:i * stride + m] += weight[:m]
    return out / weights
