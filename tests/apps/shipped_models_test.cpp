// The shipped default models: each comes with its model card, and the README's quick start reconstructs the
// example files with them, with no model named on the command line.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "test_util.h"

using anytok::test::read_text;
using anytok::test::run_anytok;
using anytok::test::run_command;
namespace fs = std::filesystem;

namespace {

std::set<std::string> shipped_models() {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(ANYTOK_MODELS_DIR))
    if (entry.is_directory()) names.insert(entry.path().filename().string());
  return names;
}

std::string shell_quoted(const fs::path& path) {
  std::string quoted = "'";
  quoted += path.string();
  return quoted + "'";
}

// The README's sample output of the quick start: its indented "examples/NAME: ..." lines, by file name.
std::map<std::string, std::string> readme_sample_lines() {
  std::istringstream readme(read_text(ANYTOK_README));
  std::map<std::string, std::string> lines;
  const std::regex sample(R"(^    examples/([^:]+): .*$)");
  for (std::string line; std::getline(readme, line);) {
    std::smatch m;
    if (std::regex_match(line, m, sample)) lines.emplace(m[1], line.substr(4));
  }
  return lines;
}

// Whether two output lines say the same: equal text and integers, decimals within 0.02 (the last printed digit
// may differ between GEMM kernels of other CPUs).
bool same_report(const std::string& a, const std::string& b) {
  const std::regex decimal(R"(-?\d+\.\d+)");
  if (std::regex_replace(a, decimal, "#") != std::regex_replace(b, decimal, "#")) return false;
  std::sregex_iterator x(a.begin(), a.end(), decimal), y(b.begin(), b.end(), decimal), end;
  for (; x != end && y != end; ++x, ++y)
    if (std::fabs(std::stod(x->str()) - std::stod(y->str())) > 0.02) return false;
  return true;
}

}  // namespace

TEST_CASE("every shipped model has its files and a model card") {
  const std::set<std::string> names = shipped_models();
  REQUIRE(names.count("text") == 1);
  for (const std::string& name : names) {
    CAPTURE(name);
    const fs::path dir = fs::path(ANYTOK_MODELS_DIR) / name;
    CHECK(fs::is_regular_file(dir / "MODEL_CARD.md"));
    if (name == "text") {
      CHECK(fs::is_regular_file(dir / "tokenizer.model"));
    } else {
      CHECK(fs::is_regular_file(dir / "config.json"));
      CHECK(fs::is_regular_file(dir / "model.safetensors"));
    }
  }
}

TEST_CASE("the quick start reconstructs every example file with the default models") {
  std::string inputs;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(ANYTOK_EXAMPLES_DIR)) {
    inputs += ' ';
    inputs += shell_quoted(entry.path());
    ++files;
  }
  REQUIRE(files > 0);
  anytok::test::ScratchDir scratch("shipped-models");
  const auto result = run_anytok("reconstruct" + inputs + " --threads 2 -o " + shell_quoted(scratch.path("out")));
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);

  // One line per file; each modality's figure must show a working model, not merely a decoded file.
  const std::regex text(R"(^.*\.(txt|md): \d+ bytes → \d+ pieces, decoded exactly$)");
  const std::regex image(R"(^.*: \d+x\d+ → \d+x\d+ codes, PSNR ([0-9.]+) dB, SSIM ([0-9.]+)$)");
  const std::regex audio(R"(^.*: .* SI-SNR (-?[0-9.]+) dB, log-mel distance ([0-9.]+)$)");
  int lines = 0;
  std::istringstream out(result.out);
  const std::map<std::string, std::string> readme = readme_sample_lines();
  CHECK(static_cast<int>(readme.size()) == files);  // the README shows one line for each example file
  for (std::string line; std::getline(out, line); ++lines) {
    CAPTURE(line);
    const std::string name = fs::path(line.substr(0, line.find(':'))).filename().string();
    const auto shown = readme.find(name);
    if (shown == readme.end()) {
      FAIL_CHECK("the README's quick start does not show the line for " << name);
    } else {
      CAPTURE(shown->second);
      CHECK(same_report(shown->second, "examples/" + line.substr(line.find(name))));
    }
    std::smatch m;
    if (std::regex_match(line, m, image)) {
      CHECK(std::stod(m[1]) >= 20.0);  // the photograph is held out; the model's floor is 22 dB on such photographs
      CHECK(std::stod(m[2]) >= 0.5);
    } else if (std::regex_match(line, m, audio)) {
      CHECK(std::stod(m[1]) >= 2.0);   // synthesised speech, held out; the model's floor is 4 dB on such sentences
      CHECK(std::stod(m[2]) <= 2.5);
    } else {
      CHECK(std::regex_match(line, text));
    }
  }
  CHECK(lines == files);
  CHECK(std::distance(fs::directory_iterator(scratch.path("out")), fs::directory_iterator()) == files);
}

TEST_CASE("a missing default model is named, with the option that replaces it") {
  anytok::test::ScratchDir scratch("no-models");
  fs::create_directories(scratch.path("models"));
  std::string command = "ANYTOK_MODELS=";
  command += shell_quoted(scratch.path("models")) + " " + shell_quoted(ANYTOK_BINARY) + " reconstruct " +
             shell_quoted(fs::path(ANYTOK_EXAMPLES_DIR) / "caption.txt");
  const auto result = run_command(command);
  CHECK(result.exit_code == 1);
  CHECK(result.err == "anytok reconstruct: the default model " + scratch.path("models") +
                          "/text/tokenizer.model is missing; name one with --text-model or set ANYTOK_MODELS to the "
                          "folder of the shipped models\n");
}
