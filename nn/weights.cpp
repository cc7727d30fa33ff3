#include "nn/weights.h"

#include <algorithm>

#include "nn/error.h"

namespace anytok {

Weights::Weights(const std::string& path) : file_(path) {}

void Weights::scope(const std::string& prefix) { prefix_ = prefix; }

std::vector<std::string> Weights::prefixes_of(std::string_view anchor) const {
  std::vector<std::string> prefixes;
  for (const auto& t : file_.tensors()) {
    const std::string& n = t.name;
    if (!n.ends_with(anchor)) continue;
    std::string prefix = n.substr(0, n.size() - anchor.size());
    if (prefix.empty() || prefix.back() == '.') prefixes.push_back(std::move(prefix));
  }
  std::stable_sort(prefixes.begin(), prefixes.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
  return prefixes;
}

bool Weights::has(const std::string& name) const { return file_.find(prefix_ + name) != nullptr; }

std::vector<std::string> Weights::names() const {
  std::vector<std::string> out;
  for (const auto& t : file_.tensors())
    if (t.name.starts_with(prefix_)) out.push_back(t.name.substr(prefix_.size()));
  return out;
}

const TensorInfo& Weights::lookup(const std::string& name) const {
  const TensorInfo* info = file_.find(prefix_ + name);
  if (!info) throw Error(cat(path(), ": missing tensor ", prefix_ + name));
  return *info;
}

Tensor Weights::get(const std::string& name, const Shape& shape) {
  const TensorInfo& info = lookup(name);
  if (info.shape != shape)
    throw Error(cat(path(), ": tensor ", info.name, " has shape ", shape_to_string(info.shape), ", config expects ",
                    shape_to_string(shape)));
  return get(name);
}

Tensor Weights::get(const std::string& name) {
  const TensorInfo& info = lookup(name);
  switch (info.dtype) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::F64: break;
    default: throw Error(cat(path(), ": tensor ", info.name, " is ", dtype_name(info.dtype), ", expected a float dtype"));
  }
  used_.insert(info.name);
  return file_.to_float(info);
}

void Weights::check_all_used() const {
  size_t surplus = 0;
  std::string first;
  for (const auto& t : file_.tensors()) {
    if (!t.name.starts_with(prefix_) || used_.count(t.name)) continue;
    if (surplus++ == 0) first = t.name;
  }
  if (surplus)
    throw Error(cat(path(), ": unexpected tensor ", first, surplus > 1 ? cat(" (and ", surplus - 1, " more)") : "",
                    " that the configuration does not use"));
}

}  // namespace anytok
