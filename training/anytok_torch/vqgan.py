"""The taming-transformers VQ-GAN in PyTorch, with taming's module names, so that its state_dict() is the
checkpoint layout anytok reads. Configured by the same config.json (ddconfig, n_embed, embed_dim)."""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import safetensors_io


def normalize(channels):
    return nn.GroupNorm(32, channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = normalize(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = normalize(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x)


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = normalize(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        h = self.norm(x)
        b, c, hh, ww = x.shape
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)
        k = self.k(h).reshape(b, c, hh * ww)
        v = self.v(h).reshape(b, c, hh * ww)
        w = torch.softmax(torch.bmm(q, k) * c ** -0.5, dim=2)
        h = torch.bmm(v, w.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(h)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def run_level(level, h, resample):
    """One resolution level: its blocks, each followed by its attention where the level has any, then the
    level's down- or upsampling if it has one."""
    for j, block in enumerate(level.block):
        h = block(h)
        if len(level.attn):
            h = level.attn[j](h)
    return getattr(level, resample)(h) if hasattr(level, resample) else h


class Encoder(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, attn_resolutions, resolution, z_channels, in_channels=3, **_):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, 3, 1, 1)
        res, block_in = resolution, ch
        self.down = nn.ModuleList()
        for i, mult in enumerate(ch_mult):
            level = nn.Module()
            level.block, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks):
                level.block.append(ResnetBlock(block_in, ch * mult))
                block_in = ch * mult
                if res in attn_resolutions:
                    level.attn.append(AttnBlock(block_in))
            if i != len(ch_mult) - 1:
                level.downsample = Downsample(block_in)
                res //= 2
            self.down.append(level)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = (
            ResnetBlock(block_in, block_in), AttnBlock(block_in), ResnetBlock(block_in, block_in))
        self.norm_out = normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, z_channels, 3, 1, 1)

    def forward(self, x):
        h = self.conv_in(x)
        for level in self.down:
            h = run_level(level, h, "downsample")
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, attn_resolutions, resolution, z_channels, out_ch=3, **_):
        super().__init__()
        block_in = ch * ch_mult[-1]
        res = resolution // 2 ** (len(ch_mult) - 1)
        self.conv_in = nn.Conv2d(z_channels, block_in, 3, 1, 1)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = (
            ResnetBlock(block_in, block_in), AttnBlock(block_in), ResnetBlock(block_in, block_in))
        levels = [None] * len(ch_mult)
        for i in reversed(range(len(ch_mult))):
            level = nn.Module()
            level.block, level.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                level.block.append(ResnetBlock(block_in, ch * ch_mult[i]))
                block_in = ch * ch_mult[i]
                if res in attn_resolutions:
                    level.attn.append(AttnBlock(block_in))
            if i != 0:
                level.upsample = Upsample(block_in)
                res *= 2
            levels[i] = level
        self.up = nn.ModuleList(levels)
        self.norm_out = normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, out_ch, 3, 1, 1)

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for level in reversed(self.up):
            h = run_level(level, h, "upsample")
        return self.conv_out(F.silu(self.norm_out(h)))


class Quantizer(nn.Module):
    def __init__(self, n_embed, embed_dim):
        super().__init__()
        self.embedding = nn.Embedding(n_embed, embed_dim)

    def codes(self, z):
        """z [N, E, h, w] → codes [N, h, w]: argmin of ‖z‖² + ‖e‖² − 2·z·e, as taming computes it."""
        n, e, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, e)
        weight = self.embedding.weight
        d = flat.pow(2).sum(1, keepdim=True) + weight.pow(2).sum(1) - 2 * flat @ weight.t()
        return d.argmin(1).reshape(n, h, w)

    def lookup(self, codes):
        return self.embedding(codes).permute(0, 3, 1, 2).contiguous()


class VQGAN(nn.Module):
    def __init__(self, ddconfig, n_embed, embed_dim, **_):
        super().__init__()
        self.ddconfig, self.n_embed, self.embed_dim = dict(ddconfig), n_embed, embed_dim
        self.encoder = Encoder(**ddconfig)
        self.decoder = Decoder(**ddconfig)
        self.quant_conv = nn.Conv2d(ddconfig["z_channels"], embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, ddconfig["z_channels"], 1)
        self.quantize = Quantizer(n_embed, embed_dim)

    def latents(self, images):
        return self.quant_conv(self.encoder(images))

    def encode(self, images):
        return self.quantize.codes(self.latents(images))

    def decode(self, codes):
        return self.decoder(self.post_quant_conv(self.quantize.lookup(codes)))

    @classmethod
    def load(cls, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        model = cls(**config)
        tensors, _ = safetensors_io.load(os.path.join(model_dir, "model.safetensors"))
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
        return model.eval()

    def save(self, model_dir, extra_config=None):
        os.makedirs(model_dir, exist_ok=True)
        config = {"family": "vqgan", "ddconfig": self.ddconfig, "n_embed": self.n_embed, "embed_dim": self.embed_dim}
        config.update(extra_config or {})
        with open(os.path.join(model_dir, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
        safetensors_io.save(self.state_dict(), os.path.join(model_dir, "model.safetensors"))
