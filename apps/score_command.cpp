// anytok score: teacher-forced log-probabilities of target ids under a seq2seq model.
#include <iostream>

#include "apps/command.h"
#include "nn/error.h"
#include "nn/thread_pool.h"
#include "sequence/generation.h"

namespace anytok {
namespace {

const char* kUsage =
    "usage: anytok score --model DIR --input-ids \"i j k\" --target-ids \"a b c\"\n"
    "\n"
    "Prints one JSON Lines record {\"logprobs\": [...], \"total\": sum}: the log-probability of each target id\n"
    "given the encoder input and the target ids before it (the decoder reads bos followed by the target minus\n"
    "its last id). For perplexity evaluation: exp(−total / number of ids).";

int run(int argc, char** argv) {
  std::string model_dir, input_ids, target_ids;
  int threads = 0;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("model", po::value(&model_dir)->value_name("DIR"), "seq2seq model directory")
      ("input-ids", po::value(&input_ids)->value_name("IDS"), "the encoder input as ids, space-separated")
      ("target-ids", po::value(&target_ids)->value_name("IDS"), "the target ids, space-separated")
      ("threads", po::value(&threads)->value_name("N")->default_value(0), "worker threads (0: one per core)");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  ThreadPool::set_threads(threads);
  if (model_dir.empty() || input_ids.empty() || target_ids.empty())
    throw Error("--model, --input-ids and --target-ids are required (see anytok score --help)");
  const Seq2SeqModel model(model_dir);
  const TargetScore s = score(model, {parse_ids(input_ids, "--input-ids")}, {parse_ids(target_ids, "--target-ids")}).front();
  std::cout << nlohmann::json{{"logprobs", s.logprobs}, {"total", s.total}}.dump() << "\n";
  return 0;
}

}  // namespace

Command score_command() { return {"score", "teacher-forced log-probabilities of target ids under a seq2seq model", run}; }

}  // namespace anytok
