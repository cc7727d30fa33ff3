// What the fuzz targets share. Each target feeds libFuzzer's bytes to one parser and lets only anytok::Error
// (the promised "clear error") pass: any other exception, a crash, a leak, undefined behaviour or memory beyond
// libFuzzer's -rss_limit_mb is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "sequence/vocabulary_layout.h"

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

// Model sizes small enough that fuzzed ids often land in every range: 8000 text pieces (pad 0, unk 1, bos 2,
// eos 3), 64 image codes on a 2×2 grid, 2 audio codebooks of 16, 32 location bins.
inline ModelSizes small_model_sizes() {
  ModelSizes sizes;
  sizes.text_pieces = 8000;
  sizes.text_pad = 0;
  sizes.text_unk = 1;
  sizes.text_bos = 2;
  sizes.text_eos = 3;
  sizes.image_codes = 64;
  sizes.image_grid_h = sizes.image_grid_w = 2;
  sizes.audio_codebooks = 2;
  sizes.audio_bins = 16;
  sizes.location_bins = 32;
  return sizes;
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
