// Progress of long work as one line on standard error, redrawn in place a few times a second. Silent when
// standard error is not a terminal, so logs and pipes stay clean.
#pragma once
#include <chrono>
#include <string>

namespace anytok {

class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  ~ProgressLine();  // clears the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // `done` of `total` (any unit); `unit` is printed after them ("s", "frames").
  void update(double done, double total, const char* unit);

 private:
  std::string label_;
  bool enabled_ = false, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace anytok
