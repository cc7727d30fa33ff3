// anytok world: the demo world's scenes on disk.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "tokenizers/image_io.h"
#include "world/scene.h"

using namespace anytok;
using namespace anytok::test;
using json = nlohmann::json;

TEST_CASE("anytok world writes each scene's picture, caption, boxes and speech, the same on every run") {
  ScratchDir dir("world-cli");
  const auto r = run_anytok("world --seed 7 --first 10 --count 5 --speech -o '" + dir.path("a") + "'");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::istringstream lines(read_text(dir.path("a/scenes.jsonl")));
  std::string line;
  int64_t index = 10;
  for (; std::getline(lines, line); ++index) {
    const json scene = json::parse(line);
    const world::Scene expected = world::make_scene(7, index);
    CHECK(scene["index"] == index);
    CHECK(scene["caption"] == world::caption(expected));
    CHECK(scene["image_size"] == json::array({64, 64}));
    REQUIRE(scene["objects"].size() == expected.objects.size());
    for (size_t i = 0; i < expected.objects.size(); ++i) {
      CHECK(scene["objects"][i]["label"] == expected.objects[i].label());
      CHECK(scene["objects"][i]["box"][2].get<double>() == doctest::Approx(expected.objects[i].box[2]).epsilon(0.001));
    }
    CHECK(read_image(dir.path("a/" + scene["image"].get<std::string>())).pixels == world::render(expected).pixels);
    CHECK(std::filesystem::file_size(dir.path("a/" + scene["speech"].get<std::string>())) > 10000);
  }
  CHECK(index == 15);
  // Five tasks a scene, each a pair that `anytok preprocess` reads.
  std::istringstream examples(read_text(dir.path("a/tasks.jsonl")));
  std::vector<std::string> tasks;
  for (std::string example; std::getline(examples, example);) tasks.push_back(json::parse(example)["id"]);
  REQUIRE(tasks.size() == 25);
  CHECK(tasks[0] == "7-000010/caption");
  CHECK(tasks[24] == "7-000014/transcribe");
  const auto pre = run_anytok("preprocess '" + dir.path("a/tasks.jsonl") + "' -o '" + dir.path("ds") +
                              "' --image-model '" ANYTOK_TEST_DATA "/golden/vqgan-taming-tiny' --audio-model '"
                              ANYTOK_TEST_DATA "/golden/encodec-24k-tiny' --bandwidth 9");
  REQUIRE_MESSAGE(pre.exit_code == 0, pre.err);
  CHECK(json::parse(read_text(dir.path("ds.json")))["counts"]["examples"] == 25);

  const auto again = run_anytok("world --seed 7 --first 10 --count 5 --speech --threads 1 -o '" + dir.path("b") + "'");
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(read_text(dir.path("b/scenes.jsonl")) == read_text(dir.path("a/scenes.jsonl")));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path("a")))
    if (entry.is_regular_file()) {
      const std::string relative = std::filesystem::relative(entry.path(), dir.path("a")).string();
      CAPTURE(relative);
      CHECK(read_text(dir.path("b/" + relative)) == read_text(entry.path().string()));
    }
}

TEST_CASE("anytok world: bad options are named") {
  CHECK(run_anytok("world --count 2").err.find("-o DIR is required") != std::string::npos);
  CHECK(run_anytok("world --count 0 -o x").err.find("--count must be at least 1") != std::string::npos);
  CHECK(run_anytok("world --size 8 -o x").err.find("--size must be between 24 and 4096") != std::string::npos);
  CHECK(run_anytok("world --help").out.find("usage: anytok world") != std::string::npos);
}
