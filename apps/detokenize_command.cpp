// anytok detokenize: tokens JSON Lines → text, and boxes or keypoints as JSON in pixels.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "apps/command.h"
#include "apps/progress.h"
#include "apps/token_record.h"
#include "nn/error.h"
#include "tokenizers/location_tokenizer.h"

namespace anytok {
namespace {

using json = nlohmann::json;

const char* kUsage =
    "usage: anytok detokenize [TOKENS.jsonl|-] [options] [-o OUT]\n"
    "\n"
    "Reads records as `anytok tokenize` writes them (standard input when no file or '-' is given). Each record\n"
    "is decoded from its \"codes\" when present, otherwise from its \"tokens\" through the vocabulary layout.\n"
    "Text records print their text, one per line; boxes and keypoints print a JSON line in pixels:\n"
    "  {\"input\": ..., \"modality\": \"boxes\", \"boxes\": [[x1,y1,x2,y2], ...], \"image_size\": [W,H]}\n"
    "Image records are decoded by the VQ-GAN of --image-model into PNG; Unified-IO 2 padding is cropped\n"
    "away when the record holds the original \"size\". Audio records are decoded by the EnCodec model of\n"
    "--audio-model into WAV or FLAC (by -o's extension; .wav in a directory), trimmed to the record's\n"
    "\"length\". With image or audio records, -o names the file for a single record, or a directory for several\n"
    "(one file per record, named after its input).";

ImageSize record_image_size(const json& r, const std::string& where) {
  if (!r.contains("image_size") || !r["image_size"].is_array() || r["image_size"].size() != 2 ||
      !r["image_size"][0].is_number_integer() || !r["image_size"][1].is_number_integer())
    throw Error(cat(where, ": a location record needs \"image_size\": [W, H]"));
  return {r["image_size"][0].get<int64_t>(), r["image_size"][1].get<int64_t>()};
}

// The part of a decoded image that holds the picture: all of it, except that Unified-IO 2 padding is cropped
// away when the record says how large the original was.
ContentRegion record_content_region(const json& r, const VqganConfig& config, int64_t height, int64_t width,
                                    const std::string& where) {
  ContentRegion whole{0, 0, height, width};
  if (r.value("preprocess", std::string()) != "unified-io-2" || !r.contains("size")) return whole;
  const json& size = r["size"];
  if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() || !size[1].is_number_integer() ||
      size[0].get<int64_t>() <= 0 || size[1].get<int64_t>() <= 0)
    throw Error(cat(where, ": \"size\" is not [W, H]"));
  if (height != config.resolution || width != config.resolution) return whole;
  return unified_io_2_content(size[0].get<int64_t>(), size[1].get<int64_t>(), config.resolution);
}

int run(int argc, char** argv) {
  ModelOptions models;
  std::string input = "-", output, subtype = "pcm16";
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("input", po::value(&input)->value_name("FILE"), "tokens JSON Lines file, or - for standard input")
      ("output,o", po::value(&output)->value_name("OUT"), "write here instead of standard output")
      ("subtype", po::value(&subtype)->value_name("NAME")->default_value("pcm16"),
       "audio sample format: pcm16 or float (WAV only)");
  models.add_to(options);
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  models.apply();
  const AudioSubtype audio_subtype = parse_audio_subtype(subtype);

  std::ifstream file;
  std::istream* in = &std::cin;
  const std::string name = input == "-" ? "<stdin>" : input;
  if (input != "-") {
    file.open(input);
    if (!file) throw Error(cat(input, ": cannot open"));
    in = &file;
  }
  SequenceFormat format(models.layout());
  struct Item {
    std::string where;
    json record;
    Segment segment;
  };
  std::vector<Item> items;
  TokenRecordReader reader(*in, name, models.max_tokens);
  json record;
  std::string where;
  while (reader.next(record, where)) {
    Segment segment = record_segment(record, format, where, models.max_tokens);
    items.push_back({where, std::move(record), std::move(segment)});
  }

  const bool has_media = std::any_of(items.begin(), items.end(), [](const Item& i) {
    return i.segment.kind == SegmentKind::Image || i.segment.kind == SegmentKind::Audio;
  });
  if (has_media && output.empty())
    throw Error("image and audio records need -o: a .png, .wav or .flac file, or a directory when there are "
                "several records");
  const bool to_directory = has_media && (items.size() > 1 || std::filesystem::is_directory(output));
  if (to_directory) std::filesystem::create_directories(output);
  std::unique_ptr<Output> stream;
  if (!to_directory && !has_media) stream = std::make_unique<Output>(output);
  std::set<std::string> names;
  // The file a record goes to in directory mode: named after its input, else after its line.
  auto file_for = [&](const Item& item, const char* extension) {
    std::string stem = item.record.contains("input") && item.record["input"].is_string()
                           ? std::filesystem::path(item.record["input"].get<std::string>()).stem().string()
                           : std::string();
    if (stem.empty() || names.count(stem)) stem = cat("record-", item.where.substr(item.where.rfind(':') + 1));
    names.insert(stem);
    return (std::filesystem::path(output) / (stem + extension)).string();
  };
  auto emit = [&](const Item& item, const std::string& text, const char* extension) {
    if (!to_directory) {
      stream->stream() << text;
      return;
    }
    const std::string path = file_for(item, extension);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file) throw Error(cat(path, ": write failed"));
  };

  for (const Item& item : items) {
    const Segment& segment = item.segment;
    const json& record = item.record;
    const std::string& where = item.where;
    switch (segment.kind) {
      case SegmentKind::Text: {
        std::string text = models.text().decode(segment.codes);
        emit(item, text + (text.ends_with('\n') ? "" : "\n"), ".txt");
        break;
      }
      case SegmentKind::Location: {
        ImageSize size = record_image_size(record, where);
        std::string convention = record.value("convention", std::string("unified-io-2"));
        int64_t bins = record.contains("bins") && record["bins"].is_number_integer() ? record["bins"].get<int64_t>()
                                                                                      : format.layout().range_of(format.layout().span(segment.span)).size;
        LocationTokenizer location(parse_box_convention(convention), bins);
        json result = {{"input", record.value("input", json(nullptr))}, {"modality", record_modality(segment)}};
        if (segment.shape[1] == 4) {
          json boxes = json::array();
          for (const Box& b : location.decode_boxes(segment.codes, size)) boxes.push_back({b.x1, b.y1, b.x2, b.y2});
          result["boxes"] = boxes;
        } else {
          json points = json::array();
          for (const Point& p : location.decode_points(segment.codes, size)) points.push_back({p.x, p.y});
          result["keypoints"] = points;
        }
        result["image_size"] = {size.width, size.height};
        emit(item, result.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", ".json");
        break;
      }
      case SegmentKind::Image: {
        const ImageDecoder& decoder = models.image_decoder();
        const Tensor pixels = decoder.decode(segment.codes, 1, segment.shape[0], segment.shape[1]);
        const Tensor chw = pixels.reshape({pixels.dim(1), pixels.dim(2), pixels.dim(3)});
        ContentRegion region = record_content_region(record, decoder.config(), chw.dim(1), chw.dim(2), where);
        write_png(to_directory ? file_for(item, ".png") : output,
                  image_from_tensor(chw, region.top, region.left, region.height, region.width));
        break;
      }
      case SegmentKind::Audio: {
        AudioDecoder& decoder = models.audio_decoder();
        const EncodedAudio encoded = record_encoded_audio(record, segment, decoder.config(), where);
        const std::string path = to_directory ? file_for(item, ".wav") : output;
        ProgressLine progress(cat("decoding ", path), "frames");
        decoder.decode_to_file(encoded, path, audio_subtype, [&](int64_t done, int64_t total) {
          progress.update(static_cast<double>(done), static_cast<double>(total));
        });
        break;
      }
      default:
        throw Error(cat(where, ": ", record_modality(segment), " records cannot be detokenized"));
    }
  }
  if (stream) stream->close();
  return 0;
}

}  // namespace

Command detokenize_command() {
  return {"detokenize", "tokens JSON Lines → text, PNG images, WAV/FLAC audio, boxes and keypoints", run};
}

}  // namespace anytok
