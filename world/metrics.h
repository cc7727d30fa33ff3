// How well a model's outputs match a scene, for the five tasks of the demo world. Definitions:
//   caption      attribute accuracy: of the scene's objects' attributes (colour, shape, position, three each),
//                the share the caption states right, object by object in order (a caption outside the world's
//                grammar gets none); exact: the caption is the scene's caption.
//   detect       each object is matched to the detection with its label and the highest IoU not yet taken;
//                an object without one scores 0. The mean over objects is the scene's IoU.
//   generate     an object is shown when its colour covers at least 8 % of its cell in the picture (analyse());
//                the picture passes when every object of the caption is shown.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "world/scene.h"

namespace anytok::world {

struct CaptionScore {
  int right = 0, total = 0;  // attributes
  bool exact = false;
};
CaptionScore score_caption(const Scene& scene, std::string_view caption_text);

struct Detection {
  std::string label;           // "red circle"
  std::array<double, 4> box{};  // x1 y1 x2 y2, pixels
};
// IoU of each of the scene's objects with its matched detection, in the objects' order.
std::vector<double> detection_ious(const Scene& scene, const std::vector<Detection>& detections);

struct GenerationScore {
  int shown = 0, total = 0;  // objects
  bool passes() const { return shown == total; }
};
GenerationScore score_generated_image(const Scene& scene, const RgbImage& picture);

}  // namespace anytok::world
