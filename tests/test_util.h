// Helpers shared by the test suites: random data, scratch folders, running the CLI.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/tensor.h"

namespace anytok::test {

inline Tensor random_tensor(const Shape& shape, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = normal(rng);
  return t;
}

// A fresh folder under the system temp dir, removed when the object dies.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  std::string path(const std::string& file) const { return (dir_ / file).string(); }

 private:
  std::filesystem::path dir_;
};

struct RunResult {
  int exit_code = -1;  // −1 when the process died by a signal
  std::string out;     // standard output
  std::string err;     // standard error
};

// Runs a shell command line, with `stdin_text` on its standard input.
RunResult run_command(const std::string& command, const std::string& stdin_text = "");
// Runs `anytok ARGS` (the build's binary, with the source tree's models as defaults).
RunResult run_anytok(const std::string& args, const std::string& stdin_text = "");

// Largest |a − b| over two tensors of one shape (a test failure when the shapes differ).
float max_abs_diff(const Tensor& a, const Tensor& b);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// A folder of tests/data/golden: a case computed by the upstream implementation.
inline std::string golden(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/golden/" + name; }

// Each line of JSON Lines text, parsed.
std::vector<nlohmann::json> json_lines(const std::string& text);

}  // namespace anytok::test
