#include "nn/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nn/error.h"

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace anytok {
namespace {

using json = nlohmann::json;

// The reference implementation refuses headers over 100 MB; so do we, before reading a byte of it.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeName {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeName kDTypes[] = {{DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
                                 {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
                                 {DType::I16, "I16", 2},  {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
                                 {DType::BOOL, "BOOL", 1}};

const DTypeName& describe(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d;
  throw Error("unknown dtype");
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

template <typename T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + i * sizeof(T), sizeof(T));
  return v;
}

}  // namespace

size_t dtype_size(DType dtype) { return describe(dtype).size; }
std::string_view dtype_name(DType dtype) { return describe(dtype).name; }

float f16_to_f32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ffu, bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf or NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise the mantissa
    int shift = std::countl_zero(mantissa) - 21;
    mantissa = (mantissa << shift) & 0x3ffu;
    bits = sign | static_cast<uint32_t>(113 - shift) << 23 | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_f16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u);  // inf, NaN
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds past the largest half
  if (abs < 0x38800000u) {                         // subnormal half or zero
    float scaled = std::bit_cast<float>(abs) * 16777216.0f;  // × 2^24: the value in units of the smallest half
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);  // round to nearest even at bit 13
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
  const size_t size = file_->size();
  auto fail = [&](const std::string& what) { return Error(cat(path, ": ", what)); };
  if (size == 0) throw fail("file is empty, not a safetensors file");
  if (size < 8) throw fail(cat("file is ", size, " bytes, too short to hold a safetensors header"));
  const uint64_t header_bytes = read_u64_le(file_->data());
  if (header_bytes > kMaxHeaderBytes) throw fail(cat("header length ", header_bytes, " is over the 100 MB limit"));
  if (header_bytes > size - 8)
    throw fail(cat("header length ", header_bytes, " runs past the end of the file (", size, " bytes): truncated?"));
  const char* header = reinterpret_cast<const char*>(file_->data() + 8);
  data_ = file_->data() + 8 + header_bytes;
  const uint64_t data_bytes = size - 8 - header_bytes;

  json root;
  try {
    root = json::parse(header, header + header_bytes);
  } catch (const json::exception& e) {
    throw fail(cat("header is not valid JSON (", e.what(), ")"));
  }
  if (!root.is_object()) throw fail("header is not a JSON object");

  for (const auto& item : root.items()) {
    const std::string& name = item.key();  // a plain reference: lambdas below capture it
    const auto& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object of strings");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw fail(cat("__metadata__ entry ", key, " is not a string"));
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return fail(cat("tensor ", name, ": ", what)); };
    if (!entry.is_object()) throw bad("entry is not an object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) throw bad("dtype is missing");
    if (!entry.contains("shape") || !entry["shape"].is_array()) throw bad("shape is missing");
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw bad("data_offsets is missing or not a [begin, end] pair");

    TensorInfo info;
    info.name = name;
    const std::string dtype = entry["dtype"].get<std::string>();
    const DTypeName* known = nullptr;
    for (const auto& d : kDTypes)
      if (dtype == d.name) known = &d;
    if (!known) throw bad(cat("unsupported dtype ", dtype));
    info.dtype = known->dtype;

    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw bad(cat("shape ", entry["shape"].dump(), " is not a list of sizes"));
      uint64_t v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(INT64_MAX)) throw bad(cat("dimension ", v, " is too large"));
      info.shape.push_back(static_cast<int64_t>(v));
    }
    for (const auto& o : entry["data_offsets"])
      if (!o.is_number_unsigned()) throw bad("data_offsets are not byte offsets");
    info.begin = entry["data_offsets"][0].get<uint64_t>();
    info.end = entry["data_offsets"][1].get<uint64_t>();
    if (info.end < info.begin) throw bad(cat("data_offsets [", info.begin, ",", info.end, "] end before they begin"));
    if (info.end > data_bytes)
      throw bad(cat("data_offsets [", info.begin, ",", info.end, "] point past the end of the file (data section is ",
                    data_bytes, " bytes): truncated?"));

    // Element count × dtype size, refusing products that overflow 64 bits.
    uint64_t expected = known->size;
    for (int64_t d : info.shape) {
      if (d != 0 && expected > UINT64_MAX / static_cast<uint64_t>(d))
        throw bad(cat("shape ", shape_to_string(info.shape), " overflows when multiplied"));
      expected *= static_cast<uint64_t>(d);
    }
    if (expected != info.end - info.begin)
      throw bad(cat(dtype, " × shape ", shape_to_string(info.shape), " is ", expected, " bytes, but data_offsets span ",
                    info.end - info.begin));
    tensors_.push_back(std::move(info));
  }

  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors_)
    if (t.end > t.begin) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw fail(cat("tensors ", by_offset[i - 1]->name, " and ", by_offset[i]->name, " overlap in the data section"));
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  if (const TensorInfo* info = find(name)) return *info;
  throw Error(cat(path(), ": missing tensor ", name));
}

Tensor SafetensorsFile::to_float(const TensorInfo& info) const {
  const uint8_t* p = bytes(info);
  if (info.dtype == DType::F32 && reinterpret_cast<uintptr_t>(p) % alignof(float) == 0)
    return Tensor::view(info.shape, reinterpret_cast<float*>(const_cast<uint8_t*>(p)), file_);
  Tensor t(info.shape);
  float* out = t.data();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    switch (info.dtype) {
      case DType::F64: out[i] = static_cast<float>(load<double>(p, i)); break;
      case DType::F32: out[i] = load<float>(p, i); break;
      case DType::F16: out[i] = f16_to_f32(load<uint16_t>(p, i)); break;
      case DType::BF16: out[i] = bf16_to_f32(load<uint16_t>(p, i)); break;
      case DType::I64: out[i] = static_cast<float>(load<int64_t>(p, i)); break;
      case DType::I32: out[i] = static_cast<float>(load<int32_t>(p, i)); break;
      case DType::I16: out[i] = static_cast<float>(load<int16_t>(p, i)); break;
      case DType::I8: out[i] = static_cast<float>(load<int8_t>(p, i)); break;
      case DType::U8: case DType::BOOL: out[i] = static_cast<float>(p[i]); break;
    }
  }
  return t;
}

std::vector<int64_t> SafetensorsFile::to_int64(const TensorInfo& info) const {
  const uint8_t* p = bytes(info);
  const int64_t n = shape_numel(info.shape);
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (info.dtype) {
      case DType::I64: out[i] = load<int64_t>(p, i); break;
      case DType::I32: out[i] = load<int32_t>(p, i); break;
      case DType::I16: out[i] = load<int16_t>(p, i); break;
      case DType::I8: out[i] = load<int8_t>(p, i); break;
      case DType::U8: case DType::BOOL: out[i] = p[i]; break;
      default: throw Error(cat(path(), ": tensor ", info.name, " is ", dtype_name(info.dtype), ", not an integer tensor"));
    }
  }
  return out;
}

void SafetensorsWriter::add(const std::string& name, DType dtype, const Shape& shape, const void* data, size_t bytes) {
  if (shape_numel(shape) * dtype_size(dtype) != bytes)
    throw Error(cat("tensor ", name, ": ", bytes, " bytes do not fill ", dtype_name(dtype), " ", shape_to_string(shape)));
  const auto* p = static_cast<const uint8_t*>(data);
  entries_[name] = Entry{dtype, shape, std::vector<uint8_t>(p, p + bytes)};
}

void SafetensorsWriter::add(const std::string& name, const Tensor& tensor) {
  add(name, DType::F32, tensor.shape(), tensor.data(), sizeof(float) * tensor.numel());
}

void SafetensorsWriter::add_int64(const std::string& name, const Shape& shape, const std::vector<int64_t>& values) {
  add(name, DType::I64, shape, values.data(), sizeof(int64_t) * values.size());
}

void SafetensorsWriter::write(const std::string& path) const {
  json header = json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const auto& [name, e] : entries_) {
    header[name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(cat(path, ": cannot open for writing"));
  uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, e] : entries_) out.write(reinterpret_cast<const char*>(e.bytes.data()), static_cast<std::streamsize>(e.bytes.size()));
  if (!out) throw Error(cat(path, ": write failed"));
}

}  // namespace anytok
