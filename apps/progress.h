// Progress of long work as one line on standard error. On a terminal the line is redrawn in place a few times a
// second and cleared at the end; elsewhere it is silent, unless the work asks for a plain line now and then, so
// that a batch job's log shows how far it got.
//   label: 1200/5000 lines (24%), 41.3 lines/s, ETA 1m32s, 3 errors
#pragma once
#include <chrono>
#include <string>

namespace anytok {

class ProgressLine {
 public:
  // `unit` names what is counted ("lines", "s"). With `log_every` > 0 a plain line goes to a standard error
  // that is not a terminal at that interval.
  ProgressLine(std::string label, std::string unit, std::chrono::seconds log_every = std::chrono::seconds(0));
  ~ProgressLine();  // clears the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // `done` of `total`; `extra` is appended after a comma ("3 errors").
  void update(double done, double total, const std::string& extra = "");

  static std::string duration(double seconds);  // "45s", "3m07s", "2h05m"

 private:
  std::string label_, unit_;
  bool tty_ = false, drawn_ = false;
  std::chrono::steady_clock::duration log_every_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace anytok
