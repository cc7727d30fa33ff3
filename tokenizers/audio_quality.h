// Reconstruction quality of audio, samples [channels, length] as tokenizers/audio_io.h reads them. Both
// measures compare the two signals over the shorter length (codecs pad to a whole number of frames) and throw
// Error when the channel counts differ or a signal is not [channels, length].
//
//   si_snr  Scale-invariant signal-to-noise ratio in dB (Le Roux et al. 2019). Each channel of both signals has
//           its mean removed, then all channels count together as one vector: with s the reference and ŝ the
//           estimate, α = ⟨ŝ,s⟩/‖s‖² and SI-SNR = 10·log10(‖αs‖² / ‖αs − ŝ‖²), in double precision. Scaling the
//           estimate by any nonzero factor leaves it unchanged. +infinity when ŝ is exactly a multiple of s
//           (identical signals included), −infinity when ŝ captures nothing of s (‖αs‖ = 0). A reference
//           that is silent once its mean is removed has no SI-SNR: Error.
//
//   log_mel_distance  The mean, over channels, mel bands and frames, of |log_mel(reference) − log_mel(estimate)|,
//           where log_mel is log_mel_spectrogram below. 0 for identical signals; it grows as they part.
//
//   log_mel_spectrogram  [channels, 80, 1 + ⌊length/256⌋]: ln(mel + 1e-5), mel the power spectrum of 1024-sample
//           frames every 256 samples under a periodic Hann window, w[n] = ½ − ½·cos(2πn/1024), the signal padded
//           by 512 mirrored samples at each end (x[−k] = x[k]) so that frame t is centred on sample 256·t, then
//           summed into 80 triangular bands on the HTK mel scale, mel(f) = 2595·log10(1 + f/700), with corners
//           evenly spaced in mel from 0 Hz to ⌊sample_rate/2⌋ and peaks of 1 (no area normalisation). This is
//           torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=1024, hop_length=256, n_mels=80) — its
//           defaults power=2, center=True, pad_mode="reflect", mel_scale="htk", norm=None — followed by
//           log(x + 1e-5), here in double precision. The mirrored padding needs at least 513 samples; shorter
//           signals are an Error.
#pragma once

#include <cstdint>

#include "nn/tensor.h"

namespace anytok {

double si_snr(const Tensor& reference, const Tensor& estimate);
double log_mel_distance(const Tensor& reference, const Tensor& estimate, int64_t sample_rate);
Tensor log_mel_spectrogram(const Tensor& samples, int64_t sample_rate);

}  // namespace anytok
