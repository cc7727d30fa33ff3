#include "world/scene.h"

#include <doctest/doctest.h>

#include <set>

#include "test_util.h"
#include "tokenizers/audio_io.h"
#include "world/speech.h"
#include "world/metrics.h"
#include "world/tasks.h"

using namespace anytok;
using namespace anytok::world;
using namespace anytok::test;

namespace {

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

}  // namespace

TEST_CASE("a scene is a function of its seed and index alone") {
  // Pinned: the training recipes and `anytok demo` must see the same world on every machine.
  const Scene first = make_scene(1, 0);
  CHECK(caption(first) == "a purple circle on the right");
  CHECK(caption(make_scene(1, 1)) ==
        "a purple square at the top, a yellow square at the top right and a red circle at the bottom right");
  CHECK(fnv1a(render(first).pixels) == 0x0FFE1F7E99B0DECEULL);
  for (int64_t index : {0, 7, 123456}) {
    CHECK(make_scene(5, index).objects == make_scene(5, index).objects);
    CHECK(render(make_scene(5, index)).pixels == render(make_scene(5, index)).pixels);
  }
  std::set<std::string> captions;
  for (int64_t index = 0; index < 200; ++index) captions.insert(caption(make_scene(3, index)));
  CHECK(captions.size() > 150);
  CHECK(caption(make_scene(1, 5)) != caption(make_scene(2, 5)));
}

TEST_CASE("every shape lies inside its own cell, in reading order, and the analyser finds its colour there") {
  for (int64_t size : {64, 96}) {
    for (int64_t index = 0; index < 300; ++index) {
      const Scene scene = make_scene(11, index, size);
      CAPTURE(index);
      REQUIRE(!scene.objects.empty());
      REQUIRE(scene.objects.size() <= static_cast<size_t>(kMaxObjects));
      const double cell = static_cast<double>(size) / 3;
      const CellColours colours = analyse(render(scene));
      std::set<int> used;
      for (size_t i = 0; i < scene.objects.size(); ++i) {
        const Object& o = scene.objects[i];
        if (i > 0) CHECK(o.cell > scene.objects[i - 1].cell);
        used.insert(o.cell);
        CHECK(o.box[0] >= cell * (o.cell % 3));
        CHECK(o.box[2] <= cell * (o.cell % 3 + 1));
        CHECK(o.box[1] >= cell * (o.cell / 3));
        CHECK(o.box[3] <= cell * (o.cell / 3 + 1));
        CHECK(shows(colours, o.colour, o.cell));
      }
      // Empty cells show no palette colour: the backgrounds stay clear of it.
      for (int c = 0; c < 9; ++c)
        if (!used.count(c))
          for (size_t k = 0; k < kColours.size(); ++k) CHECK(colours.share[c][k] == 0.0);
    }
  }
}

TEST_CASE("captions parse back into what they say") {
  for (int64_t index = 0; index < 500; ++index) {
    const Scene scene = make_scene(4, index);
    const auto parsed = parse_caption(caption(scene));
    REQUIRE(parsed);
    CHECK(*parsed == mentions(scene));
  }
  CHECK(parse_caption("a red circle at the top left.") == std::vector<Mention>{{0, 0, 0}});
  CHECK(caption({{5, 1, 1}, {0, 2, 4}}) == "an orange square at the top and a red triangle in the center");
  CHECK(parse_caption("an orange square at the top") == std::vector<Mention>{{5, 1, 1}});
  CHECK(!parse_caption("a orange square at the top"));
  CHECK(!parse_caption("an red square at the top"));
  CHECK(!parse_caption(""));
  CHECK(!parse_caption("a red circle"));
  CHECK(!parse_caption("a pink circle in the center"));
  CHECK(!parse_caption("a red circle in the middle"));
  CHECK(!parse_caption("a red circle in the center and"));
}

TEST_CASE("intersection over union") {
  CHECK(iou({0, 0, 10, 10}, {0, 0, 10, 10}) == doctest::Approx(1.0));
  CHECK(iou({0, 0, 10, 10}, {5, 0, 15, 10}) == doctest::Approx(50.0 / 150.0));
  CHECK(iou({0, 0, 10, 10}, {10, 0, 20, 10}) == 0.0);
  CHECK(iou({0, 0, 0, 10}, {0, 0, 10, 10}) == 0.0);
}

TEST_CASE("captions are spoken by espeak-ng, the same way every time") {
  ScratchDir dir("world-speech");
  const std::string text = "a red circle at the top left";
  speak_to_file(text, {}, dir.path("a.wav"));
  speak_to_file("a red circle at the top left and a blue square in the center", {}, dir.path("long.wav"));
  speak_to_file(text, {}, dir.path("b.wav"));
  const Tensor a = read_audio(dir.path("a.wav"), 0, 0);
  CHECK(AudioReader(dir.path("a.wav"), 0, 0).file_rate() == 22050);
  CHECK(a.dim(0) == 1);
  CHECK(a.dim(1) > 22050 / 2);
  CHECK(read_text(dir.path("b.wav")) == read_text(dir.path("a.wav")));
  CHECK(read_audio(dir.path("long.wav"), 0, 0).dim(1) > a.dim(1));
  CHECK_THROWS_WITH(speak_to_file("hello", {"nosuchvoice", 175}, dir.path("c.wav")),
                    doctest::Contains("espeak-ng (voice \"nosuchvoice\") failed: The specified espeak-ng voice does not exist"));
  CHECK_THROWS_WITH(speak_to_file("hello", {"en-us", 20}, dir.path("c.wav")), doctest::Contains("80 to 450 words a minute"));
  CHECK_THROWS_WITH(speak_to_file("hello", {}, dir.path("missing/c.wav")), doctest::Contains("espeak-ng wrote no speech"));
}

TEST_CASE("each task's example holds the prompt, inputs and targets the task table gives") {
  const Scene scene = make_scene(1, 1);  // three objects
  const nlohmann::json detect = task_example(Task::Detect, scene, "i.png", "s.wav");
  CHECK(detect["id"] == "1-000001/detect");
  CHECK(detect["inputs"] == nlohmann::json::parse(R"([{"token": "<task:detect>"}, {"image": "i.png"}])"));
  REQUIRE(detect["targets"].size() == 6);
  CHECK(detect["targets"][1]["text"] == "purple square");
  CHECK(detect["targets"][0]["boxes"][0][0].get<double>() == scene.objects[0].box[0]);
  CHECK(detect["targets"][4]["image_size"] == nlohmann::json::array({64, 64}));
  const nlohmann::json generate = task_example(Task::GenerateImage, scene, "i.png", "s.wav");
  CHECK(generate["inputs"][1]["text"] == caption(scene));
  CHECK(generate["targets"] == nlohmann::json::parse(R"([{"image": "i.png"}])"));
  CHECK(task_example(Task::Transcribe, scene, "i.png", "s.wav")["inputs"][1]["audio"] == "s.wav");
  CHECK(task_example(Task::Speak, scene, "i.png", "s.wav")["targets"][0]["audio"] == "s.wav");
  CHECK(task_token(Task::GenerateImage) == "<task:generate-image>");
}

TEST_CASE("task metrics: captions by attribute, detections by matched IoU, pictures by the analyser") {
  const Scene scene = make_scene(1, 1);  // purple square top, yellow square top right, red circle bottom right
  const CaptionScore exact = score_caption(scene, caption(scene));
  CHECK(exact.exact);
  CHECK(exact.right == 9);
  CHECK(exact.total == 9);
  const CaptionScore near = score_caption(
      scene, "a purple square at the top, a yellow circle at the top right and a red circle on the right");
  CHECK(!near.exact);
  CHECK(near.right == 7);
  CHECK(score_caption(scene, "a purple square at the top").right == 3);
  CHECK(score_caption(scene, "purple things").right == 0);

  std::vector<Detection> detections;
  for (const Object& o : scene.objects) detections.push_back({o.label(), o.box});
  std::swap(detections[0], detections[2]);
  CHECK(detection_ious(scene, detections) == std::vector<double>{1.0, 1.0, 1.0});
  detections[0].label = "blue circle";  // was the red circle
  detections[1].box[2] += (detections[1].box[2] - detections[1].box[0]);  // twice as wide: IoU 1/2
  const std::vector<double> ious = detection_ious(scene, detections);
  CHECK(ious[0] == doctest::Approx(1.0));
  CHECK(ious[1] == doctest::Approx(0.5));
  CHECK(ious[2] == 0.0);

  CHECK(score_generated_image(scene, render(scene)).passes());
  const GenerationScore other = score_generated_image(scene, render(make_scene(1, 0)));
  CHECK(other.total == 3);
  CHECK(!other.passes());
}
