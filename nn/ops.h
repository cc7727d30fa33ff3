// Element-wise and row-wise operations on float32 tensors. Shapes are written as [rows, cols] where an op works
// on the last axis and treats every leading axis as rows.
#pragma once

#include "nn/tensor.h"

namespace anytok {

// y[..., out] = x[..., in] · weightᵀ + bias, with weight [out, in] and bias [out] or empty (PyTorch's nn.Linear).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// Softmax over the last axis, in place. Subtracts the row maximum first, as PyTorch does.
void softmax_(Tensor& x);

// LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · gamma + beta, with the biased variance.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps);

// Activations, in place.
void relu_(Tensor& x);
void gelu_(Tensor& x);  // the exact form, 0.5·x·(1 + erf(x/√2)), PyTorch's default
void silu_(Tensor& x);  // x·sigmoid(x), also called swish
void elu_(Tensor& x, float alpha = 1.0f);  // x > 0 ? x : α·(eˣ − 1)

// a += b, same shapes.
void add_(Tensor& a, const Tensor& b);

}  // namespace anytok
