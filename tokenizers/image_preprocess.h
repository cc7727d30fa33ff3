// RGB images ↔ the [-1, 1] tensors a VQ-GAN reads and writes, prepared exactly as each upstream project does.
//
//   taming        taming-transformers' ImagePaths.preprocess_image (taming/data/base.py) with the
//                 albumentations 0.4.3 it pins: SmallestMaxSize(resolution) — new sides round(side·R/short)
//                 with Python's round (half to even), resized by cv2.resize INTER_LINEAR on uint8, skipped when
//                 the short side is already R — then CenterCrop(R, R) at ((h−R)//2, (w−R)//2), then
//                 x/127.5 − 1 in float64 cast to float32. Bit-identical: it calls the same cv::resize.
//   unified-io-2  Unified-IO 2's resize_and_pad (uio2/data_utils.py), run in TensorFlow: x·float32(1/255),
//                 scale = min(R/h, R/w) and new sides int(side·scale), all in float32 (so a 41x30 image at
//                 R = 16 becomes 15x11, not 16x11); tf.image.resize bilinear with antialias=True, which is
//                 TensorFlow's ScaleAndTranslate with a triangle kernel widened by the downscale factor; clip
//                 to [0, 1]; zero padding centred at ((R−H)//2, (R−W)//2); then x·2 − 1
//                 (uio2/target_modalities.py), so padding is −1. The resampler reproduces TensorFlow's float32
//                 arithmetic step by step. PyTorch's F.interpolate(antialias=True) is the same filter, but
//                 TensorFlow takes the sample spacing as float32(1/float32(out/in)), off by up to an ulp, so
//                 the two drift apart across an image, by up to about 1e-4 at R = 256.
//   none          the image as it is, x/127.5 − 1; its sides must be multiples of the VQ-GAN's factor.
#pragma once

#include <cstdint>
#include <string_view>

#include "nn/tensor.h"
#include "tokenizers/image_io.h"

namespace anytok {

enum class ImagePreprocess { Taming, UnifiedIO2, None };
ImagePreprocess parse_image_preprocess(std::string_view name);  // "taming" | "unified-io-2" | "none"
std::string_view image_preprocess_name(ImagePreprocess preprocess);

struct PreparedImage {
  Tensor pixels;  // [3, H, W] float32 in [-1, 1]
  int64_t source_width = 0, source_height = 0;
  // Where the image's content lies inside `pixels`; the rest is padding (unified-io-2 only).
  int64_t top = 0, left = 0, content_height = 0, content_width = 0;
};

// Where a width × height image's picture lies inside the resolution² square that unified-io-2 makes of it; the
// rest is padding. Throws Error when a side would shrink to 0 pixels (TensorFlow refuses those too).
struct ContentRegion {
  int64_t top = 0, left = 0, height = 0, width = 0;
};
ContentRegion unified_io_2_content(int64_t source_width, int64_t source_height, int64_t resolution);

// `resolution` is the square side for taming and unified-io-2 (ignored by none); `factor` is the VQ-GAN's
// downsampling factor, which the output's sides must be multiples of. Throws Error when they are not.
PreparedImage prepare_image(const RgbImage& image, ImagePreprocess preprocess, int64_t resolution, int64_t factor);

// A [3, H, W] tensor back to 8-bit RGB: clip to [-1, 1], (x + 1)·127.5, round half away from zero, then crop
// to the rectangle at (top, left) of height × width. Upstream truncates instead of rounding (taming's
// make_samples.py and Unified-IO 2's runner.py both end in .astype(np.uint8)), which is up to one level darker.
RgbImage image_from_tensor(const Tensor& chw, int64_t top, int64_t left, int64_t height, int64_t width);

}  // namespace anytok
