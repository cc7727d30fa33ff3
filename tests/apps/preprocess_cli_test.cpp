// anytok preprocess and merge through the CLI: every good example's tokens are what `anytok tokenize` gives for
// it alone, bad lines land in the errors file, the .idx has Megatron's layout field by field, a run killed with
// SIGKILL and run again writes the same bytes as an uninterrupted one, and ranks merged equal one process.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "test_util.h"
#include "tokenizers/audio_io.h"

using anytok::test::golden;
using anytok::test::json_lines;
using anytok::test::read_text;
using anytok::test::run_anytok;
using anytok::test::ScratchDir;
using anytok::test::write_text;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string image(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/images/" + name; }

const std::string kModels =
    " --image-model '" + golden("vqgan-taming-tiny") + "' --audio-model '" + golden("encodec-24k-tiny") + "'";

// Megatron's .idx read field by field, independently of anytok's own reader.
struct IdxFile {
  uint8_t dtype = 0;
  std::vector<int32_t> lengths;
  std::vector<int64_t> pointers, documents;
  std::vector<int8_t> modes;
  std::vector<std::vector<int64_t>> sequences;  // from .bin
};

template <typename T>
T take(const std::string& bytes, size_t& at) {
  REQUIRE(at + sizeof(T) <= bytes.size());
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof(T));
  at += sizeof(T);
  return v;
}

IdxFile read_dataset(const std::string& prefix) {
  const std::string idx = read_text(prefix + ".idx"), bin = read_text(prefix + ".bin");
  IdxFile f;
  size_t at = 0;
  REQUIRE(idx.substr(0, 9) == std::string("MMIDIDX\0\0", 9));
  at = 9;
  CHECK(take<uint64_t>(idx, at) == 1);  // version
  f.dtype = take<uint8_t>(idx, at);
  const uint64_t sequences = take<uint64_t>(idx, at), documents = take<uint64_t>(idx, at);
  for (uint64_t i = 0; i < sequences; ++i) f.lengths.push_back(take<int32_t>(idx, at));
  for (uint64_t i = 0; i < sequences; ++i) f.pointers.push_back(take<int64_t>(idx, at));
  for (uint64_t i = 0; i < documents; ++i) f.documents.push_back(take<int64_t>(idx, at));
  for (uint64_t i = 0; i < sequences; ++i) f.modes.push_back(take<int8_t>(idx, at));
  CHECK(at == idx.size());
  const size_t width = f.dtype == 8 ? 2 : 4;
  int64_t pointer = 0;
  for (uint64_t i = 0; i < sequences; ++i) {
    CHECK(f.pointers[i] == pointer);
    std::vector<int64_t> ids;
    for (int32_t t = 0; t < f.lengths[i]; ++t) {
      size_t p = static_cast<size_t>(f.pointers[i]) + t * width;
      ids.push_back(width == 2 ? int64_t{take<uint16_t>(bin, p)} : int64_t{take<int32_t>(bin, p)});
    }
    f.sequences.push_back(ids);
    pointer += f.lengths[i] * static_cast<int64_t>(width);
  }
  CHECK(static_cast<size_t>(pointer) == bin.size());
  REQUIRE(!f.documents.empty());
  CHECK(f.documents.front() == 0);
  CHECK(f.documents.back() == static_cast<int64_t>(sequences));
  return f;
}

// What `anytok tokenize ARGS` gives as the tokens of its only record.
std::vector<int64_t> tokenize_alone(const std::string& args) {
  const auto r = run_anytok("tokenize " + args + kModels);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return json::parse(r.out)["tokens"].get<std::vector<int64_t>>();
}

// A folder with images, audio (16 kHz, so it is resampled for the 24 kHz model) and a corrupt file.
void write_inputs(const ScratchDir& dir) {
  fs::copy_file(image("rgb.png"), dir.path("rgb.png"));
  fs::copy_file(image("photo.jpg"), dir.path("photo.jpg"));
  fs::copy_file(golden("encodec-24k-tiny") + "/input_0.wav", dir.path("speech24k.wav"));
  anytok::write_audio(dir.path("speech16k.wav"), anytok::test::random_tensor({1, 9000}, 3, 0.2f), 16000,
                      anytok::AudioSubtype::Pcm16);
  write_text(dir.path("corrupt.wav"), "RIFF\x10\x00\x00\x00WAVEfmt garbage that is no audio");
}

bool same_file(const std::string& a, const std::string& b) {
  return fs::exists(a) && fs::exists(b) && read_text(a) == read_text(b);
}

void check_same_outputs(const std::string& a, const std::string& b, const std::vector<std::string>& suffixes) {
  for (const auto& s : suffixes) {
    CAPTURE(s);
    CHECK(same_file(a + s, b + s));
  }
}

}  // namespace

TEST_CASE("preprocess: good examples equal tokenize alone, bad lines are reported and skipped") {
  ScratchDir dir("preprocess-mixed");
  write_inputs(dir);
  write_text(dir.path("manifest.jsonl"),
             "[{\"text\": \"A red square.\"}, {\"image\": \"rgb.png\"}, {\"boxes\": [[1, 2, 3, 4]], \"image_size\": [8, 8]}]\n"
             "{\"id\": \"a\", \"segments\": [{\"audio\": \"speech16k.wav\"}, {\"text\": \"hello\"}], \"source\": \"ours\"}\n"
             "not json\n"
             "\n"
             "{\"id\": 7, \"segments\": [{\"image\": \"missing.png\"}]}\n"
             "[{\"boxes\": [[1, 2, 30, 4]], \"image_size\": [8, 8]}]\n"
             "[{\"text\": \"\"}]\n"
             "[{\"imgae\": \"rgb.png\"}]\n"
             "[{\"image\": \"photo.jpg\"}, {\"keypoints\": [[1, 2], [3, 4]], \"image_size\": [8, 8]}, {\"audio\": \"speech24k.wav\"}]\n"
             "[{\"audio\": \"corrupt.wav\"}]\n"
             "[]\n"
             "{\"inputs\": [{\"text\": \"q\"}], \"targets\": [{\"text\": \"a\"}]}\n");
  const auto r = run_anytok("preprocess '" + dir.path("manifest.jsonl") + "' -o '" + dir.path("out/ds") + "'" + kModels);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("3 examples") != std::string::npos);
  CHECK(r.err.find("8 errors") != std::string::npos);

  const IdxFile f = read_dataset(dir.path("out/ds"));
  CHECK(f.dtype == 8);  // the tiny models' vocabulary fits uint16
  CHECK(f.documents == std::vector<int64_t>{0, 3, 5, 8});
  CHECK(f.modes == std::vector<int8_t>{0, 1, 3, 2, 0, 1, 4, 2});
  const std::vector<std::vector<int64_t>> expected{
      tokenize_alone("--text 'A red square.'"),
      tokenize_alone("'" + dir.path("rgb.png") + "'"),
      tokenize_alone("--boxes 1,2,3,4 --image-size 8,8"),
      tokenize_alone("'" + dir.path("speech16k.wav") + "'"),
      tokenize_alone("--text hello"),
      tokenize_alone("'" + dir.path("photo.jpg") + "'"),
      tokenize_alone("--keypoints '1,2;3,4' --image-size 8,8"),
      tokenize_alone("'" + dir.path("speech24k.wav") + "'"),
  };
  REQUIRE(f.sequences.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(f.sequences[i] == expected[i]);
  }

  const std::vector<json> errors = json_lines(read_text(dir.path("out/ds.errors.jsonl")));
  const std::vector<std::pair<int, std::string>> expected_errors{
      {3, "invalid JSON"}, {5, "missing.png"}, {6, "lies outside the 8x8 image"}, {7, "empty text"},
      {8, "unknown key \"imgae\""}, {10, "corrupt.wav"}, {11, "holds no segments"}, {12, "a seq2seq pair in a manifest of documents"}};
  REQUIRE(errors.size() == expected_errors.size());
  for (size_t i = 0; i < errors.size(); ++i) {
    CAPTURE(errors[i].dump());
    CHECK(errors[i]["line"] == expected_errors[i].first);
    CHECK(errors[i]["reason"].get<std::string>().find(expected_errors[i].second) != std::string::npos);
  }
  CHECK(errors[1]["id"] == 7);

  const json sidecar = json::parse(read_text(dir.path("out/ds.json")));
  CHECK(sidecar["counts"]["examples"] == 3);
  CHECK(sidecar["counts"]["errors"] == 8);
  CHECK(sidecar["counts"]["lines"] == 12);
  CHECK(sidecar["counts"]["sequences"]["audio"] == 2);
  CHECK(sidecar["modes"]["keypoints"] == 4);
  CHECK(sidecar["dtype"] == "uint16");
  CHECK(sidecar["models"]["image"]["sha256"].get<std::string>().size() == 64);
  CHECK(sidecar["layout"]["size"].get<int64_t>() < 65500);
  for (const char* leftover : {"out/ds.checkpoint", "out/ds.bin.partial", "out/ds.journal.partial"})
    CHECK_FALSE(fs::exists(dir.path(leftover)));

  // The same command again finds the run complete, and tidies what a kill between the sidecar and the end of
  // the run would have left; jsonl holds the tokenize records.
  write_text(dir.path("out/ds.checkpoint"), "{}\n");
  write_text(dir.path("out/ds.journal.partial"), "");
  const auto again = run_anytok("preprocess '" + dir.path("manifest.jsonl") + "' -o '" + dir.path("out/ds") + "'" + kModels);
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("already complete") != std::string::npos);
  for (const char* leftover : {"out/ds.checkpoint", "out/ds.journal.partial"}) CHECK_FALSE(fs::exists(dir.path(leftover)));
  const auto jsonl = run_anytok("preprocess '" + dir.path("manifest.jsonl") + "' --format jsonl -o '" + dir.path("out/js") + "'" + kModels);
  REQUIRE_MESSAGE(jsonl.exit_code == 0, jsonl.err);
  const std::vector<json> records = json_lines(read_text(dir.path("out/js.jsonl")));
  REQUIRE(records.size() == 3);
  CHECK(records[1]["id"] == "a");
  CHECK(records[1]["line"] == 2);
  CHECK(records[0]["segments"][1]["modality"] == "image");
  CHECK(records[0]["segments"][1]["tokens"].get<std::vector<int64_t>>() == expected[1]);
  CHECK(records[2]["segments"][2]["tokens"].get<std::vector<int64_t>>() == expected[7]);
  CHECK(same_file(dir.path("out/ds.errors.jsonl"), dir.path("out/js.errors.jsonl")));
}

TEST_CASE("preprocess: --max-errors, unwritable outputs and usage errors fail with one line") {
  ScratchDir dir("preprocess-errors");
  write_text(dir.path("manifest.jsonl"), "[{\"text\": \"fine\"}]\nbad\nworse\n[{\"text\": \"also fine\"}]\n");
  const std::string manifest = " '" + dir.path("manifest.jsonl") + "'";
  auto r = run_anytok("preprocess" + manifest + " --max-errors 1 -o '" + dir.path("ds") + "'");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("more than 1 bad examples (the last on line 3") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path("ds.json")));
  CHECK_FALSE(fs::exists(dir.path("ds.bin")));
  // The failed run left a checkpoint: other settings refuse it, the same ones resume it, --overwrite starts over.
  r = run_anytok("preprocess" + manifest + " --bins 500 --max-errors 2 -o '" + dir.path("ds") + "'");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("ds.checkpoint: an unfinished run made with other settings (its \"layout\" differs)") != std::string::npos);
  r = run_anytok("preprocess" + manifest + " --max-errors 2 -o '" + dir.path("ds") + "'");
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("resuming") != std::string::npos);
  CHECK(json::parse(read_text(dir.path("ds.json")))["counts"]["errors"] == 2);
  r = run_anytok("preprocess" + manifest + " --bins 500 --overwrite -o '" + dir.path("ds") + "'");
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("resuming") == std::string::npos);
  CHECK(json::parse(read_text(dir.path("ds.json")))["counts"]["examples"] == 2);

  write_text(dir.path("file"), "");
  r = run_anytok("preprocess" + manifest + " -o '" + dir.path("file/ds") + "'");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot create the output folder") != std::string::npos);
  r = run_anytok("preprocess" + manifest);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("-o PREFIX") != std::string::npos);
  r = run_anytok("preprocess '" + dir.path("none.jsonl") + "' -o '" + dir.path("x") + "'");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("none.jsonl: cannot open") != std::string::npos);
  r = run_anytok("preprocess" + manifest + " -o '" + dir.path("x") + "' --rank 3 --world-size 3");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("rank 3 is outside 0..2") != std::string::npos);
  r = run_anytok("merge '" + dir.path("x") + "' --world-size 2");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("rank(s) 0, 1 of 2 are not complete") != std::string::npos);
  for (const std::string& out : {r.err})
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}

namespace {

// A manifest long enough to be killed in the middle: text, images and some bad lines.
void write_long_manifest(const ScratchDir& dir, int lines, bool pairs) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    std::string segments;
    switch (i % 5) {
      case 0: segments = "[{\"image\": \"rgb.png\"}, {\"text\": \"picture " + std::to_string(i) + "\"}]"; break;
      case 1: segments = "[{\"text\": \"line number " + std::to_string(i) + "\"}]"; break;
      case 2: segments = "[{\"image\": \"photo.jpg\"}, {\"boxes\": [[0, 0, 4, 4]], \"image_size\": [8, 8]}]"; break;
      case 3: segments = i % 15 == 3 ? "[{\"image\": \"nothing.png\"}]" : "[{\"text\": \"another " + std::to_string(i) + "\"}]"; break;
      case 4: segments = i % 20 == 4 ? "[{\"audio\": \"speech16k.wav\"}]" : "[{\"text\": \"x\"}]"; break;
    }
    if (pairs)
      text += "{\"id\": " + std::to_string(i) + ", \"inputs\": " + segments + ", \"targets\": [{\"text\": \"t" + std::to_string(i) + "\"}]}\n";
    else
      text += "{\"id\": " + std::to_string(i) + ", \"segments\": " + segments + "}\n";
  }
  write_text(dir.path("manifest.jsonl"), text);
}

// Starts `anytok ARGS` without waiting; its output goes to `log`.
pid_t spawn_anytok(const std::string& args, const std::string& log) {
  const std::string command = std::string("exec env ANYTOK_MODELS='") + ANYTOK_MODELS_DIR + "' '" + ANYTOK_BINARY + "' " +
                              args + " >>'" + log + "' 2>&1";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("preprocess: kill -9 at random moments, then the same command, equals an uninterrupted run") {
  ScratchDir dir("preprocess-kill");
  write_inputs(dir);
  write_long_manifest(dir, 200, false);
  const std::string args = "preprocess '" + dir.path("manifest.jsonl") + "' --threads 1 --batch 1 --checkpoint-interval 0" + kModels;

  const auto start = std::chrono::steady_clock::now();
  const auto whole = run_anytok(args + " -o '" + dir.path("whole/ds") + "'");
  REQUIRE_MESSAGE(whole.exit_code == 0, whole.err);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::mt19937 rng(5);
  int kills = 0, resumed_kills = 0, attempts = 0;
  for (; attempts < 60; ++attempts) {
    const bool had_checkpoint = fs::exists(dir.path("killed/ds.checkpoint"));
    const pid_t pid = spawn_anytok(args + " -o '" + dir.path("killed/ds") + "'", dir.path("log"));
    REQUIRE(pid > 0);
    std::uniform_real_distribution<double> when(0.05, 0.6);
    std::this_thread::sleep_for(std::chrono::duration<double>(when(rng) * seconds));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
      REQUIRE_MESSAGE(WEXITSTATUS(status) == 0, read_text(dir.path("log")));
      break;
    }
    ++kills;
    if (had_checkpoint) ++resumed_kills;
  }
  INFO(read_text(dir.path("log")));
  CHECK(kills >= 2);
  CHECK(resumed_kills >= 1);
  CHECK(read_text(dir.path("log")).find("resuming") != std::string::npos);
  if (!fs::exists(dir.path("killed/ds.json"))) REQUIRE(run_anytok(args + " -o '" + dir.path("killed/ds") + "'").exit_code == 0);
  check_same_outputs(dir.path("whole/ds"), dir.path("killed/ds"), {".bin", ".idx", ".errors.jsonl", ".json"});
  CHECK(fs::directory_iterator(dir.path("killed")) != fs::directory_iterator());
  for (const auto& entry : fs::directory_iterator(dir.path("killed"))) {
    CAPTURE(entry.path().string());
    CHECK(entry.path().string().find("partial") == std::string::npos);
    CHECK(entry.path().extension() != ".checkpoint");
  }
}

TEST_CASE("preprocess: three ranks then merge equal one process, for documents, pairs and jsonl") {
  ScratchDir dir("preprocess-ranks");
  write_inputs(dir);
  for (const bool pairs : {false, true}) {
    for (const std::string format : {"megatron", "jsonl"}) {
      if (pairs && format == "jsonl") continue;
      CAPTURE(pairs);
      CAPTURE(format);
      write_long_manifest(dir, 37, pairs);
      const std::string args = "preprocess '" + dir.path("manifest.jsonl") + "' --format " + format + kModels;
      const std::string single = dir.path("single/ds"), sharded = dir.path("sharded/ds");
      fs::remove_all(dir.path("single"));
      fs::remove_all(dir.path("sharded"));
      REQUIRE(run_anytok(args + " --threads 2 -o '" + single + "'").exit_code == 0);
      // Ranks 0 and 1 by flags, rank 2 from Slurm's environment.
      for (int rank = 0; rank < 2; ++rank)
        REQUIRE(run_anytok(args + " --threads 1 --rank " + std::to_string(rank) + " --world-size 3 -o '" + sharded + "'").exit_code == 0);
      ::setenv("SLURM_PROCID", "2", 1);
      ::setenv("SLURM_NTASKS", "3", 1);
      const auto r2 = run_anytok(args + " -o '" + sharded + "'");
      ::unsetenv("SLURM_PROCID");
      ::unsetenv("SLURM_NTASKS");
      REQUIRE_MESSAGE(r2.exit_code == 0, r2.err);
      CHECK(fs::exists(sharded + ".rank-2-of-3.json"));
      // A finished rank is skipped when run again.
      const auto again = run_anytok(args + " --rank 1 --world-size 3 -o '" + sharded + "'");
      CHECK(again.err.find("rank 1 of 3 is already complete") != std::string::npos);

      const auto merged = run_anytok("merge '" + sharded + "' --world-size 3");
      REQUIRE_MESSAGE(merged.exit_code == 0, merged.err);
      if (format == "jsonl") {
        check_same_outputs(single, sharded, {".jsonl", ".errors.jsonl", ".json"});
      } else if (pairs) {
        check_same_outputs(single + "_inputs", sharded + "_inputs", {".bin", ".idx"});
        check_same_outputs(single + "_targets", sharded + "_targets", {".bin", ".idx"});
        check_same_outputs(single, sharded, {".errors.jsonl", ".json"});
        const IdxFile inputs = read_dataset(single + "_inputs"), targets = read_dataset(single + "_targets");
        CHECK(inputs.documents.size() == targets.documents.size());
        CHECK(inputs.documents.size() > 30);
      } else {
        check_same_outputs(single, sharded, {".bin", ".idx", ".errors.jsonl", ".json"});
      }
    }
  }
}

TEST_CASE("preprocess: task tokens are segments of their own, and an unknown one is a bad example") {
  ScratchDir dir("preprocess-tokens");
  fs::copy_file(image("rgb.png"), dir.path("rgb.png"));
  write_text(dir.path("pairs.jsonl"),
             "{\"inputs\": [{\"token\": \"<task:caption>\"}, {\"image\": \"rgb.png\"}], \"targets\": [{\"text\": \"a cat\"}]}\n"
             "{\"inputs\": [{\"token\": \"<task:dance>\"}, {\"image\": \"rgb.png\"}], \"targets\": [{\"text\": \"a cat\"}]}\n"
             "{\"inputs\": [{\"token\": 5}], \"targets\": [{\"text\": \"a cat\"}]}\n");
  const auto r = run_anytok("preprocess '" + dir.path("pairs.jsonl") + "' -o '" + dir.path("ds") + "'" + kModels);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const IdxFile inputs = read_dataset(dir.path("ds_inputs"));
  REQUIRE(inputs.sequences.size() == 2);
  const auto layout = json::parse(run_anytok("vocab --json" + kModels).out);
  CHECK(inputs.sequences[0] == std::vector<int64_t>{layout["tokens"]["<task:caption>"].get<int64_t>()});
  CHECK(inputs.modes[0] == 5);
  CHECK(inputs.modes[1] == 1);
  CHECK(inputs.sequences[1] == tokenize_alone("'" + dir.path("rgb.png") + "'"));
  const std::vector<json> errors = json_lines(read_text(dir.path("ds.errors.jsonl")));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0]["reason"] == "the vocabulary layout has no token <task:dance>");
  CHECK(errors[1]["reason"] == "\"token\" must be a token's name, got 5");
  CHECK(json::parse(read_text(dir.path("ds.json")))["modes"]["token"] == 5);
}
