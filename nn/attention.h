// Multi-head scaled dot-product attention (PyTorch's nn.MultiheadAttention after its input projections) for one
// sequence. Rows hold all heads side by side: a row of q, k, v or out is heads·head_dim floats, head h at
// h·head_dim. Rows may be further apart than that (row strides), so that q, k and v can be read in place from a
// fused projection or a cache.
#pragma once
#include <cstdint>

namespace anytok {

struct AttentionShape {
  int64_t heads = 1, head_dim = 0;
  int64_t q_len = 0, kv_len = 0;
  int64_t q_stride = 0, kv_stride = 0, out_stride = 0;  // floats between consecutive rows
};

// out[i] = Σ_j softmax_j(q[i]·k[j] / √head_dim) v[j] per head, over the keys j that are not masked:
// key_masked[j] != 0 masks key j (padding; may be null), and with `causal` query i sees only keys
// j ≤ causal_offset + i (query i sits at position causal_offset + i of the keys). A query that sees no key gets
// zeros.
void attention(const AttentionShape& shape, const float* q, const float* k, const float* v, const uint8_t* key_masked,
               bool causal, int64_t causal_offset, float* out);

}  // namespace anytok
