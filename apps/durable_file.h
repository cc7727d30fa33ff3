// Files for jobs that must survive being killed at any moment: appended output whose progress can be made
// durable and rolled back to a checkpoint, small files replaced atomically, and finished files moved to their
// final names by rename. Every failure (a full disk, a read-only folder, a vanished file) is an Error naming the
// file and the reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anytok {

class AppendFile {
 public:
  // Opens `path` for appending after cutting it to its first `keep` bytes; keep 0 starts an empty file. A file
  // shorter than `keep` is an Error: it no longer matches the checkpoint that named the size.
  AppendFile(std::string path, uint64_t keep);
  ~AppendFile();  // closes without syncing; what was not synced may be lost, which a checkpoint never relies on
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }  // bytes written so far, buffered ones included
  void write(const void* data, size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void sync();   // everything written so far reaches the disk
  void close();  // syncs and closes

 private:
  void flush();

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::vector<char> buffer_;
};

// Replaces `path` with `content` so that a reader sees the old file or the new one, never a mix: the content goes
// to PATH.tmp, is synced, and is renamed over PATH.
void write_file_atomically(const std::string& path, std::string_view content);

// Renames `from` to `to`, replacing `to`.
void rename_file(const std::string& from, const std::string& to);

// The whole file; Error when it cannot be read.
std::string read_whole_file(const std::string& path);

}  // namespace anytok
