// anytok reconstruct: text → pieces → text checked for an exact round trip, image → codes → image with PSNR and
// SSIM, audio → codes → audio with SI-SNR and log-mel distance.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "apps/command.h"
#include "apps/durable_file.h"
#include "apps/image_batches.h"
#include "apps/progress.h"
#include "nn/error.h"
#include "tokenizers/audio_io.h"
#include "tokenizers/audio_quality.h"
#include "tokenizers/image_quality.h"

namespace anytok {
namespace {

const char* kUsage =
    "usage: anytok reconstruct TEXT|IMAGE|AUDIO... [--text-model FILE] [--image-model DIR] [--preprocess NAME]\n"
    "                          [--audio-model DIR] [--bandwidth KBPS] [-o OUT]\n"
    "\n"
    "Tokenizes each input and decodes its codes again, then prints one line per input. Text (.txt .text .md):\n"
    "the pieces, and whether decoding gives back the input byte for byte (else the first byte that differs).\n"
    "Images: the code grid and the PSNR (dB) and SSIM of the reconstruction against the prepared input\n"
    "(resized, cropped or padded as --preprocess says; padding is left out of the comparison). Audio (.wav .flac\n"
    ".ogg .mp3): the codes [K, T] and the SI-SNR (dB, higher is better) and log-mel distance (mean |Δ ln mel|, 80\n"
    "bands; lower is better) of the reconstruction against the input at the model's rate and channels. -o writes\n"
    "the reconstruction: a file for one input (.txt; .png; .wav or .flac), a directory for several.";

int run(int argc, char** argv) {
  ModelOptions models;
  std::vector<std::string> inputs;
  std::string output, subtype = "pcm16";
  int64_t batch = 8;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("input", po::value(&inputs)->value_name("FILE"), "text, image and audio files")
      ("batch", po::value(&batch)->value_name("N")->default_value(8), "images per network pass")
      ("output,o", po::value(&output)->value_name("OUT"), "where to write the reconstructions")
      ("subtype", po::value(&subtype)->value_name("NAME")->default_value("pcm16"),
       "audio sample format: pcm16 or float (WAV only)");
  models.add_to(options);
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  models.apply();
  if (inputs.empty()) throw Error("no inputs given (see anytok reconstruct --help)");
  const AudioSubtype audio_subtype = parse_audio_subtype(subtype);
  std::vector<std::string> texts, images, sounds;
  for (const auto& path : inputs) {
    switch (kind_of(path)) {
      case FileKind::Text: texts.push_back(path); break;
      case FileKind::Image: images.push_back(path); break;
      case FileKind::Audio: sounds.push_back(path); break;
      case FileKind::Unknown:
        throw Error(cat(path, ": reconstruct takes text (.txt, .md), images (.png, .jpg, ...) and audio (.wav, .flac, "
                              ".ogg, .mp3)"));
    }
  }
  if (batch < 1) throw Error("--batch must be at least 1");
  const bool to_directory = !output.empty() && (inputs.size() > 1 || std::filesystem::is_directory(output));
  if (to_directory) std::filesystem::create_directories(output);

  auto path_for = [&](const std::string& input, const char* extension) {
    return to_directory ? (std::filesystem::path(output) / (std::filesystem::path(input).stem().string() + extension)).string()
                        : output;
  };
  for (const auto& path : texts) {
    const std::string text = read_whole_file(path);
    const std::vector<int64_t> pieces = models.text().encode(text);
    const std::string back = models.text().decode(pieces);
    const size_t differs = std::mismatch(text.begin(), text.end(), back.begin(), back.end()).first - text.begin();
    std::cout << path << ": " << text.size() << " bytes → " << pieces.size() << " pieces, "
              << (back == text ? std::string("decoded exactly") : cat("decoded text differs from byte ", differs))
              << "\n";
    if (!output.empty()) write_file_atomically(path_for(path, ".txt"), back);
  }
  for (const auto& path : sounds) {
    AudioTokenizer& tokenizer = models.audio_tokenizer();
    ProgressLine progress(cat("encoding ", path), "s");
    const EncodedAudio encoded = tokenizer.encode_file(path, models.bandwidth, [&](double done, double total) {
      progress.update(done, total);
    });
    const Tensor reference = read_audio(path, tokenizer.config().sample_rate, tokenizer.config().channels);
    const Tensor recon = models.audio_decoder().decode(encoded);
    std::cout << path << ": " << reference.dim(1) << " samples at " << tokenizer.config().sample_rate << " Hz → "
              << encoded.codebooks << "x" << encoded.frames << " codes, SI-SNR " << std::fixed << std::setprecision(2)
              << si_snr(reference, recon) << " dB, log-mel distance " << std::setprecision(4)
              << log_mel_distance(reference, recon, tokenizer.config().sample_rate) << "\n";
    if (!output.empty()) write_audio(path_for(path, ".wav"), recon, tokenizer.config().sample_rate, audio_subtype);
  }
  if (images.empty()) return 0;
  const ImageDecoder& decoder = models.image_decoder();
  for (const TokenizedImage& image : tokenize_images(images, models, batch)) {
    const PreparedImage& p = image.prepared;
    const Tensor recon = decoder.decode(image.codes, 1, image.grid_h, image.grid_w);
    const Shape chw{recon.dim(1), recon.dim(2), recon.dim(3)};
    const RgbImage ours = image_from_tensor(recon.reshape(chw), p.top, p.left, p.content_height, p.content_width);
    const RgbImage reference = image_from_tensor(p.pixels, p.top, p.left, p.content_height, p.content_width);
    const double db = psnr(reference, ours);
    std::cout << image.path << ": " << p.source_width << "x" << p.source_height << " → " << image.grid_w << "x"
              << image.grid_h << " codes, PSNR " << std::fixed << std::setprecision(2) << db << " dB, SSIM "
              << std::setprecision(4) << ssim(reference, ours) << "\n";
    if (!output.empty()) write_png(path_for(image.path, ".png"), ours);
  }
  return 0;
}

}  // namespace

Command reconstruct_command() {
  return {"reconstruct", "text, image or audio → tokens → back again, with the round trip's fidelity", run};
}

}  // namespace anytok
