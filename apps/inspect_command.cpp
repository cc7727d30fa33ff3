// anytok inspect: what an image model is, and how a tokens file uses its codebook.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "apps/command.h"
#include "apps/token_record.h"
#include "nn/error.h"

namespace anytok {
namespace {

using json = nlohmann::json;

const char* kUsage =
    "usage: anytok inspect [--image-model DIR] [TOKENS.jsonl]\n"
    "\n"
    "Describes the image model: architecture, checkpoint key names, codebook. Given a tokens file (as\n"
    "`anytok tokenize` writes it), it also prints codebook statistics over its image records: how many codes\n"
    "are used, the perplexity of their distribution (the number of equally used codes with the same entropy)\n"
    "and the most used codes.";

void describe_model(const std::string& dir, const VqganConfig& c) {
  VqganCheckpoint checkpoint(dir, c);
  const char* keys[] = {"taming", "unified-io-2", "diffusers"};
  SafetensorsFile file((std::filesystem::path(dir) / "model.safetensors").string());
  int64_t tensors = 0, parameters = 0;
  for (const auto& t : file.tensors())
    if (t.name.starts_with(checkpoint.prefix())) {
      ++tensors;
      parameters += shape_numel(t.shape);
    }
  const int64_t grid = c.resolution / c.factor();
  std::cout << "image model " << dir << "\n"
            << "  VQ-GAN f" << c.factor() << ": " << c.resolution << "² → " << grid << "×" << grid << " codes, preprocess "
            << c.preprocess << "\n"
            << "  ch " << c.ch << ", ch_mult " << shape_to_string(c.ch_mult) << ", " << c.num_res_blocks << " res blocks, attention at "
            << shape_to_string(c.attn_resolutions) << ", z_channels " << c.z_channels << "\n"
            << "  codebook " << c.n_embed << " codes × " << c.embed_dim << " dims\n"
            << "  checkpoint: " << keys[static_cast<int>(checkpoint.keys())] << " key names"
            << (checkpoint.prefix().empty() ? std::string() : " under " + checkpoint.prefix()) << ", " << tensors
            << " tensors, " << std::setprecision(3) << static_cast<double>(parameters) / 1e6 << " M parameters\n";
}

int run(int argc, char** argv) {
  ModelOptions models;
  std::string tokens;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()("input", po::value(&tokens)->value_name("FILE"), "tokens JSON Lines file");
  models.add_to(options);
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  const VqganConfig& config = models.image_config();
  describe_model(models.image_model_dir(), config);
  if (tokens.empty()) return 0;

  std::ifstream in(tokens);
  if (!in) throw Error(cat(tokens, ": cannot open"));
  SequenceFormat format(models.layout());
  std::vector<int64_t> codes;
  int64_t records = 0;
  TokenRecordReader reader(in, tokens, models.max_tokens);
  json record;
  std::string where;
  while (reader.next(record, where)) {
    if (record.value("modality", std::string()) != "image") continue;
    Segment s = record_segment(record, format, where, models.max_tokens);
    codes.insert(codes.end(), s.codes.begin(), s.codes.end());
    ++records;
  }
  const CodebookStats stats = Codebook::statistics(codes, config.n_embed);
  std::cout << tokens << ": " << records << " image records, " << stats.total << " codes\n" << std::fixed
            << "  codebook usage: " << stats.used << " of " << config.n_embed << " codes (" << std::setprecision(2)
            << 100.0 * static_cast<double>(stats.used) / static_cast<double>(config.n_embed) << "%), perplexity "
            << std::setprecision(1) << stats.perplexity << "\n";
  std::vector<int64_t> order(static_cast<size_t>(config.n_embed));
  for (int64_t i = 0; i < config.n_embed; ++i) order[i] = i;
  const size_t top = std::min<size_t>(10, static_cast<size_t>(stats.used));
  std::partial_sort(order.begin(), order.begin() + top, order.end(),
                    [&](int64_t a, int64_t b) { return stats.counts[a] > stats.counts[b] || (stats.counts[a] == stats.counts[b] && a < b); });
  if (top) std::cout << "  most used:";
  for (size_t i = 0; i < top; ++i)
    std::cout << " " << order[i] << " (" << std::setprecision(1)
              << 100.0 * static_cast<double>(stats.counts[order[i]]) / static_cast<double>(stats.total) << "%)";
  if (top) std::cout << "\n";
  return 0;
}

}  // namespace

Command inspect_command() { return {"inspect", "describe an image model and its codebook usage", run}; }

}  // namespace anytok
