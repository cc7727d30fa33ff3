// anytok tokenize: files, --text strings, --boxes and --keypoints → tokens JSON Lines, one record per input.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/command.h"
#include "apps/durable_file.h"
#include "apps/image_batches.h"
#include "apps/progress.h"
#include "apps/token_record.h"
#include "nn/error.h"
#include "tokenizers/location_tokenizer.h"

namespace anytok {
namespace {

const char* kUsage =
    "usage: anytok tokenize [INPUT...] [--text STR]... [--boxes \"x1,y1,x2,y2[;...]\" --image-size W,H]\n"
    "                       [--keypoints \"x,y[;...]\" --image-size W,H] [options] [-o OUT]\n"
    "\n"
    "Writes one JSON Lines record per input:\n"
    "  {\"input\": PATH|null, \"modality\": \"text|image|audio|boxes|keypoints\", \"shape\": [...], \"codes\": [...],\n"
    "   \"tokens\": [ids in the shared vocabulary], ...}\n"
    "Files choose their modality by extension: .txt .text .md are text; .png .jpg .jpeg .webp .bmp .tif\n"
    "  .tiff are images, tokenized by the VQ-GAN of --image-model (image records also hold \"size\" [W, H]\n"
    "  of the original and \"preprocess\"); .wav .flac .ogg .mp3 are audio, resampled to --audio-model's rate\n"
    "  and coded at --bandwidth (audio records hold codes [K, T] and \"sample_rate\", \"channels\", \"length\",\n"
    "  \"bandwidth\", and \"scales\" for models that normalize). Records come in the order files, --text, --boxes,\n"
    "  --keypoints.";

int run(int argc, char** argv) {
  ModelOptions models;
  std::vector<std::string> inputs, texts;
  std::string boxes, keypoints, image_size, convention, output;
  int64_t batch = 8;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("input", po::value(&inputs)->value_name("FILE"), "input files")
      ("text", po::value(&texts)->value_name("STR"), "a text to tokenize (repeatable)")
      ("boxes", po::value(&boxes)->value_name("BOXES"), "boxes in pixels: \"x1,y1,x2,y2;x1,y1,x2,y2\"")
      ("keypoints", po::value(&keypoints)->value_name("POINTS"), "keypoints in pixels: \"x,y;x,y\"")
      ("image-size", po::value(&image_size)->value_name("W,H"), "size of the image the boxes or keypoints belong to")
      ("box-convention", po::value(&convention)->value_name("NAME")->default_value("unified-io-2"),
       "location binning: unified-io-2 (truncate) or pix2seq (round)")
      ("batch", po::value(&batch)->value_name("N")->default_value(8), "images per network pass")
      ("output,o", po::value(&output)->value_name("OUT"), "write the records here instead of standard output");
  models.add_to(options);
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  models.apply();
  if (inputs.empty() && texts.empty() && boxes.empty() && keypoints.empty())
    throw Error("nothing to tokenize: give input files, --text, --boxes or --keypoints (see anytok tokenize --help)");
  if (batch < 1) throw Error("--batch must be at least 1");
  if ((!boxes.empty() || !keypoints.empty()) && image_size.empty())
    throw Error("--boxes and --keypoints need --image-size W,H");

  SequenceFormat format(models.layout());
  std::vector<nlohmann::json> records;
  auto add_text = [&](const std::optional<std::string>& input, const std::string& text) {
    records.push_back(make_record(input, Segment::text(models.text().encode(text)), format));
  };
  std::vector<std::string> image_paths;
  std::vector<size_t> image_slots;  // where each image's record goes
  for (const auto& path : inputs) {
    switch (kind_of(path)) {
      case FileKind::Text: add_text(path, read_whole_file(path)); break;
      case FileKind::Image:
        image_paths.push_back(path);
        image_slots.push_back(records.size());
        records.emplace_back();
        break;
      case FileKind::Audio: {
        ProgressLine progress(cat("encoding ", path), "s");
        const EncodedAudio encoded = models.audio_tokenizer().encode_file(
            path, models.bandwidth, [&](double done, double total) { progress.update(done, total); });
        records.push_back(make_audio_record(path, encoded, models.audio_config(), format));
        break;
      }
      case FileKind::Unknown:
        throw Error(cat(path, ": unknown file type (text ends in .txt, .text or .md; images in .png, .jpg, .webp, ",
                        ".bmp or .tif; audio in .wav, .flac, .ogg or .mp3)"));
    }
  }
  if (!image_paths.empty()) {
    const std::string preprocess(image_preprocess_name(models.image_preprocess()));
    auto images = tokenize_images(image_paths, models, batch);
    for (size_t i = 0; i < images.size(); ++i) {
      const TokenizedImage& image = images[i];
      records[image_slots[i]] =
          make_image_record(image.path, Segment::image(image.grid_h, image.grid_w, image.codes),
                            image.prepared.source_width, image.prepared.source_height, preprocess, format);
    }
  }
  for (const auto& text : texts) add_text(std::nullopt, text);
  if (!boxes.empty() || !keypoints.empty()) {
    const ImageSize size = parse_image_size(image_size);
    const BoxConvention box_convention = parse_box_convention(convention);
    if (!boxes.empty()) {
      const LocationTokenizer location = location_tokenizer(format, "boxes", box_convention);
      records.push_back(make_location_record(
          std::nullopt, Segment::boxes(location.encode_boxes(parse_boxes(boxes), size)), size, box_convention, format));
    }
    if (!keypoints.empty()) {
      const LocationTokenizer location = location_tokenizer(format, "keypoints", box_convention);
      records.push_back(make_location_record(std::nullopt,
                                             Segment::keypoints(location.encode_points(parse_points(keypoints), size)),
                                             size, box_convention, format));
    }
  }

  Output out(output);
  for (const auto& r : records) out.stream() << r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  out.close();
  return 0;
}

}  // namespace

Command tokenize_command() { return {"tokenize", "text, images, audio, boxes and keypoints → tokens JSON Lines", run}; }

}  // namespace anytok
