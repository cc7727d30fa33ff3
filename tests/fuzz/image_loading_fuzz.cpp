// Image files as they reach a VQ-GAN: decoded (PNG, JPEG, WebP, BMP, TIFF) within a pixel cap, then prepared by
// each preprocessing to a small model's resolution.
#include "nn/error.h"
#include "tokenizers/image_io.h"
#include "tokenizers/image_preprocess.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const anytok::RgbImage image = anytok::decode_image(data, size, "fuzz", 4096 * 4096);
    for (const auto preprocess : {anytok::ImagePreprocess::Taming, anytok::ImagePreprocess::UnifiedIO2}) {
      try {
        (void)anytok::prepare_image(image, preprocess, 64, 16);
      } catch (const anytok::Error&) {
      }
    }
  } catch (const anytok::Error&) {
  }
  return 0;
}
