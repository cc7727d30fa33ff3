#include "world/scene.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nn/error.h"

namespace anytok::world {

const std::array<Colour, 6> kColours{{{"red", {215, 40, 40}},
                                      {"green", {40, 160, 60}},
                                      {"blue", {45, 80, 215}},
                                      {"yellow", {235, 205, 30}},
                                      {"purple", {140, 55, 180}},
                                      {"orange", {240, 130, 25}}}};
const std::array<std::string_view, 3> kShapes{"circle", "square", "triangle"};
const std::array<std::string_view, 9> kCells{"top left",    "top",    "top right",
                                             "left",        "center", "right",
                                             "bottom left", "bottom", "bottom right"};

namespace {

// How a caption places a cell: "at the top left", "on the left", "in the center".
const std::array<std::string_view, 9> kCellPhrases{
    "at the top left",    "at the top",    "at the top right",    "on the left", "in the center",
    "on the right",       "at the bottom left", "at the bottom", "at the bottom right"};

// splitmix64 over a counter: the n-th draw of a scene depends on (seed, index, n) alone.
class Draws {
 public:
  Draws(uint64_t seed, int64_t index) : state_(seed * 0x9E3779B97F4A7C15ULL ^ (static_cast<uint64_t>(index) + 1) * 0xD1B54A32D192ED03ULL) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }  // bias < 2^-58
  double unit() { return static_cast<double>(next() >> 11) * 0x1p-53; }            // [0, 1)

 private:
  uint64_t state_;
};

Rgb pale(Draws& draws) {
  const int light = 200 + draws.below(46);
  auto channel = [&] { return static_cast<uint8_t>(light - draws.below(36)); };
  const uint8_t r = channel(), g = channel(), b = channel();
  return {r, g, b};
}

// Whether the point (x, y), in pixels, lies inside the object's shape.
bool inside(const Object& o, double x, double y) {
  const double dx = x - o.cx, dy = y - o.cy;
  switch (o.shape) {
    case 0: return dx * dx + dy * dy <= o.radius * o.radius;
    case 1: return std::abs(dx) <= o.radius && std::abs(dy) <= o.radius;
    default:  // apex up at (cx, cy − r), base from (cx − r, cy + r) to (cx + r, cy + r)
      return dy <= o.radius && std::abs(dx) <= (dy + o.radius) / 2;
  }
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && text[at] == ' ') ++at;
    const size_t end = std::min(text.find(' ', at), text.size());
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

template <size_t N>
int find(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

// "a red ...", "an orange ...": the article agrees with the colour word.
std::string_view article(std::string_view colour) {
  return std::string_view("aeiou").find(colour.front()) == std::string_view::npos ? "a" : "an";
}

std::optional<Mention> parse_mention(std::string_view phrase) {
  const std::vector<std::string_view> w = words(phrase);
  if (w.size() < 5) return std::nullopt;
  Mention m;
  m.colour = -1;
  for (size_t i = 0; i < kColours.size(); ++i)
    if (kColours[i].name == w[1]) m.colour = static_cast<int>(i);
  m.shape = find(kShapes, w[2]);
  std::string place;
  for (size_t i = 3; i < w.size(); ++i) place += std::string(i > 3 ? " " : "") + std::string(w[i]);
  m.cell = find(kCellPhrases, place);
  if (m.colour < 0 || m.shape < 0 || m.cell < 0 || w[0] != article(w[1])) return std::nullopt;
  return m;
}

}  // namespace

std::string Object::label() const { return cat(kColours[colour].name, " ", kShapes[shape]); }

Scene make_scene(uint64_t seed, int64_t index, int64_t size) {
  if (size < 24) throw Error(cat("a scene needs at least 24 pixels a side, not ", size));
  Draws draws(seed, index);
  Scene scene;
  scene.seed = seed;
  scene.index = index;
  scene.size = size;
  scene.background_top = pale(draws);
  scene.background_bottom = pale(draws);
  std::array<int, 9> cells{0, 1, 2, 3, 4, 5, 6, 7, 8};
  const int count = 1 + draws.below(kMaxObjects);
  for (int i = 0; i < count; ++i) std::swap(cells[i], cells[i + draws.below(9 - i)]);
  std::sort(cells.begin(), cells.begin() + count);
  const double cell_size = static_cast<double>(size) / 3;
  for (int i = 0; i < count; ++i) {
    Object o;
    o.cell = cells[i];
    o.colour = draws.below(static_cast<int>(kColours.size()));
    o.shape = draws.below(static_cast<int>(kShapes.size()));
    o.radius = cell_size * (0.28 + 0.14 * draws.unit());
    // The shape stays inside its cell, a pixel from its edges.
    const double slack = std::max(0.0, cell_size / 2 - o.radius - 1);
    o.cx = cell_size * (o.cell % 3 + 0.5) + (2 * draws.unit() - 1) * slack;
    o.cy = cell_size * (o.cell / 3 + 0.5) + (2 * draws.unit() - 1) * slack;
    o.box = {o.cx - o.radius, o.cy - o.radius, o.cx + o.radius, o.cy + o.radius};
    for (double& v : o.box) v = std::round(v * 100) / 100;  // as they are written, so every reader sees the same
    scene.objects.push_back(o);
  }
  return scene;
}

std::string scene_name(const Scene& scene) {
  char name[48];
  std::snprintf(name, sizeof name, "%llu-%06lld", static_cast<unsigned long long>(scene.seed),
                static_cast<long long>(scene.index));
  return name;
}

RgbImage render(const Scene& scene) {
  constexpr int kSamples = 4;  // per axis
  const int64_t n = scene.size;
  RgbImage image{n, n, std::vector<uint8_t>(static_cast<size_t>(n * n * 3))};
  for (int64_t y = 0; y < n; ++y) {
    const double t = (static_cast<double>(y) + 0.5) / static_cast<double>(n);
    const Rgb& a = scene.background_top;
    const Rgb& b = scene.background_bottom;
    const double bg[3] = {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
    for (int64_t x = 0; x < n; ++x) {
      double pixel[3] = {bg[0], bg[1], bg[2]};
      for (const Object& o : scene.objects) {
        if (x + 1 < o.box[0] || x > o.box[2] || y + 1 < o.box[1] || y > o.box[3]) continue;
        int covered = 0;
        for (int sy = 0; sy < kSamples; ++sy)
          for (int sx = 0; sx < kSamples; ++sx)
            covered += inside(o, static_cast<double>(x) + (sx + 0.5) / kSamples,
                              static_cast<double>(y) + (sy + 0.5) / kSamples);
        const double alpha = static_cast<double>(covered) / (kSamples * kSamples);
        const Rgb& c = kColours[o.colour].rgb;
        const double colour[3] = {static_cast<double>(c.r), static_cast<double>(c.g), static_cast<double>(c.b)};
        for (int k = 0; k < 3; ++k) pixel[k] = pixel[k] * (1 - alpha) + colour[k] * alpha;
      }
      uint8_t* out = &image.pixels[static_cast<size_t>((y * n + x) * 3)];
      for (int k = 0; k < 3; ++k) out[k] = static_cast<uint8_t>(std::lround(pixel[k]));
    }
  }
  return image;
}

std::vector<Mention> mentions(const Scene& scene) {
  std::vector<Mention> out;
  for (const Object& o : scene.objects) out.push_back({o.colour, o.shape, o.cell});
  return out;
}

std::string caption(const std::vector<Mention>& mentions) {
  std::string text;
  for (size_t i = 0; i < mentions.size(); ++i) {
    const Mention& m = mentions[i];
    if (i > 0) text += i + 1 == mentions.size() ? " and " : ", ";
    const std::string_view colour = kColours[m.colour].name;
    text += cat(article(colour), " ", colour, " ", kShapes[m.shape], " ", kCellPhrases[m.cell]);
  }
  return text;
}

std::string caption(const Scene& scene) { return caption(mentions(scene)); }

std::optional<std::vector<Mention>> parse_caption(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '.' || text.back() == '\n')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  // "p1, p2 and p3": no phrase holds a comma or the word "and".
  std::vector<std::string_view> phrases;
  const size_t last_and = text.rfind(" and ");
  std::string_view head = last_and == std::string_view::npos ? text : text.substr(0, last_and);
  for (size_t at = 0;;) {
    const size_t comma = head.find(", ", at);
    phrases.push_back(head.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    if (comma == std::string_view::npos) break;
    at = comma + 2;
  }
  if (last_and != std::string_view::npos) phrases.push_back(text.substr(last_and + 5));
  std::vector<Mention> out;
  for (std::string_view phrase : phrases) {
    const std::optional<Mention> m = parse_mention(phrase);
    if (!m) return std::nullopt;
    out.push_back(*m);
  }
  return out;
}

CellColours analyse(const RgbImage& image) {
  check_rgb_image(image, "the picture to analyse");
  constexpr int kMaxDistance2 = 80 * 80;
  CellColours result;
  std::array<int64_t, 9> pixels{};
  for (int64_t y = 0; y < image.height; ++y)
    for (int64_t x = 0; x < image.width; ++x) {
      const int cell = static_cast<int>(std::min<int64_t>(y * 3 / image.height, 2) * 3 +
                                        std::min<int64_t>(x * 3 / image.width, 2));
      ++pixels[cell];
      const uint8_t* p = &image.pixels[static_cast<size_t>((y * image.width + x) * 3)];
      int best = -1, best_distance = kMaxDistance2;
      for (size_t c = 0; c < kColours.size(); ++c) {
        const Rgb& k = kColours[c].rgb;
        const int dr = p[0] - k.r, dg = p[1] - k.g, db = p[2] - k.b;
        const int d = dr * dr + dg * dg + db * db;
        if (d < best_distance) best = static_cast<int>(c), best_distance = d;
      }
      if (best >= 0) result.share[cell][best] += 1;
    }
  for (int cell = 0; cell < 9; ++cell)
    for (double& share : result.share[cell]) share /= static_cast<double>(std::max<int64_t>(pixels[cell], 1));
  return result;
}

bool shows(const CellColours& colours, int colour, int cell, double min_share) {
  return colours.share.at(cell).at(colour) >= min_share;
}

double iou(const std::array<double, 4>& a, const std::array<double, 4>& b) {
  const double w = std::min(a[2], b[2]) - std::max(a[0], b[0]), h = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  const double area_a = std::max(0.0, a[2] - a[0]) * std::max(0.0, a[3] - a[1]);
  const double area_b = std::max(0.0, b[2] - b[0]) * std::max(0.0, b[3] - b[1]);
  if (w <= 0 || h <= 0 || area_a <= 0 || area_b <= 0) return 0;
  return w * h / (area_a + area_b - w * h);
}

}  // namespace anytok::world
