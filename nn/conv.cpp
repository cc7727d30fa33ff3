#include "nn/conv.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "nn/error.h"
#include "nn/gemm.h"
#include "nn/simd.h"
#include "nn/thread_pool.h"


namespace anytok {
namespace {

// Bytes of unfolded input per GEMM: large enough for GEMM efficiency, small enough to stay in cache-friendly
// territory and off the heap's high-water mark.
constexpr int64_t kUnfoldBudget = int64_t{4} << 20;
// Output positions per GEMM at the least: fewer, and repacking the weights for each GEMM costs more than it saves.
constexpr int64_t kMinTileColumns = 128;

void check_conv_args(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, Padding2d pad) {
  if (x.rank() != 4 || weight.rank() != 4)
    throw Error(cat("conv2d: input ", x.shape(), " and weight ", weight.shape(), " must both have rank 4"));
  const int64_t cin = x.dim(1), cout = weight.dim(0);
  if (weight.dim(1) != cin) throw Error(cat("conv2d: weight ", weight.shape(), " does not take ", cin, " input channels"));
  if (!bias.empty() && bias.numel() != cout) throw Error(cat("conv2d: bias ", bias.shape(), " does not match ", cout, " outputs"));
  if (stride < 1) throw Error("conv2d: stride must be positive");
  if (x.dim(2) + pad.top + pad.bottom < weight.dim(2) || x.dim(3) + pad.left + pad.right < weight.dim(3))
    throw Error(cat("conv2d: input ", x.shape(), " is smaller than the kernel"));
}

// ---- Winograd F(2×2, 3×3) ------------------------------------------------------------------------------------
// A 2×2 output tile of a 3×3 stride-1 convolution is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for its 4×4 input tile d and the
// filter g (Lavin & Gray, points 0, ±1, ∞). Summed over input channels, the element-wise product is 16 GEMMs
// U[k]·V[k] of [Cout×Cin]·[Cin×tiles]: 16 multiplies per tile and channel pair instead of 36.
// Not F(4×4, 3×3), with 36 instead of 144: its larger transform coefficients amplify the GEMMs' float rounding
// some tenfold (max error 4e-5 against 3e-6 on the tests' layers), which took the golden decoders past the 1e-5
// tests/image allows between nearly equal inputs. F(2×2) rounds about as im2col does.

constexpr int kM = 2, kN = 4;   // output and input tile sides
constexpr int64_t kGroup = 16;  // tiles transformed together, q innermost: one 64-byte line of V or M per point
// Bytes of transformed input and output (V and M) per block of tiles that one thread takes through all three steps.
constexpr int64_t kBlockBytes = int64_t{2} << 20;

// Bᵀ·d for one column or row d of an input tile.
[[gnu::always_inline]] inline void input_transform(const float (&d)[kN], float (&t)[kN]) {
  t[0] = d[0] - d[2], t[1] = d[1] + d[2], t[2] = d[2] - d[1], t[3] = d[1] - d[3];
}
// Aᵀ·s for one column or row s of a transformed output tile.
[[gnu::always_inline]] inline void output_transform(const float (&s)[kN], float (&o)[kM]) {
  o[0] = s[0] + s[1] + s[2], o[1] = s[1] - s[2] - s[3];
}

// The products M[k] = U[k]·V[k] go, on CPUs with AVX-512, through a register-tiled kernel that reads U and V where
// they lie. OpenBLAS repacks both for each of the 16 products of every block, which on small images doubles their
// time (the kernel is twice as fast as OpenBLAS at 16×16 positions, and on a par at 256×256).
constexpr int kPanelRows = 12;  // output channels per kernel call: 12 rows × 2 vectors take 24 of 32 registers

#if defined(__GNUC__) && defined(__x86_64__)
#define ANYTOK_AVX512_PRODUCT 1
// m[r·ld + j] = Σ_c u[r·cin + c]·v[c·ld + j] for j < 16·NV and r < 12; rows from `rows` on are computed but not
// stored.
template <int NV>
[[gnu::target("avx512f")]] void product_panel(const float* u, int64_t cin, const float* v, int64_t ld, float* m,
                                              int64_t rows) {
  __m512 acc[kPanelRows][NV];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  for (int64_t c = 0; c < cin; ++c) {
    __m512 vc[NV];
    for (int j = 0; j < NV; ++j) vc[j] = _mm512_loadu_ps(v + c * ld + 16 * j);
    for (int r = 0; r < kPanelRows; ++r) {
      const __m512 a = _mm512_set1_ps(u[r * cin + c]);
      for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_fmadd_ps(a, vc[j], acc[r][j]);
    }
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int j = 0; j < NV; ++j) _mm512_storeu_ps(m + r * ld + 16 * j, acc[r][j]);
}
#endif

// U[k][o][c] = (G g Gᵀ)[k] for the filter g from input c to output o, in double so that U carries one rounding.
std::vector<float> transform_filter(const Tensor& weight) {
  static constexpr double g_matrix[kN][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  const int64_t cout = weight.dim(0), cin = weight.dim(1);
  // Zeros past the end, which the last panel of the AVX-512 product may read (but not use).
  std::vector<float> u(static_cast<size_t>((kN * kN * cout + kPanelRows) * cin));
  ThreadPool::global().parallel_for(cout, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o)
      for (int64_t c = 0; c < cin; ++c) {
        const float* g = weight.data() + (o * cin + c) * 9;
        double gg[kN][3];  // G·g
        for (int i = 0; i < kN; ++i)
          for (int j = 0; j < 3; ++j)
            gg[i][j] = g_matrix[i][0] * g[j] + g_matrix[i][1] * g[3 + j] + g_matrix[i][2] * g[6 + j];
        for (int i = 0; i < kN; ++i)
          for (int j = 0; j < kN; ++j)
            u[static_cast<size_t>(((i * kN + j) * cout + o) * cin + c)] = static_cast<float>(
                gg[i][0] * g_matrix[j][0] + gg[i][1] * g_matrix[j][1] + gg[i][2] * g_matrix[j][2]);
      }
  });
  return u;
}

// One Winograd convolution: tile t of the output is tile t % (th·tw) of image t / (th·tw), row by row.
struct Winograd {
  const float* x;
  float* y;
  const float* u;
  const float* bias;  // null for none
  int64_t cin, cout, h, w, ho, wo, th, tw, tiles;
  Padding2d pad;

  // V[k][c][q] = (Bᵀ d B)[k] for the input tiles d of tiles t0 + q, q < live, in channel c; V's rows are `ld`
  // long. Columns q ≥ live get finite values that nothing reads.
  [[gnu::always_inline]] void transform_input(int64_t c, int64_t t0, int64_t live, float* v, int64_t ld) const {
    constexpr int64_t span = kGroup * kM + 2;
    float d[kN][kN][kGroup], s[kN][kN][kGroup];
    if (t0 / tw == (t0 + live - 1) / tw) {
      // One row of tiles: copy the input rows it covers, zero-padded, so that the gather below never branches.
      const int64_t image = t0 / (th * tw), y0 = t0 / tw % th * kM - pad.top, x0 = t0 % tw * kM - pad.left;
      const int64_t lo = std::clamp<int64_t>(-x0, 0, span), hi = std::max(lo, std::min(w - x0, (live - 1) * kM + kN));
      const float* in = x + (image * cin + c) * h * w;
      float rows[kN][span] = {};
      for (int i = 0; i < kN; ++i)
        if (y0 + i >= 0 && y0 + i < h) {
          const float* src = in + (y0 + i) * w + x0;
          std::memcpy(rows[i] + lo, src + lo, sizeof(float) * (hi - lo));
          // The next channel's rows, needed a few groups from now: each channel is a separate short stream,
          // which the hardware prefetcher picks up too late.
          if (c + 1 < cin)
            for (int64_t j = lo; j < hi; j += 16) __builtin_prefetch(src + h * w + j);
        }
      for (int i = 0; i < kN; ++i)
        for (int j = 0; j < kN; ++j)
          for (int64_t q = 0; q < kGroup; ++q) d[i][j][q] = rows[i][q * kM + j];
    } else {  // tiles from several rows or images (images narrower than a group): gather tile by tile
      for (int64_t q = 0; q < kGroup; ++q) {
        const int64_t t = t0 + q, y0 = t / tw % th * kM - pad.top, x0 = t % tw * kM - pad.left;
        const float* in = x + (t / (th * tw) * cin + c) * h * w;
        for (int i = 0; i < kN; ++i)
          for (int j = 0; j < kN; ++j) {
            const int64_t yi = y0 + i, xi = x0 + j;
            d[i][j][q] = q < live && yi >= 0 && yi < h && xi >= 0 && xi < w ? in[yi * w + xi] : 0.0f;
          }
      }
    }
    // Bᵀ·d down the columns, then ·B along the rows.
    for (int j = 0; j < kN; ++j)
      for (int64_t q = 0; q < kGroup; ++q) {
        float col[kN], t[kN];
        for (int i = 0; i < kN; ++i) col[i] = d[i][j][q];
        input_transform(col, t);
        for (int i = 0; i < kN; ++i) s[i][j][q] = t[i];
      }
    for (int i = 0; i < kN; ++i)
      for (int64_t q = 0; q < kGroup; ++q) {
        float row[kN], t[kN];
        for (int j = 0; j < kN; ++j) row[j] = s[i][j][q];
        input_transform(row, t);
        for (int j = 0; j < kN; ++j) v[((i * kN + j) * cin + c) * ld + q] = t[j];
      }
  }

  // The inverse: y = Aᵀ M A + bias for output channel o of the same tiles, from M[k][o][q] with rows `ld` long.
  [[gnu::always_inline]] void transform_output(int64_t o, int64_t t0, int64_t live, const float* mm,
                                               int64_t ld) const {
    float s[kM][kN][kGroup], r[kM][kM][kGroup];
    const float b = bias ? bias[o] : 0.0f;
    for (int j = 0; j < kN; ++j)
      for (int64_t q = 0; q < kGroup; ++q) {
        float col[kN], t[kM];
        for (int i = 0; i < kN; ++i) col[i] = mm[((i * kN + j) * cout + o) * ld + q];
        output_transform(col, t);
        for (int i = 0; i < kM; ++i) s[i][j][q] = t[i];
      }
    for (int i = 0; i < kM; ++i)
      for (int64_t q = 0; q < kGroup; ++q) {
        float row[kN], t[kM];
        for (int j = 0; j < kN; ++j) row[j] = s[i][j][q];
        output_transform(row, t);
        for (int j = 0; j < kM; ++j) r[i][j][q] = t[j] + b;
      }
    if (t0 / tw == (t0 + live - 1) / tw) {  // one row of tiles: interleave into output rows, then copy them out
      const int64_t image = t0 / (th * tw), y0 = t0 / tw % th * kM, x0 = t0 % tw * kM;
      float rows[kM][kGroup * kM];
      for (int i = 0; i < kM; ++i)
        for (int j = 0; j < kM; ++j)
          for (int64_t q = 0; q < kGroup; ++q) rows[i][q * kM + j] = r[i][j][q];
      float* out = y + (image * cout + o) * ho * wo;
      for (int i = 0; i < kM && y0 + i < ho; ++i)
        std::memcpy(out + (y0 + i) * wo + x0, rows[i], sizeof(float) * std::min(live * kM, wo - x0));
      return;
    }
    for (int64_t q = 0; q < live; ++q) {
      const int64_t t = t0 + q, y0 = t / tw % th * kM, x0 = t % tw * kM;
      float* out = y + (t / (th * tw) * cout + o) * ho * wo;
      for (int i = 0; i < kM && y0 + i < ho; ++i)
        for (int j = 0; j < kM && x0 + j < wo; ++j) out[(y0 + i) * wo + x0 + j] = r[i][j][q];
    }
  }

  // m = u·v, [cout × cin]·[cin × width], width a multiple of kGroup; the rows of v and m are ld apart.
  void product(const float* u_k, const float* v_k, float* m_k, int64_t width, int64_t ld) const {
#ifdef ANYTOK_AVX512_PRODUCT
    static const bool avx512 = __builtin_cpu_supports("avx512f");
    if (avx512) {
      for (int64_t o = 0; o < cout; o += kPanelRows)
        for (int64_t j = 0; j < width; j += 2 * kGroup) {
          const int64_t rows = std::min<int64_t>(kPanelRows, cout - o);
          if (width - j >= 2 * kGroup)
            product_panel<2>(u_k + o * cin, cin, v_k + j, ld, m_k + o * ld + j, rows);
          else
            product_panel<1>(u_k + o * cin, cin, v_k + j, ld, m_k + o * ld + j, rows);
        }
      return;
    }
#endif
    gemm(false, false, cout, width, cin, 1.0f, u_k, cin, v_k, ld, 0.0f, m_k, ld);
  }

  // Tiles t0 … t0 + count − 1 through all three steps, with V and M in `scratch`, so that they stay in this
  // core's cache.
  ANYTOK_SIMD_CLONES void run_block(int64_t t0, int64_t count, float* scratch) const {
    // Rows of V and M one group longer than used: a power-of-two stride would map a column of V onto a few
    // cache sets.
    const int64_t width = (count + kGroup - 1) / kGroup * kGroup, ld = width + kGroup;
    float* const v = scratch;
    float* const mm = scratch + kN * kN * cin * ld;
    for (int64_t c = 0; c < cin; ++c)
      for (int64_t g = 0; g < width; g += kGroup) transform_input(c, t0 + g, std::min(kGroup, count - g), v + g, ld);
    for (int64_t k = 0; k < kN * kN; ++k)
      product(u + k * cout * cin, v + k * cin * ld, mm + k * cout * ld, width, ld);
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t g = 0; g < width; g += kGroup) transform_output(o, t0 + g, std::min(kGroup, count - g), mm + g, ld);
  }
};

// Whether Winograd beats im2col: it needs channels enough for its GEMMs, and tiles enough for each thread to get
// a block.
bool winograd_pays(int64_t tiles, int64_t cin, int64_t cout) {
  return cin >= 16 && cout >= 16 && tiles >= 2 * kGroup * ThreadPool::global().size();
}

// Output channels up to which a stride-1 convolution is computed directly (a VQ-GAN's conv_out, 128 → 3): a GEMM
// with so few rows runs at a tenth of its usual speed, and unfolding 9·Cin rows per output row costs more still.
constexpr int64_t kDirectMaxOutputs = 4;

// y rows [r0, r1) of image b, for stride 1 and cout ≤ kDirectMaxOutputs: each output row accumulates, for every
// input channel and kernel tap, a shifted input row times one weight, so that the loops run along the row.
ANYTOK_SIMD_CLONES void direct_rows(const Tensor& x, const Tensor& weight, const Tensor& bias, Padding2d pad,
                                    int64_t b, int64_t r0, int64_t r1, Tensor& y) {
  const int64_t cin = x.dim(1), h = x.dim(2), w = x.dim(3), cout = weight.dim(0), kh = weight.dim(2),
                kw = weight.dim(3), ho = y.dim(2), wo = y.dim(3);
  for (int64_t r = r0; r < r1; ++r) {
    float* out[kDirectMaxOutputs];
    for (int64_t o = 0; o < cout; ++o) {
      out[o] = y.data() + ((b * cout + o) * ho + r) * wo;
      std::fill(out[o], out[o] + wo, bias.empty() ? 0.0f : bias[o]);
    }
    for (int64_t c = 0; c < cin; ++c)
      for (int64_t i = 0; i < kh; ++i) {
        const int64_t yi = r + i - pad.top;
        if (yi < 0 || yi >= h) continue;
        const float* src = x.data() + ((b * cin + c) * h + yi) * w;
        for (int64_t j = 0; j < kw; ++j) {
          const int64_t shift = j - pad.left, q0 = std::max<int64_t>(0, -shift), q1 = std::min(wo, w - shift);
          for (int64_t o = 0; o < cout; ++o) {
            const float wt = weight[((o * cin + c) * kh + i) * kw + j];
            float* dst = out[o];
            for (int64_t q = q0; q < q1; ++q) dst[q] += wt * src[q + shift];
          }
        }
      }
  }
}

}  // namespace

WinogradFilter winograd_filter(const Tensor& weight) {
  if (weight.rank() != 4 || weight.dim(2) != 3 || weight.dim(3) != 3)
    throw Error(cat("winograd_filter: weight ", weight.shape(), " is not [Cout, Cin, 3, 3]"));
  return {weight.shape(), transform_filter(weight)};
}

Tensor conv2d_winograd(const Tensor& x, const Tensor& weight, const Tensor& bias, Padding2d pad,
                       const WinogradFilter* filter) {
  check_conv_args(x, weight, bias, 1, pad);
  if (weight.dim(2) != 3 || weight.dim(3) != 3) throw Error(cat("conv2d_winograd: weight ", weight.shape(), " is not 3×3"));
  const int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), w = x.dim(3), cout = weight.dim(0);
  const int64_t ho = h + pad.top + pad.bottom - 2, wo = w + pad.left + pad.right - 2;
  const int64_t th = (ho + kM - 1) / kM, tw = (wo + kM - 1) / kM;
  if (filter && filter->shape != weight.shape())
    throw Error(cat("conv2d: Winograd filter of ", filter->shape, " given for weight ", weight.shape()));
  std::vector<float> transformed;
  const float* u = filter ? filter->u.data() : (transformed = transform_filter(weight)).data();
  Tensor y({n, cout, ho, wo});
  const Winograd p{x.data(), y.data(), u, bias.empty() ? nullptr : bias.data(), cin, cout, h, w, ho, wo, th,
                   tw, n * th * tw, pad};
  // Tiles per block: as many as fit kBlockBytes, and no more than leave every thread two blocks; but at least two
  // groups, for the product's full-width panels and to read U (which each block reads whole) less often.
  const int64_t blocks_wanted = 2 * ThreadPool::global().size();
  const int64_t block = std::max(2 * kGroup, std::min(kBlockBytes / (kN * kN * 4 * (cin + cout)),
                                                      (p.tiles + blocks_wanted - 1) / blocks_wanted) / kGroup * kGroup);
  SerialBlas serial_blas;
  ThreadPool::global().parallel_for((p.tiles + block - 1) / block, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scratch;  // kept between calls: fresh pages would cost more than the work
    scratch.resize(std::max(scratch.size(), static_cast<size_t>(kN * kN * (cin + cout) * (block + kGroup))));
    for (int64_t i = begin; i < end; ++i) p.run_block(i * block, std::min(block, p.tiles - i * block), scratch.data());
  });
  return y;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, Padding2d pad,
              const WinogradFilter* filter) {
  check_conv_args(x, weight, bias, stride, pad);
  const int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t cout = weight.dim(0), kh = weight.dim(2), kw = weight.dim(3);
  const int64_t ho = (h + pad.top + pad.bottom - kh) / stride + 1, wo = (w + pad.left + pad.right - kw) / stride + 1;
  if (kh == 3 && kw == 3 && stride == 1 && winograd_pays(n * ((ho + kM - 1) / kM) * ((wo + kM - 1) / kM), cin, cout))
    return conv2d_winograd(x, weight, bias, pad, filter);
  Tensor y({n, cout, ho, wo});
  if (stride == 1 && cout <= kDirectMaxOutputs) {
    ThreadPool::global().parallel_for(n * ho, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end;) {  // runs of rows within one image
        const int64_t b = item / ho, r1 = std::min(end, (b + 1) * ho);
        direct_rows(x, weight, bias, pad, b, item - b * ho, r1 - b * ho, y);
        item = r1;
      }
    });
    return y;
  }
  const int64_t k = cin * kh * kw;
  const bool pointwise = kh == 1 && kw == 1 && stride == 1 && pad.top == 0 && pad.bottom == 0 && pad.left == 0 &&
                         pad.right == 0;
  // Tiles of output rows of one image, each unfolded (unless pointwise) and multiplied by one thread with
  // OpenBLAS single-threaded, as in Winograd; enough tiles for every thread, but wide enough for the GEMM.
  const int64_t threads = ThreadPool::global().size();
  const int64_t rows_per_tile = std::min(
      ho, std::max(std::min(kUnfoldBudget / std::max<int64_t>(1, k * wo * 4), (n * ho + 4 * threads - 1) / (4 * threads)),
                   (kMinTileColumns + wo - 1) / wo));
  const int64_t row_tiles = (ho + rows_per_tile - 1) / rows_per_tile;
  SerialBlas serial_blas;
  ThreadPool::global().parallel_for(n * row_tiles, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> unfolded;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / row_tiles, r0 = item % row_tiles * rows_per_tile;
      const int64_t rows = std::min(rows_per_tile, ho - r0), cols = rows * wo;
      const float* in = x.data() + b * cin * h * w;
      float* out = y.data() + b * cout * ho * wo + r0 * wo;
      if (!bias.empty())
        for (int64_t c = 0; c < cout; ++c) std::fill(out + c * ho * wo, out + c * ho * wo + cols, bias[c]);
      const float beta = bias.empty() ? 0.0f : 1.0f;
      if (pointwise) {
        gemm(false, false, cout, cols, cin, 1.0f, weight.data(), cin, in + r0 * w, h * w, beta, out, ho * wo);
        continue;
      }
      // unfolded[(c, i, j), (r, q)] = padded input at (c, (r0 + r)·stride + i, q·stride + j)
      unfolded.resize(std::max(unfolded.size(), static_cast<size_t>(k * cols)));
      for (int64_t row = 0; row < k; ++row) {
        const int64_t c = row / (kh * kw), i = row / kw % kh, j = row % kw;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t yi = (r0 + r) * stride + i - pad.top;
          float* d = unfolded.data() + row * cols + r * wo;
          if (yi < 0 || yi >= h) {
            std::fill(d, d + wo, 0.0f);
            continue;
          }
          const float* src = in + (c * h + yi) * w;
          for (int64_t q = 0; q < wo; ++q) {
            const int64_t xi = q * stride + j - pad.left;
            d[q] = xi >= 0 && xi < w ? src[xi] : 0.0f;
          }
        }
      }
      gemm(false, false, cout, cols, k, 1.0f, weight.data(), k, unfolded.data(), cols, beta, out, ho * wo);
    }
  });
  return y;
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t dilation) {
  if (x.rank() != 3 || weight.rank() != 3 || weight.dim(1) != x.dim(1))
    throw Error(cat("conv1d: input ", x.shape(), " and weight ", weight.shape(), " do not match"));
  const int64_t n = x.dim(0), cin = x.dim(1), length = x.dim(2), cout = weight.dim(0);
  if (stride < 1 || dilation < 1) throw Error("conv1d: stride and dilation must be positive");
  const int64_t span = dilation * (weight.dim(2) - 1) + 1;
  if (length < span) throw Error(cat("conv1d: input ", x.shape(), " is shorter than the kernel's span ", span));
  const int64_t out_length = (length - span) / stride + 1;
  Tensor y = Tensor::uninitialized({n, cout, out_length});
  for (int64_t b = 0; b < n; ++b)
    conv1d_rows(x.data() + b * cin * length, length, cin, length, weight, bias, stride, dilation,
                y.data() + b * cout * out_length);
  return y;
}

void conv1d_rows(const float* x, int64_t row_stride, int64_t cin, int64_t length, const Tensor& weight,
                 const Tensor& bias, int64_t stride, int64_t dilation, float* y) {
  if (weight.rank() != 3 || weight.dim(1) != cin)
    throw Error(cat("conv1d: weight ", weight.shape(), " does not take ", cin, " input channels"));
  const int64_t cout = weight.dim(0), k = weight.dim(2), span = dilation * (k - 1) + 1;
  if (!bias.empty() && bias.numel() != cout) throw Error(cat("conv1d: bias ", bias.shape(), " does not match ", cout, " outputs"));
  if (stride < 1 || dilation < 1 || length < span) throw Error("conv1d: bad stride, dilation or length");
  const int64_t out_length = (length - span) / stride + 1, rows = cin * k;
  // Stride 1 with enough input channels: one GEMM per tap, each reading the input in place at its shift.
  // Otherwise the input is unfolded, unfolded[(c, j), t] = x[c, t·stride + j·dilation], for one GEMM.
  const bool by_taps = stride == 1 && cin >= 16;
  std::vector<float> taps;  // [k][cout][cin]
  if (by_taps && k > 1) {
    taps.resize(static_cast<size_t>(k * cout * cin));
    for (int64_t j = 0; j < k; ++j)
      for (int64_t o = 0; o < cout; ++o)
        for (int64_t c = 0; c < cin; ++c) taps[(j * cout + o) * cin + c] = weight[(o * cin + c) * k + j];
  }
  // Tiles of output positions, a couple per thread, each a single-threaded GEMM (audio batches are small and
  // sequences long), the unfolded tile kept within a cache-friendly budget.
  ThreadPool& pool = ThreadPool::global();
  int64_t tile = std::max<int64_t>(64, (out_length + 2 * pool.size() - 1) / (2 * pool.size()));
  if (!by_taps) tile = std::min(tile, std::max<int64_t>(64, kUnfoldBudget / static_cast<int64_t>(sizeof(float)) / rows));
  SerialBlas serial;
  pool.parallel_for((out_length + tile - 1) / tile, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> unfolded;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t0 = item * tile, count = std::min(tile, out_length - t0);
      for (int64_t o = 0; o < cout; ++o)
        std::fill(y + o * out_length + t0, y + o * out_length + t0 + count, bias.empty() ? 0.0f : bias[o]);
      if (by_taps) {
        for (int64_t j = 0; j < k; ++j)
          gemm(false, false, cout, count, cin, 1.0f, k == 1 ? weight.data() : taps.data() + j * cout * cin, cin,
               x + t0 + j * dilation, row_stride, 1.0f, y + t0, out_length);
        continue;
      }
      unfolded.resize(std::max(unfolded.size(), static_cast<size_t>(rows * count)));
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t j = 0; j < k; ++j) {
          const float* src = x + c * row_stride + t0 * stride + j * dilation;
          float* dst = unfolded.data() + (c * k + j) * count;
          if (stride == 1) {
            std::memcpy(dst, src, sizeof(float) * count);
          } else {
            for (int64_t t = 0; t < count; ++t) dst[t] = src[t * stride];
          }
        }
      gemm(false, false, cout, count, rows, 1.0f, weight.data(), rows, unfolded.data(), count, 1.0f, y + t0, out_length);
    }
  });
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride) {
  if (x.rank() != 3 || weight.rank() != 3 || weight.dim(0) != x.dim(1))
    throw Error(cat("conv_transpose1d: input ", x.shape(), " and weight ", weight.shape(), " do not match"));
  const int64_t n = x.dim(0), cin = x.dim(1), length = x.dim(2), cout = weight.dim(1), k = weight.dim(2);
  if (!bias.empty() && bias.numel() != cout)
    throw Error(cat("conv_transpose1d: bias ", bias.shape(), " does not match ", cout, " outputs"));
  if (stride < 1) throw Error("conv_transpose1d: stride must be positive");
  const int64_t out_length = (length - 1) * stride + k;
  Tensor y = Tensor::uninitialized({n, cout, out_length});
  std::unique_ptr<float[]> columns(new float[static_cast<size_t>(std::max<int64_t>(1, cout * k * length))]);
  for (int64_t b = 0; b < n; ++b) {
    // columns[(o, j), t] = Σ_c weight[c, o, j]·x[b, c, t], then each lands at output position t·stride + j.
    gemm_parallel(true, false, cout * k, length, cin, 1.0f, weight.data(), cout * k, x.data() + b * cin * length,
                  length, 0.0f, columns.get(), length);
    float* out = y.data() + b * cout * out_length;
    ThreadPool::global().parallel_for(cout, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        float* row = out + o * out_length;
        std::fill(row, row + out_length, bias.empty() ? 0.0f : bias[o]);
        for (int64_t j = 0; j < k; ++j) {
          const float* col = columns.get() + (o * k + j) * length;
          for (int64_t t = 0; t < length; ++t) row[t * stride + j] += col[t];
        }
      }
    });
  }
  return y;
}

namespace {

// Mean and biased variance of p[0, n), one pass in double lanes that the compiler vectorises (a single
// accumulator would be a latency-bound chain). Offsets from p[0] keep E[d²] − E[d]² exact enough even where the
// mean dwarfs the spread.
ANYTOK_SIMD_CLONES void mean_var(const float* p, int64_t n, double& mean, double& var) {
  constexpr int kLanes = 8;
  double sum[kLanes] = {}, sq[kLanes] = {};
  const double origin = p[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const double d = p[i + l] - origin;
      sum[l] += d, sq[l] += d * d;
    }
  for (; i < n; ++i) sum[0] += p[i] - origin, sq[0] += (p[i] - origin) * (p[i] - origin);
  double s = 0, q = 0;
  for (int l = 0; l < kLanes; ++l) s += sum[l], q += sq[l];
  mean = origin + s / n;
  var = std::max(0.0, q / n - (s / n) * (s / n));
}

// out = in·scale + shift, then x·sigmoid(x) if `silu`.
ANYTOK_SIMD_CLONES void scale_shift(const float* in, float* out, int64_t n, float scale, float shift, bool silu) {
  if (!silu) {
    for (int64_t i = 0; i < n; ++i) out[i] = in[i] * scale + shift;
    return;
  }
  // In chunks, clamping −x to exp's range in a loop of its own: in the same loop the compiler specialises the
  // clamped ends into branches and no longer vectorises.
  constexpr int64_t kChunk = 256;
  float v[kChunk], e[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t len = std::min(kChunk, n - i0);
    for (int64_t i = 0; i < len; ++i) {
      v[i] = in[i0 + i] * scale + shift;
      e[i] = std::min(std::max(-v[i], -87.0f), 88.0f);
    }
    for (int64_t i = 0; i < len; ++i) out[i0 + i] = v[i] / (1.0f + exp_vectorisable(e[i]));
  }
}

}  // namespace

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& gamma, const Tensor& beta, float eps, bool silu) {
  if (x.rank() < 2) throw Error(cat("group_norm: input ", x.shape(), " needs a channel axis"));
  const int64_t n = x.dim(0), c = x.dim(1), spatial = x.numel() / std::max<int64_t>(1, n * c);
  if (groups <= 0 || c % groups) throw Error(cat("group_norm: ", c, " channels do not split into ", groups, " groups"));
  if (gamma.numel() != c || beta.numel() != c) throw Error(cat("group_norm: gamma and beta need ", c, " values"));
  Tensor y(x.shape());
  const int64_t per_group = c / groups * spatial;
  if (per_group == 0) return y;
  ThreadPool::global().parallel_for(n * groups, [&](int64_t begin, int64_t end) {
    for (int64_t ng = begin; ng < end; ++ng) {
      const int64_t g = ng % groups;
      double mean, var;
      mean_var(x.data() + ng * per_group, per_group, mean, var);
      const float inv = static_cast<float>(1.0 / std::sqrt(var + eps)), m = static_cast<float>(mean);
      for (int64_t ch = 0; ch < c / groups; ++ch) {
        const int64_t channel = g * (c / groups) + ch, offset = ng * per_group + ch * spatial;
        const float scale = inv * gamma[channel];
        scale_shift(x.data() + offset, y.data() + offset, spatial, scale, beta[channel] - m * scale, silu);
      }
    }
  });
  return y;
}

Tensor upsample_nearest2x(const Tensor& x) {
  if (x.rank() != 4) throw Error(cat("upsample: input ", x.shape(), " must be [N, C, H, W]"));
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  Tensor y({x.dim(0), x.dim(1), 2 * h, 2 * w});
  ThreadPool::global().parallel_for(planes, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t i = 0; i < h; ++i) {
        const float* src = x.data() + (p * h + i) * w;
        float* dst = y.data() + (p * 2 * h + 2 * i) * 2 * w;
        for (int64_t j = 0; j < w; ++j) dst[2 * j] = dst[2 * j + 1] = src[j];
        std::memcpy(dst + 2 * w, dst, sizeof(float) * 2 * w);
      }
  });
  return y;
}

}  // namespace anytok
