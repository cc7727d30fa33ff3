// Peak memory of a benchmark process, for the JSON line each bench/*_bench prints.
#pragma once
#include <fstream>
#include <string>

namespace anytok {

// VmHWM in MiB: this process image's peak resident set (ru_maxrss would include the parent's peak).
inline double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

}  // namespace anytok
