// anytok merge: the shards that `anytok preprocess --rank R --world-size W` wrote, joined in rank order into the
// dataset one process would have written, byte for byte. Megatron indices join as IndexedDatasetBuilder.add_index
// joins them: sequence entries follow one another and each shard's document indices shift by the sequences before
// it.
#include <filesystem>
#include <iostream>

#include "apps/command.h"
#include "apps/dataset_output.h"
#include "nn/error.h"

namespace anytok {
namespace {

using json = nlohmann::json;

const char* kUsage =
    "usage: anytok merge PREFIX --world-size W [--overwrite]\n"
    "\n"
    "Joins the shards PREFIX.rank-0-of-W ... PREFIX.rank-(W-1)-of-W written by `anytok preprocess --rank R\n"
    "--world-size W -o PREFIX` into PREFIX's dataset, errors and sidecar, exactly as one process writes them.\n"
    "Every rank must be complete (its sidecar PREFIX.rank-R-of-W.json exists) and made with the same settings.\n"
    "The shards are left in place.";

int run(int argc, char** argv) {
  std::string prefix;
  int64_t world_size = 0;
  bool overwrite = false;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("prefix", po::value(&prefix)->value_name("PREFIX"), "the -o PREFIX the ranks were given")
      ("world-size", po::value(&world_size)->value_name("W"), "how many ranks wrote shards")
      ("overwrite", po::bool_switch(&overwrite), "merge again over a finished merge");
  po::positional_options_description positional;
  positional.add("prefix", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  if (prefix.empty()) throw Error("no PREFIX given (see anytok merge --help)");
  if (world_size < 1) throw Error("give --world-size W, the number of ranks (at least 1)");

  std::vector<std::string> shards;
  std::vector<json> sidecars;
  std::string missing;
  for (int64_t r = 0; r < world_size; ++r) {
    shards.push_back(world_size > 1 ? cat(prefix, ".rank-", r, "-of-", world_size) : prefix);
    const std::string path = shards.back() + ".json";
    if (!std::filesystem::exists(path)) {
      missing += cat(missing.empty() ? "" : ", ", r);
      continue;
    }
    try {
      sidecars.push_back(json::parse(read_whole_file(path)));
    } catch (const json::exception& e) {
      throw Error(cat(path, ": ", e.what()));
    }
  }
  if (!missing.empty())
    throw Error(cat("rank(s) ", missing, " of ", world_size, " are not complete (no ", prefix, ".rank-R-of-", world_size,
                    ".json); run them first"));

  // What every shard must share: everything but its slice, its files and its counts.
  auto common = [](json sidecar) {
    for (const char* key : {"counts", "shard", "files", "format"}) sidecar.erase(key);
    return sidecar;
  };
  const json settings = common(sidecars[0]);
  int64_t expected_first = 0, lines = 0;
  for (int64_t r = 0; r < world_size; ++r) {
    const json& s = sidecars[static_cast<size_t>(r)];
    const std::string where = shards[static_cast<size_t>(r)] + ".json";
    if (common(s) != settings || s.value("format", "") != sidecars[0].value("format", ""))
      throw Error(cat(where, ": made with other settings than rank 0 (models, options, layout or manifest differ)"));
    if (world_size > 1) {
      const json shard = s.value("shard", json());
      if (!shard.is_object() || shard.value("rank", -1) != r || shard.value("world_size", -1) != world_size)
        throw Error(cat(where, ": not the sidecar of rank ", r, " of ", world_size));
      const json range = shard.value("lines", json());
      if (!range.is_array() || range.size() != 2 || range[0].get<int64_t>() != expected_first)
        throw Error(cat(where, ": its lines do not follow rank ", r - 1, "'s"));
      expected_first = range[1].get<int64_t>();
    }
    lines += s.at("counts").value("lines", int64_t{0});
  }
  if (world_size > 1 && expected_first != settings.at("manifest").value("lines", int64_t{-1}))
    throw Error(cat("the ranks cover ", expected_first, " lines, the manifest has ", settings.at("manifest").value("lines", 0)));

  const DatasetFormat format = parse_dataset_format(sidecars[0].value("format", "megatron"));
  const bool seq2seq = settings.value("examples_are", "") == "seq2seq pairs";
  const TokenDtype dtype = settings.value("dtype", "") == "uint16" ? TokenDtype::UInt16 : TokenDtype::Int32;
  DatasetOutput output(prefix, format, seq2seq, dtype, settings);
  if (overwrite) output.discard();
  if (output.complete()) {
    std::cerr << "anytok merge: " << output.sidecar_path() << " exists: already merged (pass --overwrite to redo it)\n";
    return 0;
  }
  output.discard();  // a merge has no checkpoint to resume: it starts over
  output.open(0);
  for (size_t r = 0; r < shards.size(); ++r) output.append_shard(shards[r], sidecars[r].at("counts"));
  output.finish(lines);
  std::cerr << "anytok merge: " << prefix << ": " << world_size << " shards, " << output.examples() << " examples, "
            << output.errors() << " errors\n";
  return 0;
}

}  // namespace

Command merge_command() { return {"merge", "join the shards of ranks into one dataset", run}; }

}  // namespace anytok
