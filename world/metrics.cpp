#include "world/metrics.h"

namespace anytok::world {

CaptionScore score_caption(const Scene& scene, std::string_view caption_text) {
  CaptionScore score;
  score.total = 3 * static_cast<int>(scene.objects.size());
  const std::optional<std::vector<Mention>> said = parse_caption(caption_text);
  if (!said) return score;
  const std::vector<Mention> truth = mentions(scene);
  for (size_t i = 0; i < truth.size() && i < said->size(); ++i)
    score.right += ((*said)[i].colour == truth[i].colour) + ((*said)[i].shape == truth[i].shape) +
                   ((*said)[i].cell == truth[i].cell);
  score.exact = *said == truth;
  return score;
}

std::vector<double> detection_ious(const Scene& scene, const std::vector<Detection>& detections) {
  std::vector<bool> taken(detections.size(), false);
  std::vector<double> ious;
  for (const Object& o : scene.objects) {
    double best = 0;
    size_t best_at = detections.size();
    for (size_t d = 0; d < detections.size(); ++d) {
      if (taken[d] || detections[d].label != o.label()) continue;
      const double v = iou(o.box, detections[d].box);
      if (v > best) best = v, best_at = d;
    }
    if (best_at < detections.size()) taken[best_at] = true;
    ious.push_back(best);
  }
  return ious;
}

GenerationScore score_generated_image(const Scene& scene, const RgbImage& picture) {
  const CellColours colours = analyse(picture);
  GenerationScore score;
  for (const Object& o : scene.objects) {
    ++score.total;
    score.shown += shows(colours, o.colour, o.cell);
  }
  return score;
}

}  // namespace anytok::world
