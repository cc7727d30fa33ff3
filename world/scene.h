// The demo world: small pictures of coloured shapes on pale backgrounds, with their captions and boxes.
//
// A scene is a pure function of (seed, index): the same pair gives the same scene on every machine, since every
// random draw comes from a counter-based generator with integer arithmetic only. The picture is divided into a
// 3×3 grid of cells; a scene holds 1 to 3 shapes, each inside its own cell. Captions name the shapes in reading
// order of their cells, so that every scene has exactly one caption:
//   "a red circle at the top left and a blue square in the center"
// Boxes are in pixels, x1 y1 x2 y2, tight around the shape's geometry.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizers/image_io.h"

namespace anytok::world {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// The palette: saturated colours, far from every background, so an analyser can tell them apart by distance.
struct Colour {
  std::string_view name;
  Rgb rgb;
};
extern const std::array<Colour, 6> kColours;  // red green blue yellow purple orange
extern const std::array<std::string_view, 3> kShapes;  // circle square triangle
// Cells in reading order: "top left", "top", "top right", "left", "center", "right", "bottom left", ...
extern const std::array<std::string_view, 9> kCells;

constexpr int kMaxObjects = 3;
constexpr int64_t kDefaultSceneSize = 64;

struct Object {
  int colour = 0;  // index into kColours
  int shape = 0;   // index into kShapes
  int cell = 0;    // index into kCells
  double cx = 0, cy = 0, radius = 0;  // centre and half-extent in pixels
  std::array<double, 4> box{};       // x1 y1 x2 y2 in pixels

  std::string label() const;  // "red circle": the class name of a detection
  bool operator==(const Object&) const = default;
};

struct Scene {
  uint64_t seed = 0;
  int64_t index = 0;
  int64_t size = kDefaultSceneSize;  // square, pixels
  Rgb background_top, background_bottom;  // a vertical gradient between two pale colours
  std::vector<Object> objects;            // in reading order of their cells
};

// Scene `index` of the world of `seed`, `size` pixels square (at least 24). Boxes are rounded to 0.01 pixel.
Scene make_scene(uint64_t seed, int64_t index, int64_t size = kDefaultSceneSize);

// "S-IIIIII": the seed and the index, six digits at least; names the scene's files.
std::string scene_name(const Scene& scene);

// The picture, anti-aliased by rendering each shape's coverage at 4× and averaging it down.
RgbImage render(const Scene& scene);

// What a caption says: colour, shape and cell of each object, in its order.
struct Mention {
  int colour = 0, shape = 0, cell = 0;
  bool operator==(const Mention&) const = default;
};
std::string caption(const std::vector<Mention>& mentions);
std::string caption(const Scene& scene);
std::vector<Mention> mentions(const Scene& scene);
// The mentions of a caption in the world's grammar; nullopt when it is not one.
std::optional<std::vector<Mention>> parse_caption(std::string_view text);

// The analyser of generated pictures: for each cell, the share of its pixels that are close to each palette
// colour (nearer to it than to any other palette colour, and within a fixed distance). Backgrounds are pale and
// never count.
struct CellColours {
  std::array<std::array<double, 6>, 9> share{};  // [cell][colour]
};
CellColours analyse(const RgbImage& image);
// Whether `colour` covers at least `min_share` of `cell`.
bool shows(const CellColours& colours, int colour, int cell, double min_share = 0.08);

// Intersection over union of two x1 y1 x2 y2 boxes; 0 when either is empty.
double iou(const std::array<double, 4>& a, const std::array<double, 4>& b);

}  // namespace anytok::world
