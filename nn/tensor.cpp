#include "nn/tensor.h"

#include <malloc.h>

#include <algorithm>
#include <cstring>

#include "nn/error.h"

namespace anytok {
namespace {

// Network activations are tens of megabytes, freed and allocated again at every layer. By default glibc maps
// each with mmap and unmaps it on free, so every layer's output is page-faulted and zeroed afresh on one thread,
// which costs more than many of the layers themselves. Keeping freed memory in the heap reuses it instead.
const bool kHeapTuned = [] {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

}  // namespace

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(cat("negative dimension in shape ", shape_to_string(shape)));
    if (d != 0 && n > INT64_MAX / d) throw Error(cat("shape ", shape_to_string(shape), " has too many elements"));
    n *= d;
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape_to_string(shape); }

Tensor::Tensor(Shape shape) : shape_(std::move(shape)), numel_(shape_numel(shape_)) {
  auto storage = std::shared_ptr<float[]>(new float[std::max<int64_t>(numel_, 1)]());
  data_ = storage.get();
  owner_ = std::move(storage);
}

Tensor::Tensor(Shape shape, std::vector<float> values) : Tensor(std::move(shape)) {
  if (static_cast<int64_t>(values.size()) != numel_)
    throw Error(cat("tensor of shape ", shape_to_string(shape_), " needs ", numel_, " values, got ", values.size()));
  std::copy(values.begin(), values.end(), data_);
}

Tensor Tensor::uninitialized(Shape shape) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  auto storage = std::shared_ptr<float[]>(new float[std::max<int64_t>(t.numel_, 1)]);
  t.data_ = storage.get();
  t.owner_ = std::move(storage);
  return t;
}

Tensor Tensor::view(Shape shape, float* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.owner_ = std::move(owner);
  return t;
}

int64_t Tensor::dim(int axis) const {
  int r = rank();
  int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) throw Error(cat("axis ", axis, " is out of range for shape ", shape_to_string(shape_)));
  return shape_[a];
}

Tensor Tensor::reshape(Shape shape) const {
  if (shape_numel(shape) != numel_)
    throw Error(cat("cannot reshape ", shape_to_string(shape_), " to ", shape_to_string(shape)));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  if (numel_) std::memcpy(t.data_, data_, sizeof(float) * numel_);
  return t;
}

}  // namespace anytok
