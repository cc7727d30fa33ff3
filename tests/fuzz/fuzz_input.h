// What the fuzz targets share. Each target feeds libFuzzer's bytes to one parser and lets only anytok::Error
// (the promised "clear error") pass: any other exception, a crash, a leak, undefined behaviour or memory beyond
// libFuzzer's -rss_limit_mb is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace anytok::fuzz {

// The bytes as a file, for readers that take a path: in /dev/shm when it exists (no disk traffic), one name per
// process and `suffix` (an extension the reader may look at). Rewritten for every input.
inline std::string as_file(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string folder = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  const std::string path = folder + "/anytok-fuzz-" + std::to_string(::getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

// A model folder holding `config.json` with these bytes.
inline std::string as_model_dir(const uint8_t* data, size_t size) {
  const std::string dir = as_file(nullptr, 0, ".dir");
  std::filesystem::remove(dir);
  std::filesystem::create_directories(dir + "_model");
  std::FILE* f = std::fopen((dir + "_model/config.json").c_str(), "wb");
  if (!f) __builtin_trap();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return dir + "_model";
}

}  // namespace anytok::fuzz
