"""Reconstruction measures of the audio codec, defined exactly as the C++ runtime defines them
(tokenizers/audio_quality.h), in double precision with torch alone (no torchaudio). Signals are [channels, length]
tensors; both measures compare the two over the shorter length.

  si_snr            each channel's mean removed, all channels one vector; α = ⟨ŝ,s⟩/‖s‖²,
                    10·log10(‖αs‖² / ‖αs − ŝ‖²) dB.
  log_mel_distance  mean |ln(mel(s) + 1e-5) − ln(mel(ŝ) + 1e-5)| over channels, 80 bands and frames; mel is the
                    power spectrum of 1024-sample periodic-Hann frames every 256 samples, 512 mirrored samples of
                    padding at each end, summed into 80 HTK-mel triangles (peaks 1) from 0 Hz to sample_rate // 2.
"""
import math

import torch


def _common(reference, estimate):
    if reference.dim() != 2 or estimate.dim() != 2 or reference.shape[0] != estimate.shape[0]:
        raise ValueError(f"expected [channels, length] signals of equal channels, got {tuple(reference.shape)} "
                         f"and {tuple(estimate.shape)}")
    n = min(reference.shape[1], estimate.shape[1])
    return reference[:, :n].double(), estimate[:, :n].double()


def si_snr(reference, estimate):
    s, e = _common(reference, estimate)
    s = (s - s.mean(1, keepdim=True)).flatten()
    e = (e - e.mean(1, keepdim=True)).flatten()
    energy = s.dot(s)
    if energy == 0:
        raise ValueError("the reference is silent once its mean is removed, so SI-SNR is undefined")
    target = e.dot(s) / energy * s
    t, noise = target.dot(target).item(), (target - e).pow(2).sum().item()
    if t == 0:
        return -math.inf
    if noise == 0:
        return math.inf
    return 10 * math.log10(t / noise)


def hz_to_mel(hz):
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filters(sample_rate, n_fft, n_mels, dtype=torch.float64):
    """[n_mels, n_fft // 2 + 1] triangles on the HTK mel scale, corners evenly spaced in mel from 0 Hz to
    sample_rate // 2 (integer division, as torchaudio), peaks 1, no area normalisation."""
    nyquist = float(sample_rate // 2)
    bins = n_fft // 2 + 1
    freqs = torch.linspace(0, nyquist, bins, dtype=torch.float64)
    top = hz_to_mel(nyquist)
    corners = torch.tensor([mel_to_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)], dtype=torch.float64)
    lo, mid, hi = corners[:-2, None], corners[1:-1, None], corners[2:, None]
    up, down = (freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)
    return torch.minimum(up, down).clamp(min=0).to(dtype)


def log_mel_spectrogram(x, sample_rate):
    """[channels, length] → [channels, 80, 1 + length // 256]."""
    x = x.double()
    if x.shape[-1] <= 512:
        raise ValueError(f"the signal is {x.shape[-1]} samples long; its mirrored padding needs at least 513")
    window = torch.hann_window(1024, periodic=True, dtype=torch.float64)
    spec = torch.stft(x, 1024, 256, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = spec.real.pow(2) + spec.imag.pow(2)
    return torch.log(torch.einsum("mf,cft->cmt", mel_filters(sample_rate, 1024, 80), power) + 1e-5)


def log_mel_distance(reference, estimate, sample_rate):
    s, e = _common(reference, estimate)
    return (log_mel_spectrogram(s, sample_rate) - log_mel_spectrogram(e, sample_rate)).abs().mean().item()
