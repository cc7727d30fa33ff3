#include "apps/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nn/error.h"

namespace anytok {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

[[noreturn]] void fail(const std::string& path, const char* doing, int err) {
  const bool full = err == ENOSPC || err == EDQUOT;
  throw Error(cat(path, ": ", doing, " failed: ", std::strerror(err),
                  full ? "; the last checkpoint stays valid, so the same command resumes once there is room" : ""));
}

void sync_folder_of(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = std::filesystem::path(".");
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // some file systems refuse; the rename itself has happened
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AppendFile::AppendFile(std::string path, uint64_t keep) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, "opening for writing", errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(path_, "stat", errno);
  if (static_cast<uint64_t>(st.st_size) < keep) {
    ::close(fd_);
    fd_ = -1;
    throw Error(cat(path_, ": holds ", st.st_size, " bytes, but the checkpoint recorded ", keep,
                    "; the partial output was changed by something else (remove the checkpoint to start over)"));
  }
  if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0) fail(path_, "truncating", errno);
  if (::lseek(fd_, static_cast<off_t>(keep), SEEK_SET) < 0) fail(path_, "seeking", errno);
  size_ = keep;
  buffer_.reserve(kBufferBytes);
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) {
    try {
      flush();
    } catch (const Error&) {
    }
    ::close(fd_);
  }
}

void AppendFile::write(const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  size_ += bytes;
  if (buffer_.size() + bytes > kBufferBytes) flush();
  if (bytes >= kBufferBytes) {
    while (bytes > 0) {
      const ssize_t n = ::write(fd_, p, bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(path_, "writing", n < 0 ? errno : EIO);
      p += n;
      bytes -= static_cast<size_t>(n);
    }
    return;
  }
  buffer_.insert(buffer_.end(), p, p + bytes);
}

void AppendFile::flush() {
  const char* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path_, "writing", n < 0 ? errno : EIO);
    p += n;
    left -= static_cast<size_t>(n);
  }
  buffer_.clear();
}

void AppendFile::sync() {
  flush();
  if (::fdatasync(fd_) != 0) fail(path_, "syncing", errno);
}

void AppendFile::close() {
  if (fd_ < 0) return;
  sync();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(path_, "closing", errno);
}

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string temporary = path + ".tmp";
  {
    AppendFile file(temporary, 0);
    file.write(content);
    file.close();
  }
  rename_file(temporary, path);
}

void rename_file(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) fail(to, cat("renaming ", from, " to it").c_str(), errno);
  sync_folder_of(to);
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(cat(path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(cat(path, ": read failed"));
  return text.str();
}

}  // namespace anytok
