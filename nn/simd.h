// Helpers for the element-wise loops that the compiler vectorises. The build targets baseline x86-64, so the
// hottest loops are also compiled for AVX2 and AVX-512 (ANYTOK_SIMD_CLONES) and picked at run time.
#pragma once
#include <bit>
#include <cstdint>

// ThreadSanitizer builds go without: a clone is chosen by an ifunc resolver that the dynamic loader calls before
// the sanitizer's runtime is up, and the instrumented resolver crashes there.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define ANYTOK_SIMD_CLONES [[gnu::target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")]]
#else
#define ANYTOK_SIMD_CLONES
#endif

namespace anytok {

// e^x to within a few float ulps for x in [−87, 88], in a form the compiler vectorises (std::exp is a scalar
// call): e^x = 2^k·e^r with k = round(x·log2 e) and r = x − k·ln 2 in [−ln2/2, ln2/2] (ln 2 in two parts so that
// k·ln2_hi is exact), e^r by its Taylor series to r⁷.
[[gnu::always_inline]] inline float exp_vectorisable(float x) {
  const float shifted = x * 1.44269504f + 12582912.0f;  // + 1.5·2²³: the low mantissa bits now hold k
  const float k = shifted - 12582912.0f;
  const float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
  const float e = 1 + r * (1 + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 +
                                                                                              r * (1.0f / 5040)))))));
  const int32_t two_k = (std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(12582912.0f) + 127) << 23;
  return e * std::bit_cast<float>(two_k);
}

}  // namespace anytok
