#include "apps/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace anytok {
namespace {

// Counts print as integers, amounts (seconds of audio) with one decimal.
std::string amount(double v) {
  char text[32];
  if (v == std::floor(v) && std::abs(v) < 1e15)
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(v));
  else
    std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

}  // namespace

ProgressLine::ProgressLine(std::string label, std::string unit, std::chrono::seconds log_every)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      tty_(isatty(STDERR_FILENO) == 1),
      log_every_(log_every),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

ProgressLine::~ProgressLine() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

std::string ProgressLine::duration(double seconds) {
  const long long s = static_cast<long long>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%llds", s);
  return text;
}

void ProgressLine::update(double done, double total, const std::string& extra) {
  if (!tty_ && log_every_.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    // Short work never draws; longer work redraws at most five times a second.
    if (now - start_ < std::chrono::milliseconds(500) || (drawn_ && now - last_ < std::chrono::milliseconds(200)))
      return;
  } else if (now - last_ < log_every_) {
    return;
  }
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = done / std::max(seconds, 1e-9);
  std::string line = label_ + ": " + amount(done) + "/" + amount(total) + " " + unit_;
  char numbers[96];
  std::snprintf(numbers, sizeof numbers, " (%.0f%%), %.1f %s/s", total > 0 ? 100.0 * done / total : 100.0, rate,
                unit_.c_str());
  line += numbers;
  if (rate > 0 && done < total) line += ", ETA " + duration((total - done) / rate);
  if (!extra.empty()) line += ", " + extra;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace anytok
