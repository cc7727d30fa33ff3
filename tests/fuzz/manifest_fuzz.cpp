// The preprocess manifest reader: lines found and every line parsed into an example.
#include "apps/manifest.h"
#include "fuzz_input.h"
#include "nn/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const anytok::Manifest manifest(anytok::fuzz::as_file(data, size, ".jsonl"));
    const auto [first, end] = manifest.slice(0, 1);
    for (int64_t i = first; i < end; ++i) {
      try {
        (void)manifest.parse(manifest.line(i), i);
      } catch (const anytok::Error&) {
      }
    }
  } catch (const anytok::Error&) {
  }
  return 0;
}
