// A whole file mapped read-only into memory. Pages are mapped private and writable, so a tensor view over them
// that someone modifies copies the touched page instead of faulting; the file itself never changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace anytok {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws Error naming the file when it cannot be opened or mapped
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::string path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace anytok
