// What `anytok demo` found for each scene, its metrics, and the HTML gallery that shows them.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/tensor.h"
#include "sequence/sequence_format.h"
#include "tokenizers/image_io.h"
#include "world/metrics.h"

namespace anytok {

struct DemoScene {
  world::Scene scene;
  std::string name;       // files are scenes/NAME-input.png, -input.wav, -generated.png, -speech.wav
  RgbImage picture;       // the input
  std::string caption;    // generated
  bool caption_exact = false;
  std::vector<world::Detection> detections;
  std::vector<double> ious;  // per object
  RgbImage generated;        // from the caption; empty when the model wrote no image
  bool generated_passes = false;
  Segment speech_segment;    // generated from the caption
  Tensor speech;             // decoded, [channels, samples]; empty when none
  double log_mel = 0;
  std::string speech_transcript;  // the model's transcription of its own speech
  std::string transcript;         // of espeak-ng's speech
  bool transcript_exact = false;
  std::map<std::string, std::string> problems;  // task → why its output did not parse
};

// Each metric is a sum over a count: attributes right of attributes, IoUs of objects, and so on.
struct TaskMetrics {
  std::map<std::string, std::pair<double, int64_t>> sums;
  void add(const std::string& metric, double value, int64_t count);
  nlohmann::json to_json() const;  // {metric: sum / count, or null when the count is 0}
};

struct DemoFloor {
  std::string task, metric;
  double floor = 0;
};

struct DemoMetrics {
  uint64_t seed = 0;
  int64_t scenes = 0;
  std::string model;
  std::map<std::string, TaskMetrics> tasks;  // by task name
  std::vector<DemoFloor> floors;
  // {"seed", "scenes", "model", "tasks": {task: {metric: value}}, "floors": [{"task", "metric", "floor", "value",
  // "met"}]}; a floor whose task did not run is left out.
  nlohmann::json to_json() const;
  std::string table() const;  // the same as aligned text
};

// Writes DIR/index.html and DIR/metrics.json; the scenes' files are already under DIR/scenes/.
void write_gallery(const std::string& dir, const std::vector<DemoScene>& scenes, const DemoMetrics& metrics,
                   bool with_speech);

}  // namespace anytok
