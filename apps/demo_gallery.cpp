#include "apps/demo_gallery.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

#include "apps/durable_file.h"
#include "nn/error.h"

namespace anytok {

using json = nlohmann::json;

void TaskMetrics::add(const std::string& metric, double value, int64_t count) {
  auto& [sum, n] = sums[metric];
  sum += value;
  n += count;
}

json TaskMetrics::to_json() const {
  json out = json::object();
  for (const auto& [metric, sum] : sums)
    out[metric] = sum.second ? json(sum.first / static_cast<double>(sum.second)) : json(nullptr);
  return out;
}

json DemoMetrics::to_json() const {
  json out{{"seed", seed}, {"scenes", scenes}, {"model", model}, {"tasks", json::object()}, {"floors", json::array()}};
  for (const auto& [task, metrics] : tasks) out["tasks"][task] = metrics.to_json();
  for (const DemoFloor& f : floors) {
    if (!out["tasks"].contains(f.task)) continue;
    const json value = out["tasks"][f.task].value(f.metric, json(nullptr));
    out["floors"].push_back({{"task", f.task},
                             {"metric", f.metric},
                             {"floor", f.floor},
                             {"value", value},
                             {"met", value.is_number() && value.get<double>() >= f.floor}});
  }
  return out;
}

std::string DemoMetrics::table() const {
  const json j = to_json();
  std::ostringstream out;
  out << "demo: " << scenes << " scenes of seed " << seed << ", model " << model << "\n";
  for (const auto& [task, metrics] : j["tasks"].items())
    for (const auto& [metric, value] : metrics.items()) {
      out << "  " << std::left << std::setw(16) << task << std::setw(26) << metric << std::right;
      if (value.is_null())
        out << "       -";
      else
        out << std::fixed << std::setprecision(3) << std::setw(8) << value.get<double>();
      for (const json& f : j["floors"])
        if (f["task"] == task && f["metric"] == metric)
          out << "   floor " << std::setprecision(2) << f["floor"].get<double>() << (f["met"].get<bool>() ? " met" : " NOT met");
      out << "\n";
    }
  return out.str();
}

namespace {

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string mark(bool right) { return right ? "<span class=ok>✓</span>" : "<span class=bad>✗</span>"; }

std::string number(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

constexpr int kZoom = 3;  // pictures are shown at 3× their 64 pixels

std::string picture(const std::string& src, const std::string& alt, int64_t size) {
  return cat("<img src=\"", src, "\" alt=\"", escape(alt), "\" width=", size * kZoom, " height=", size * kZoom, ">");
}

// The input picture with the detections drawn over it, labels above their boxes.
std::string detections_view(const DemoScene& d, const std::string& src) {
  const int64_t side = d.scene.size * kZoom;
  std::ostringstream out;
  out << "<div class=overlay>" << picture(src, "detections", d.scene.size) << "<svg width=" << side << " height=" << side
      << " viewBox=\"0 0 " << d.scene.size << " " << d.scene.size << "\">";
  for (const world::Detection& det : d.detections) {
    const auto& b = det.box;
    out << "<rect x=\"" << number(b[0], 2) << "\" y=\"" << number(b[1], 2) << "\" width=\"" << number(b[2] - b[0], 2)
        << "\" height=\"" << number(b[3] - b[1], 2) << "\"/><text x=\"" << number(b[0], 2) << "\" y=\""
        << number(std::max(4.0, b[1] - 1), 2) << "\">" << escape(det.label) << "</text>";
  }
  out << "</svg></div>";
  return out.str();
}

const char* kStyle = R"(
body { font-family: sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin-bottom: 4px; }
.summary { border-collapse: collapse; margin: 12px 0 24px; }
.summary td, .summary th { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
.scene { display: flex; flex-wrap: wrap; gap: 16px; background: #fff; border: 1px solid #ddd; border-radius: 6px;
         padding: 12px; margin-bottom: 16px; }
.cell { width: 200px; }
.cell.text { width: 180px; overflow-wrap: anywhere; max-height: 300px; overflow: hidden; }
.cell h3 { font-size: 13px; margin: 0 0 6px; color: #555; text-transform: uppercase; letter-spacing: 0.04em; }
.cell p { font-size: 13px; margin: 6px 0; }
img { image-rendering: pixelated; display: block; border: 1px solid #ccc; }
.overlay { position: relative; width: 194px; height: 194px; }
.overlay svg { position: absolute; left: 1px; top: 1px; }
.overlay rect { fill: none; stroke: #000; stroke-width: 0.6; }
.overlay text { font-size: 4px; fill: #000; paint-order: stroke; stroke: #fff; stroke-width: 0.8px; }
audio { width: 180px; }
.ok { color: #1a7f37; font-weight: bold; }
.bad { color: #cf222e; font-weight: bold; }
.truth { color: #555; }
.missing { width: 192px; height: 192px; border: 1px dashed #bbb; display: flex; align-items: center;
           justify-content: center; color: #999; font-size: 13px; }
)";

}  // namespace

void write_gallery(const std::string& dir, const std::vector<DemoScene>& scenes, const DemoMetrics& metrics,
                   bool with_speech) {
  const json summary = metrics.to_json();
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>anytok demo</title><style>" << kStyle
       << "</style></head><body>\n<h1>anytok demo</h1>\n<p>" << metrics.scenes << " held-out scenes of seed "
       << metrics.seed << ", model <code>" << escape(metrics.model) << "</code></p>\n";
  html << "<table class=summary><tr><th>task</th><th>metric</th><th>value</th><th>floor</th></tr>\n";
  for (const auto& [task, values] : summary["tasks"].items())
    for (const auto& [metric, value] : values.items()) {
      std::string floor;
      for (const json& f : summary["floors"])
        if (f["task"] == task && f["metric"] == metric)
          floor = cat("≥ ", number(f["floor"].get<double>(), 2), " ", mark(f["met"].get<bool>()));
      html << "<tr><td>" << task << "</td><td>" << metric << "</td><td>"
           << (value.is_null() ? std::string("–") : number(value.get<double>(), 3)) << "</td><td>" << floor
           << "</td></tr>\n";
    }
  html << "</table>\n";
  const auto ran = [&](const char* task) { return summary["tasks"].contains(task); };
  for (const DemoScene& d : scenes) {
    const std::string input = "scenes/" + d.name + "-input.png", truth = world::caption(d.scene);
    html << "<div class=scene id=\"" << d.name << "\">\n<div class=cell><h3>input " << d.name << "</h3>"
         << picture(input, truth, d.scene.size) << "<p class=truth>" << escape(truth) << "</p></div>\n";
    if (ran("caption"))
      html << "<div class=\"cell text\"><h3>caption</h3><p>" << mark(d.caption_exact) << " " << escape(d.caption)
           << "</p></div>\n";
    if (ran("detect")) {
      html << "<div class=cell><h3>detect</h3>" << detections_view(d, input) << "<p>IoU";
      for (double v : d.ious) html << " " << number(v, 2);
      html << "</p></div>\n";
    }
    if (ran("generate-image")) {
      html << "<div class=cell><h3>generate-image</h3>";
      if (d.generated.width)
        html << picture("scenes/" + d.name + "-generated.png", "generated from: " + truth, d.scene.size);
      else
        html << "<div class=missing>no image generated</div>";
      html << "<p>" << mark(d.generated_passes) << " from: " << escape(truth) << "</p></div>\n";
    }
    if (with_speech && ran("transcribe"))
      html << "<div class=\"cell text\"><h3>transcribe</h3><audio controls src=\"scenes/" << d.name
           << "-input.wav\"></audio><p class=truth>espeak-ng, the input</p><p>" << mark(d.transcript_exact) << " "
           << escape(d.transcript) << "</p></div>\n";
    if (with_speech && ran("speak")) {
      html << "<div class=\"cell text\"><h3>speak</h3>";
      if (d.speech.shape().size() == 2)
        html << "<audio controls src=\"scenes/" << d.name << "-speech.wav\"></audio><p>log-mel distance "
             << number(d.log_mel, 2) << "</p><p>heard as: " << mark(d.speech_transcript == truth) << " "
             << escape(d.speech_transcript) << "</p>";
      else
        html << "<p>no speech generated</p>";
      html << "</div>\n";
    }
    html << "</div>\n";
  }
  html << "</body></html>\n";
  write_file_atomically((std::filesystem::path(dir) / "index.html").string(), html.str());
  write_file_atomically((std::filesystem::path(dir) / "metrics.json").string(), summary.dump(2) + "\n");
}

}  // namespace anytok
