// torch.nn.Transformer read from its state_dict(): the upstream golden case, and incremental decoding equal to
// decoding all positions at once.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/error.h"
#include "nn/safetensors.h"
#include "nn/thread_pool.h"
#include "sequence/transformer.h"
#include "test_util.h"

using namespace anytok;
using test::golden;
using test::max_abs_diff;

namespace {

struct GoldenStack {
  TransformerConfig config;
  Weights weights;
  TransformerStack stack;
  explicit GoldenStack(const std::string& dir)
      : config(load_config(dir)), weights(dir + "/model.safetensors"), stack(config, weights, "") {}
  static TransformerConfig load_config(const std::string& dir) {
    std::string path;
    return TransformerConfig::from_json(config::load(dir, "torch.nn.Transformer", path), path);
  }
};

}  // namespace

TEST_CASE("torch.nn.Transformer golden case: pre-LN, GELU, padding and causal masks") {
  ThreadPool::set_threads(2);
  const std::string dir = golden("torch-transformer-preln");
  GoldenStack g(dir);
  g.weights.check_all_used();
  SafetensorsFile c(dir + "/case.safetensors");
  const Tensor src = c.to_float(c.at("src")), tgt = c.to_float(c.at("tgt"));
  const Tensor memory = c.to_float(c.at("memory")), out = c.to_float(c.at("out"));
  const auto pad64 = c.to_int64(c.at("src_pad"));
  const std::vector<uint8_t> pad(pad64.begin(), pad64.end());
  const Tensor ours = g.stack.encode(src, pad);
  const float memory_error = max_abs_diff(ours, memory);
  MESSAGE("memory within " << memory_error);
  CHECK(memory_error <= 1e-4f);

  const int64_t rows = tgt.dim(0), steps = tgt.dim(1), d = tgt.dim(2);
  DecoderCache whole = g.stack.start(ours, pad, {0, 1}, steps);
  const Tensor all_at_once = g.stack.decode(whole, tgt);
  const float out_error = max_abs_diff(all_at_once, out);
  MESSAGE("decoder output within " << out_error);
  CHECK(out_error <= 1e-4f);

  // One position per call, from the cache, as generation runs.
  DecoderCache cache = g.stack.start(ours, pad, {0, 1}, steps);
  Tensor incremental({rows, steps, d});
  for (int64_t t = 0; t < steps; ++t) {
    Tensor step({rows, 1, d});
    for (int64_t r = 0; r < rows; ++r) std::copy_n(tgt.data() + (r * steps + t) * d, d, step.data() + r * d);
    const Tensor y = g.stack.decode(cache, step);
    for (int64_t r = 0; r < rows; ++r) std::copy_n(y.data() + r * d, d, incremental.data() + (r * steps + t) * d);
  }
  CHECK(max_abs_diff(incremental, all_at_once) <= 1e-5f);
  Tensor extra({rows, 1, d});
  CHECK_THROWS_WITH_AS(g.stack.decode(cache, extra), doctest::Contains("exceed the cache"), Error);
}
