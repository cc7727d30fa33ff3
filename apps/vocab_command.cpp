// anytok vocab: prints a vocabulary layout (a preset filled with the models' sizes, or a layout file).
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "apps/command.h"
#include "nn/error.h"

namespace anytok {
namespace {

const char* kUsage =
    "usage: anytok vocab [--preset anytok|unified-io-2|anygpt | --vocab FILE] [--json] [options]\n"
    "\n"
    "Prints the shared vocabulary layout as a table of id ranges, or as JSON with --json (the form --vocab\n"
    "reads). The layout is validated first: ranges and tokens never overlap. Presets take their sizes from\n"
    "the models in use; unified-io-2 and anygpt fix theirs to the upstream models (LLaMA's 32000 pieces).";

std::string ids(int64_t lo, int64_t hi) { return lo == hi ? std::to_string(lo) : cat(lo, "..", hi); }

void print_table(const VocabularyLayout& v, std::ostream& out) {
  out << "vocabulary layout " << (v.preset_name.empty() ? "(from file)" : v.preset_name) << ": " << v.size
      << " ids\n";
  struct Row {
    int64_t lo, hi;
    std::string what;
  };
  std::vector<Row> rows;
  rows.push_back({v.text.lowest(), v.text.highest(),
                  cat("text: ", v.text.size, " pieces (pad ", v.pad_id, ", unk ", v.unk_id, ", bos ", v.bos_id, ", eos ",
                      v.eos_id, ")")});
  for (const auto& r : v.ranges) {
    std::string what = cat(r.name, ": ");
    if (r.codebooks > 1)
      what += cat(r.codebooks, " codebooks × ", r.size, " codes (codebook k code c at ", r.first, " + ", r.size, "k + c)");
    else
      what += cat(r.size, " codes", r.descending ? cat(" (code c at ", r.first, " − c)") : std::string());
    rows.push_back({r.lowest(), r.highest(), what});
  }
  for (const auto& [name, id] : v.tokens) rows.push_back({id, id, name});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.lo < b.lo; });
  for (const auto& row : rows) out << "  " << std::left << std::setw(14) << ids(row.lo, row.hi) << row.what << "\n";
  if (!v.spans.empty()) out << "spans:\n";
  for (const auto& s : v.spans) {
    out << "  " << std::left << std::setw(10) << s.name
        << (s.has_markers() ? cat(s.begin, " … ", s.end) : std::string("bare run")) << ", " << s.range;
    if (s.kind == SpanKind::Image) out << ", grid " << s.grid_h << "×" << s.grid_w;
    if (s.kind == SpanKind::Audio) out << ", " << s.codebooks << " codebooks " << audio_order_name(s.order);
    if (s.kind == SpanKind::Location) out << ", " << s.group << " bins per " << (s.group == 4 ? "box" : "keypoint");
    out << "\n";
  }
  for (const auto& note : v.notes) out << "note: " << note << "\n";
}

int run(int argc, char** argv) {
  ModelOptions models;
  bool as_json = false;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()("json", po::bool_switch(&as_json), "print the layout as JSON");
  models.add_to(options);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, {}, vm)) return 0;
  const VocabularyLayout& layout = models.layout();
  if (as_json)
    std::cout << layout.to_json().dump(2) << "\n";
  else
    print_table(layout, std::cout);
  std::cout.flush();
  if (!std::cout) throw Error("standard output: write failed");
  return 0;
}

}  // namespace

Command vocab_command() { return {"vocab", "print and validate the shared vocabulary layout", run}; }

}  // namespace anytok
