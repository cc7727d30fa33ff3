#include "world/speech.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nn/error.h"

extern char** environ;

namespace anytok::world {
namespace {

constexpr int kMinWordsPerMinute = 80, kMaxWordsPerMinute = 450;  // espeak-ng's own range

// Closes a descriptor when it goes out of scope.
struct Descriptor {
  int fd = -1;
  ~Descriptor() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

}  // namespace

void speak_to_file(const std::string& text, const Voice& voice, const std::string& wav_path) {
  if (voice.words_per_minute < kMinWordsPerMinute || voice.words_per_minute > kMaxWordsPerMinute)
    throw Error(cat("espeak-ng speaks at ", kMinWordsPerMinute, " to ", kMaxWordsPerMinute, " words a minute, not ",
                    voice.words_per_minute));
  // The text goes through standard input, so that nothing in it can be taken for an option.
  int text_pipe[2], error_pipe[2];
  if (pipe2(text_pipe, O_CLOEXEC) != 0 || pipe2(error_pipe, O_CLOEXEC) != 0)
    throw Error(cat("cannot start espeak-ng: ", std::strerror(errno)));
  Descriptor text_read{text_pipe[0]}, text_write{text_pipe[1]}, error_read{error_pipe[0]}, error_write{error_pipe[1]};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, text_read.fd, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, error_write.fd, 2);
  const std::string rate = std::to_string(voice.words_per_minute);
  std::error_code ec;
  std::filesystem::remove(wav_path, ec);  // a file left from before must not pass for this one
  const char* argv[] = {"espeak-ng", "-v", voice.name.c_str(), "-s", rate.c_str(), "-w", wav_path.c_str(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "espeak-ng", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned == ENOENT) throw Error("the espeak-ng program is not installed (Debian package espeak-ng)");
  if (spawned != 0) throw Error(cat("cannot start espeak-ng: ", std::strerror(spawned)));
  text_read.close();
  error_write.close();
  for (size_t at = 0; at < text.size();) {
    const ssize_t n = write(text_write.fd, text.data() + at, text.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // espeak-ng stopped reading; its status says why
    at += static_cast<size_t>(n);
  }
  text_write.close();
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = read(error_read.fd, buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    message.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == '.')) message.pop_back();
  if (message.rfind("Error: ", 0) == 0) message.erase(0, 7);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(cat("espeak-ng (voice \"", voice.name, "\") failed", message.empty() ? "" : ": ", message));
  // espeak-ng exits with 0 even when it cannot write the file.
  if (!std::filesystem::is_regular_file(wav_path, ec) || std::filesystem::file_size(wav_path, ec) <= 44)
    throw Error(cat(wav_path, ": espeak-ng wrote no speech", message.empty() ? "" : " (", message,
                    message.empty() ? "" : ")"));
}

}  // namespace anytok::world
