// The safetensors reader: header JSON, offsets, shapes and dtypes, then every tensor converted as models load them.
#include "fuzz_input.h"
#include "nn/error.h"
#include "nn/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const anytok::SafetensorsFile file(anytok::fuzz::as_file(data, size, ".safetensors"));
    for (const auto& info : file.tensors()) {
      try {
        (void)file.to_float(info);
      } catch (const anytok::Error&) {
      }
      try {
        (void)file.to_int64(info);
      } catch (const anytok::Error&) {
      }
    }
  } catch (const anytok::Error&) {
  }
  return 0;
}
