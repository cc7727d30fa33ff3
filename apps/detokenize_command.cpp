// anytok detokenize: tokens JSON Lines → text, and boxes or keypoints as JSON in pixels.
#include <fstream>
#include <iostream>

#include "apps/command.h"
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
    "  {\"input\": ..., \"modality\": \"boxes\", \"boxes\": [[x1,y1,x2,y2], ...], \"image_size\": [W,H]}";

ImageSize record_image_size(const json& r, const std::string& where) {
  if (!r.contains("image_size") || !r["image_size"].is_array() || r["image_size"].size() != 2 ||
      !r["image_size"][0].is_number_integer() || !r["image_size"][1].is_number_integer())
    throw Error(cat(where, ": a location record needs \"image_size\": [W, H]"));
  return {r["image_size"][0].get<int64_t>(), r["image_size"][1].get<int64_t>()};
}

int run(int argc, char** argv) {
  ModelOptions models;
  std::string input = "-", output;
  po::options_description options("options");
  options.add_options()
      ("input", po::value(&input)->value_name("FILE"), "tokens JSON Lines file, or - for standard input")
      ("output,o", po::value(&output)->value_name("OUT"), "write here instead of standard output");
  models.add_to(options);
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  models.apply();

  std::ifstream file;
  std::istream* in = &std::cin;
  const std::string name = input == "-" ? "<stdin>" : input;
  if (input != "-") {
    file.open(input);
    if (!file) throw Error(cat(input, ": cannot open"));
    in = &file;
  }
  SequenceFormat format(models.layout());
  Output out(output);
  std::string line;
  for (int64_t number = 1; std::getline(*in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = cat(name, ":", number);
    json record;
    try {
      record = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(cat(where, ": not valid JSON (", e.what(), ")"));
    }
    Segment segment = record_segment(record, format, where);
    switch (segment.kind) {
      case SegmentKind::Text: {
        std::string text = models.text().decode(segment.codes);
        out.stream() << text << (text.ends_with('\n') ? "" : "\n");
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
        out.stream() << result.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        break;
      }
      default:
        throw Error(cat(where, ": ", record_modality(segment), " records need a ", record_modality(segment),
                        " model to detokenize, which this build lacks"));
    }
  }
  if (in->bad()) throw Error(cat(name, ": read failed"));
  out.close();
  return 0;
}

}  // namespace

Command detokenize_command() { return {"detokenize", "tokens JSON Lines → text, boxes and keypoints", run}; }

}  // namespace anytok
