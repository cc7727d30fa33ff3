// anytok world: scenes of the demo world, as pictures, captions, boxes and (with --speech) spoken captions.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "apps/command.h"
#include "apps/durable_file.h"
#include "apps/progress.h"
#include "nn/error.h"
#include "nn/thread_pool.h"
#include "world/scene.h"
#include "world/speech.h"
#include "world/tasks.h"

namespace anytok {
namespace {

using json = nlohmann::json;

const char* kUsage =
    "usage: anytok world [--seed S] [--count N] [--first I] [--size PX] [--speech [--voice NAME] [--wpm N]] -o DIR\n"
    "\n"
    "Writes scenes I .. I+N-1 of the demo world of seed S: small pictures of one to three coloured shapes\n"
    "(circle, square, triangle in red, green, blue, yellow, purple or orange), each in its own cell of a 3×3\n"
    "grid, on a pale background. The same seed and index give the same scene everywhere. DIR receives:\n"
    "  images/S-IIIIII.png    the picture, PX×PX RGB\n"
    "  speech/S-IIIIII.wav    the caption spoken by espeak-ng (with --speech), 16-bit mono, 22050 Hz\n"
    "  scenes.jsonl           one line a scene: {\"seed\", \"index\", \"image\", \"image_size\", \"caption\",\n"
    "                         \"objects\": [{\"label\", \"colour\", \"shape\", \"position\", \"box\": [x1,y1,x2,y2]}],\n"
    "                         \"speech\"}; paths relative to DIR, boxes in pixels\n"
    "  tasks.jsonl            each scene's examples of the five tasks (caption, detect, generate-image, and with\n"
    "                         --speech speak and transcribe), as an `anytok preprocess` manifest of pairs";

json scene_record(const world::Scene& scene, const std::string& image, const std::string& speech) {
  json objects = json::array();
  for (const world::Object& o : scene.objects) {
    objects.push_back({{"label", o.label()},
                       {"colour", world::kColours[o.colour].name},
                       {"shape", world::kShapes[o.shape]},
                       {"position", world::kCells[o.cell]},
                       {"box", o.box}});
  }
  json record{{"seed", scene.seed},
              {"index", scene.index},
              {"image", image},
              {"image_size", {scene.size, scene.size}},
              {"caption", world::caption(scene)},
              {"objects", objects}};
  if (!speech.empty()) record["speech"] = speech;
  return record;
}

int run(int argc, char** argv) {
  uint64_t seed = 1;
  int64_t count = 16, first = 0, size = world::kDefaultSceneSize;
  int threads = 0;
  bool with_speech = false;
  world::Voice voice;
  std::string output;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("seed", po::value(&seed)->value_name("S")->default_value(1), "the world's seed")
      ("count", po::value(&count)->value_name("N")->default_value(16), "scenes to write")
      ("first", po::value(&first)->value_name("I")->default_value(0), "index of the first scene")
      ("size", po::value(&size)->value_name("PX")->default_value(world::kDefaultSceneSize),
       "picture side in pixels (at least 24)")
      ("speech", po::bool_switch(&with_speech), "also speak each caption with espeak-ng")
      ("voice", po::value(&voice.name)->value_name("NAME")->default_value(voice.name), "espeak-ng voice")
      ("wpm", po::value(&voice.words_per_minute)->value_name("N")->default_value(voice.words_per_minute),
       "speaking rate in words a minute")
      ("threads", po::value(&threads)->value_name("N")->default_value(0), "worker threads (0: one per core)")
      ("output,o", po::value(&output)->value_name("DIR"), "the folder to write");
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, {}, vm)) return 0;
  if (output.empty()) throw Error("-o DIR is required (see anytok world --help)");
  if (count < 1) throw Error("--count must be at least 1");
  if (first < 0 || first > (int64_t{1} << 40)) throw Error("--first must be between 0 and 2^40");
  if (size < 24 || size > 4096) throw Error("--size must be between 24 and 4096 pixels");
  ThreadPool::set_threads(threads);

  const std::filesystem::path dir(output);
  std::filesystem::create_directories(dir / "images");
  if (with_speech) std::filesystem::create_directories(dir / "speech");
  std::vector<std::string> lines(static_cast<size_t>(count)), tasks(static_cast<size_t>(count));
  ProgressLine progress("world", "scenes", std::chrono::seconds(30));
  constexpr int64_t kChunk = 256;
  for (int64_t begin = 0; begin < count; begin += kChunk) {
    const int64_t end = std::min(count, begin + kChunk);
    ThreadPool::global().parallel_for(end - begin, [&](int64_t a, int64_t b) {
      for (int64_t i = begin + a; i < begin + b; ++i) {
        const world::Scene scene = world::make_scene(seed, first + i, size);
        const std::string name = world::scene_name(scene);
        const std::string image = "images/" + name + ".png";
        write_png((dir / image).string(), world::render(scene));
        std::string speech;
        if (with_speech) {
          speech = "speech/" + name + ".wav";
          world::speak_to_file(world::caption(scene), voice, (dir / speech).string());
        }
        lines[static_cast<size_t>(i)] = scene_record(scene, image, speech).dump();
        for (world::Task task : world::kTasks)
          if (with_speech || !world::task_uses_speech(task))
            tasks[static_cast<size_t>(i)] += world::task_example(task, scene, image, speech).dump() + "\n";
      }
    });
    progress.update(static_cast<double>(end), static_cast<double>(count));
  }
  std::string text, examples;
  for (const std::string& line : lines) text += line + "\n";
  for (const std::string& example : tasks) examples += example;
  write_file_atomically((dir / "scenes.jsonl").string(), text);
  write_file_atomically((dir / "tasks.jsonl").string(), examples);
  std::cerr << "wrote " << count << " scenes to " << output << "\n";
  return 0;
}

}  // namespace

Command world_command() { return {"world", "write scenes of the demo world: pictures, captions, boxes, speech", run}; }

}  // namespace anytok
