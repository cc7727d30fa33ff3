// anytok reconstruct: image → codes → image, with PSNR and SSIM against the prepared input.
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "apps/command.h"
#include "apps/image_batches.h"
#include "nn/error.h"
#include "tokenizers/image_quality.h"

namespace anytok {
namespace {

const char* kUsage =
    "usage: anytok reconstruct IMAGE... [--image-model DIR] [--preprocess NAME] [-o OUT]\n"
    "\n"
    "Tokenizes each image and decodes its codes again, then prints one line per image with the code grid and\n"
    "the PSNR (dB) and SSIM of the reconstruction against the prepared input (resized, cropped or padded as\n"
    "--preprocess says; padding is left out of the comparison). -o writes the reconstruction: a PNG for one\n"
    "image, a directory for several.";

int run(int argc, char** argv) {
  ModelOptions models;
  std::vector<std::string> inputs;
  std::string output;
  int64_t batch = 8;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("input", po::value(&inputs)->value_name("IMAGE"), "images")
      ("batch", po::value(&batch)->value_name("N")->default_value(8), "images per network pass")
      ("output,o", po::value(&output)->value_name("OUT"), "where to write the reconstructions");
  models.add_to(options);
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  models.apply();
  if (inputs.empty()) throw Error("no images given (see anytok reconstruct --help)");
  if (batch < 1) throw Error("--batch must be at least 1");
  const bool to_directory = !output.empty() && (inputs.size() > 1 || std::filesystem::is_directory(output));
  if (to_directory) std::filesystem::create_directories(output);

  const ImageDecoder& decoder = models.image_decoder();
  for (const TokenizedImage& image : tokenize_images(inputs, models, batch)) {
    const PreparedImage& p = image.prepared;
    const Tensor recon = decoder.decode(image.codes, 1, image.grid_h, image.grid_w);
    const Shape chw{recon.dim(1), recon.dim(2), recon.dim(3)};
    const RgbImage ours = image_from_tensor(recon.reshape(chw), p.top, p.left, p.content_height, p.content_width);
    const RgbImage reference = image_from_tensor(p.pixels, p.top, p.left, p.content_height, p.content_width);
    const double db = psnr(reference, ours);
    std::cout << image.path << ": " << p.source_width << "x" << p.source_height << " → " << image.grid_w << "x"
              << image.grid_h << " codes, PSNR " << std::fixed << std::setprecision(2) << db << " dB, SSIM "
              << std::setprecision(4) << ssim(reference, ours) << "\n";
    if (!output.empty()) {
      std::string path = output;
      if (to_directory)
        path = (std::filesystem::path(output) / (std::filesystem::path(image.path).stem().string() + ".png")).string();
      write_png(path, ours);
    }
  }
  return 0;
}

}  // namespace

Command reconstruct_command() { return {"reconstruct", "image → codes → image, with PSNR and SSIM", run}; }

}  // namespace anytok
