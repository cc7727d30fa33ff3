// A float32 tensor: a shape and contiguous row-major storage. Storage is shared between copies and reshapes,
// and may be a view of memory owned by someone else (a mapped weights file), kept alive by a shared owner.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace anytok {

using Shape = std::vector<int64_t>;

// Number of elements; throws Error on a negative dimension or on overflow.
int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[64,3,3,3]"

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape);  // zero-filled
  Tensor(Shape shape, std::vector<float> values);

  // A tensor over `data` that does not copy it; `owner` keeps that memory alive for as long as the tensor lives.
  static Tensor view(Shape shape, float* data, std::shared_ptr<void> owner);
  // Storage left uninitialised, for outputs that are written in full before anyone reads them.
  static Tensor uninitialized(Shape shape);

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_; }
  bool empty() const { return numel_ == 0; }

  float* data() { return data_; }
  const float* data() const { return data_; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  // Same storage, new shape of the same element count.
  Tensor reshape(Shape shape) const;
  // A deep copy with storage of its own.
  Tensor clone() const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> owner_;
  float* data_ = nullptr;
};

std::ostream& operator<<(std::ostream& out, const Shape& shape);

}  // namespace anytok
