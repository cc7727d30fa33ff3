// The weights of one model, taken by name with their shapes checked. A model asks for every tensor it needs;
// afterwards check_all_used() turns any tensor it did not ask for into an error, so a checkpoint for a
// different configuration is never half-loaded.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nn/safetensors.h"

namespace anytok {

class Weights {
 public:
  explicit Weights(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const SafetensorsFile& file() const { return file_; }

  // Restricts this view to the names under `prefix` and drops the prefix from them, e.g. "model." or a full
  // multi-task checkpoint's "target_embedders.image.vqgan.". Tensors outside the scope are not expected.
  void scope(const std::string& prefix);
  // Every prefix under which `anchor` (a name the model surely has, such as "encoder.conv_in.weight") is stored,
  // at a dotted boundary, shortest first: one for a plain checkpoint, several where a file holds several models.
  std::vector<std::string> prefixes_of(std::string_view anchor) const;

  bool has(const std::string& name) const;
  std::vector<std::string> names() const;  // in scope, without the prefix

  // float32 tensor `name` (f16/bf16/f64 widened once), checked against `shape`.
  Tensor get(const std::string& name, const Shape& shape);
  // Same, for a tensor whose shape the model reads from the file.
  Tensor get(const std::string& name);

  // Throws Error naming the first tensor in scope that no get() asked for.
  void check_all_used() const;

 private:
  const TensorInfo& lookup(const std::string& name) const;

  SafetensorsFile file_;
  std::string prefix_;
  std::set<std::string> used_;
};

}  // namespace anytok
