// anytok demo: the gallery, its files and its metrics, with a tiny random model (its outputs are noise; only
// their structure is checked here).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "test_util.h"
#include "tokenizers/image_io.h"
#include "world/scene.h"

using namespace anytok;
using namespace anytok::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kData = ANYTOK_TEST_DATA;
const std::string kModels = " --model '" + kData + "/demo/seq2seq' --image-model '" + kData +
                            "/golden/vqgan-taming-tiny' --audio-model '" + kData + "/golden/encodec-24k-tiny'";
const std::set<std::string> kTaskNames{"caption", "detect", "generate-image", "speak", "transcribe"};

}  // namespace

TEST_CASE("anytok demo writes a gallery whose every file exists, and metrics for all five tasks") {
  ScratchDir dir("demo-cli");
  const std::string out = dir.path("gallery");
  const auto r = run_anytok("demo --count 1 --seed 1000 -o '" + out + "'" + kModels);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string html = read_text(out + "/index.html");
  CHECK(html.find("<!DOCTYPE html>") == 0);
  CHECK(html.find(world::caption(world::make_scene(1000, 0))) != std::string::npos);
  std::set<std::string> referenced;
  for (size_t at = html.find("src=\""); at != std::string::npos; at = html.find("src=\"", at)) {
    at += 5;
    referenced.insert(html.substr(at, html.find('"', at) - at));
  }
  // The input picture (thrice: input, detections, and nothing else), the generated picture, both sounds.
  CHECK(referenced == std::set<std::string>{"scenes/1000-000000-input.png", "scenes/1000-000000-generated.png",
                                            "scenes/1000-000000-input.wav", "scenes/1000-000000-speech.wav"});
  for (const std::string& file : referenced) CHECK_MESSAGE(fs::is_regular_file(out + "/" + file), file);
  CHECK(read_image(out + "/scenes/1000-000000-input.png").pixels == world::render(world::make_scene(1000, 0)).pixels);

  const json metrics = json::parse(read_text(out + "/metrics.json"));
  std::set<std::string> tasks;
  for (const auto& [task, values] : metrics["tasks"].items()) tasks.insert(task);
  CHECK(tasks == kTaskNames);
  CHECK(metrics["tasks"]["caption"].contains("attribute_accuracy"));
  CHECK(metrics["tasks"]["speak"]["log_mel_distance"].is_number());
  CHECK(metrics["floors"].size() == 3);
  CHECK(metrics["scenes"] == 1);

  // --eval prints the same metrics and writes no gallery.
  const auto eval = run_anytok("demo --count 1 --seed 1000 --eval --json" + kModels);
  REQUIRE_MESSAGE(eval.exit_code == 0, eval.err);
  CHECK(json::parse(eval.out)["tasks"] == metrics["tasks"]);
  const auto table = run_anytok("demo --count 1 --seed 1000 --eval --tasks caption,detect" + kModels);
  REQUIRE_MESSAGE(table.exit_code == 0, table.err);
  CHECK(table.out.find("caption         attribute_accuracy") != std::string::npos);
  CHECK(table.out.find("floor 0.90 NOT met") != std::string::npos);
  CHECK(table.out.find("speak") == std::string::npos);

  // The page renders in a browser, pictures included: the input's shapes show in the screenshot.
  const std::string shot = dir.path("gallery.png");
  const auto browser = run_command("chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars "
                                   "--window-size=1400,900 --screenshot='" + shot + "' 'file://" + out +
                                   "/index.html' 2>/dev/null");
  REQUIRE_MESSAGE(browser.exit_code == 0, browser.err);
  const RgbImage screenshot = read_image(shot);
  CHECK(screenshot.width == 1400);
  const world::Scene scene = world::make_scene(1000, 0);
  const world::Rgb colour = world::kColours[scene.objects.front().colour].rgb;
  int64_t matching = 0;
  for (size_t p = 0; p < screenshot.pixels.size(); p += 3)
    matching += std::abs(screenshot.pixels[p] - colour.r) + std::abs(screenshot.pixels[p + 1] - colour.g) +
                    std::abs(screenshot.pixels[p + 2] - colour.b) < 12;
  CHECK(matching > 200);  // the shape, three times over at 3×
}

TEST_CASE("anytok demo: usage errors are named") {
  CHECK(run_anytok("demo --count 1" + kModels).err.find("give either -o DIR (a gallery) or --eval") != std::string::npos);
  CHECK(run_anytok("demo --eval --tasks dance" + kModels).err.find("unknown task \"dance\"") != std::string::npos);
  CHECK(run_anytok("demo --eval --count 0" + kModels).err.find("--count must be between 1 and 100000") != std::string::npos);
  CHECK(run_anytok("demo -o x --json" + kModels).err.find("--json goes with --eval") != std::string::npos);
  CHECK(run_anytok("demo --eval --bandwidth 18" + kModels).err.find("--bandwidth 18 gives 4 codebooks, but the model's "
                                                                    "layout carries 2 (9 kbps)") != std::string::npos);
}
