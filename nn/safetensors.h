// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype,
// shape and [begin, end) byte range inside the data section that follows, then the data section.
// Files are mapped, not read; every claim of the header is checked against the file before any byte is used.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nn/mapped_file.h"
#include "nn/tensor.h"

namespace anytok {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);  // as the format spells it: "F32", "BF16", ...

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0;  // byte range inside the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates the file; throws Error naming the file, and the tensor where one is at fault.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // ordered by name
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  const TensorInfo& at(std::string_view name) const;    // throws Error when absent

  const uint8_t* bytes(const TensorInfo& info) const { return data_ + info.begin; }

  // The tensor as float32. F32 data is viewed in place when aligned; every other dtype is converted once.
  Tensor to_float(const TensorInfo& info) const;
  // Integer or boolean tensors as int64 (codes, masks). Floating dtypes are an error.
  std::vector<int64_t> to_int64(const TensorInfo& info) const;

 private:
  std::shared_ptr<MappedFile> file_;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors to a safetensors file (used by tests and tools that emit weights or test data).
class SafetensorsWriter {
 public:
  void add(const std::string& name, DType dtype, const Shape& shape, const void* data, size_t bytes);
  void add(const std::string& name, const Tensor& tensor);
  void add_int64(const std::string& name, const Shape& shape, const std::vector<int64_t>& values);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  void write(const std::string& path) const;

 private:
  struct Entry {
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// IEEE half and bfloat16 to float32, exact.
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even; overflow becomes infinity

}  // namespace anytok
