#include "apps/progress.h"

#include <unistd.h>

#include <cstdio>

namespace anytok {

ProgressLine::ProgressLine(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void ProgressLine::update(double done, double total, const char* unit) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  // Short work never draws; longer work redraws at most five times a second.
  if (now - start_ < std::chrono::milliseconds(500) || (drawn_ && now - last_ < std::chrono::milliseconds(200))) return;
  last_ = now;
  drawn_ = true;
  const double percent = total > 0 ? 100.0 * done / total : 0.0;
  std::fprintf(stderr, "\r\033[K%s: %.0f%% (%.1f of %.1f %s)", label_.c_str(), percent, done, total, unit);
  std::fflush(stderr);
}

}  // namespace anytok
