// Reconstruction quality of 8-bit RGB images, as scikit-image measures it.
//   psnr  10·log10(255² / MSE), the MSE over all pixels and channels; +infinity for identical images
//         (skimage.metrics.peak_signal_noise_ratio with data_range=255).
//   ssim  Wang et al. 2004 on each channel, averaged: 11x11 Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03,
//         population covariances, local means filtered with mirrored ("reflect") edges and the SSIM map averaged
//         without its 5-pixel border (skimage.metrics.structural_similarity with gaussian_weights=True,
//         sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1).
#pragma once

#include "tokenizers/image_io.h"

namespace anytok {

// Both throw Error when the images differ in size; ssim also when they are smaller than 11x11.
double psnr(const RgbImage& a, const RgbImage& b);
double ssim(const RgbImage& a, const RgbImage& b);

}  // namespace anytok
