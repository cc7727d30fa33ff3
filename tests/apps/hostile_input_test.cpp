// The bad-input corpus of tests/data/hostile (made by its make_corpus.py): every command given in
// expectations.json fails with exit code 1 and the one line it names, and no command dies by a signal on any
// file of the folder, whatever it is given as.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

using anytok::test::read_text;
using anytok::test::run_anytok;
using anytok::test::ScratchDir;
using anytok::test::write_text;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kData = ANYTOK_TEST_DATA;
const std::string kHostile = kData + "/hostile";

std::string expand(std::string text, const std::string& scratch) {
  const std::pair<std::string, std::string> names[] = {
      {"{hostile}", kHostile}, {"{golden}", kData + "/golden"}, {"{images}", kData + "/images"},
      {"{data}", kData}, {"{scratch}", scratch}};
  for (const auto& [name, value] : names)
    for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size()))
      text.replace(at, name.size(), value);
  return text;
}

int lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

TEST_CASE("hostile inputs: each expected error, on one line, with exit code 1") {
  ScratchDir scratch("hostile-expected");
  const json cases = json::parse(read_text(kHostile + "/expectations.json"));
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    const std::string args = expand(c["args"].get<std::string>(), scratch.path(""));
    CAPTURE(args);
    const auto r = run_anytok(args);
    CHECK(r.exit_code == 1);
    CHECK(lines(r.err) == 1);
    CHECK_MESSAGE(r.err.find(c["error"].get<std::string>()) != std::string::npos, r.err);
  }
}

TEST_CASE("hostile inputs: no command dies by a signal, whatever file it is handed") {
  ScratchDir scratch("hostile-walk");
  const std::string models = " --image-model '" + kData + "/golden/vqgan-taming-tiny' --audio-model '" + kData +
                             "/golden/encodec-24k-tiny'";
  std::vector<std::string> runs;
  for (const auto& entry : fs::directory_iterator(kHostile)) {
    const std::string path = entry.path().string(), name = entry.path().filename().string();
    if (entry.is_directory()) {
      // A forged model folder as every kind of model.
      for (const std::string& args : {"tokenize '" + kData + "/images/rgb.png' --image-model '" + path + "'",
                                      "reconstruct '" + kData + "/images/rgb.png' --image-model '" + path + "'",
                                      "inspect --image-model '" + path + "'",
                                      "tokenize '" + kData + "/golden/encodec-24k-tiny/input_0.wav' --audio-model '" + path + "'",
                                      "generate --model '" + path + "' --ids 1,2,3"})
        runs.push_back(args);
      continue;
    }
    // A file under every extension a command sorts by, so that each reader meets it.
    for (const char* extension : {".png", ".jpg", ".wav", ".flac", ".txt", ".jsonl"}) {
      const std::string copy = scratch.path(name + extension);
      fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
      runs.push_back("tokenize '" + copy + "'" + models);
      if (std::string(extension) == ".jsonl") {
        runs.push_back("detokenize '" + copy + "' -o '" + scratch.path("out") + "'" + models);
        runs.push_back("preprocess '" + copy + "' -o '" + scratch.path("ds-" + name) + "'" + models);
      }
      if (std::string(extension) == ".png" || std::string(extension) == ".wav" || std::string(extension) == ".txt")
        runs.push_back("reconstruct '" + copy + "'" + models);
    }
    write_text(scratch.path("manifest-" + name + ".jsonl"),
               "[{\"image\": \"" + path + "\"}]\n[{\"audio\": \"" + path + "\"}]\n");
    runs.push_back("preprocess '" + scratch.path("manifest-" + name + ".jsonl") + "' -o '" + scratch.path("m-" + name) + "'" + models);
  }
  REQUIRE(runs.size() > 100);
  for (const auto& args : runs) {
    CAPTURE(args);
    const auto r = run_anytok(args);
    CHECK(r.exit_code >= 0);  // −1: killed by a signal
    CHECK(r.exit_code <= 1);
    if (r.exit_code == 1) CHECK_MESSAGE(lines(r.err) == 1, r.err);
  }
}

TEST_CASE("a manifest line of 100 MB is refused by name, and the run goes on") {
  ScratchDir dir("hostile-long-line");
  std::string manifest = "[{\"text\": \"before\"}]\n[{\"text\": \"";
  manifest.append(size_t{100} << 20, 'a');
  manifest += "\"}]\n[{\"text\": \"after\"}]\n";
  write_text(dir.path("manifest.jsonl"), manifest);
  manifest.clear();
  manifest.shrink_to_fit();
  const auto r = run_anytok("preprocess '" + dir.path("manifest.jsonl") + "' -o '" + dir.path("ds") + "'");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const json error = json::parse(read_text(dir.path("ds.errors.jsonl")));
  CHECK(error["line"] == 2);
  CHECK(error["reason"] == "the line is 104857614 bytes, over the limit of 64 MiB");
  CHECK(json::parse(read_text(dir.path("ds.json")))["counts"]["examples"] == 2);
}

TEST_CASE("a tokens line longer than --max-tokens allows is refused before it is read whole") {
  ScratchDir dir("hostile-long-tokens");
  std::string tokens = "{\"modality\": \"text\", \"tokens\": [";
  for (int i = 0; i < 400000; ++i) tokens += "5, ";
  tokens += "5]}\n";
  write_text(dir.path("long.jsonl"), tokens);
  // 1 MiB of metadata plus 24 bytes per token: 10 tokens allow about 1 MiB, the line is 1.2 MB.
  for (const std::string& command : {std::string("detokenize"), "inspect --image-model '" + kData + "/golden/vqgan-taming-tiny'"}) {
    CAPTURE(command);
    const auto r = run_anytok(command + " '" + dir.path("long.jsonl") + "' --max-tokens 10");
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find("long.jsonl:1: the line is longer than 1 MiB, more than a record within --max-tokens "
                             "can be") != std::string::npos, r.err);
  }
  // Within the default cap the same line is a record like any other.
  const auto r = run_anytok("detokenize '" + dir.path("long.jsonl") + "'");
  CHECK_MESSAGE(r.exit_code == 0, r.err);
}
