#include "test_util.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace anytok::test {

ScratchDir::ScratchDir(const std::string& name) {
  dir_ = std::filesystem::temp_directory_path() / ("anytok-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

RunResult run_anytok(const std::string& args, const std::string& stdin_text) {
  return run_command(std::string("ANYTOK_MODELS='") + ANYTOK_MODELS_DIR + "' '" + ANYTOK_BINARY + "' " + args,
                     stdin_text);
}

RunResult run_command(const std::string& command_line, const std::string& stdin_text) {
  ScratchDir dir("run");
  write_text(dir.path("stdin"), stdin_text);
  // A group, so that redirections apply to the whole command line.
  const std::string command = "{ " + command_line + "\n} <'" + dir.path("stdin") + "' >'" + dir.path("stdout") +
                              "' 2>'" + dir.path("stderr") + "'";
  int status = std::system(command.c_str());
  RunResult r;
  // The shell reports a child killed by signal N as exit status 128 + N.
  if (WIFEXITED(status) && WEXITSTATUS(status) < 128) r.exit_code = WEXITSTATUS(status);
  r.out = read_text(dir.path("stdout"));
  r.err = read_text(dir.path("stderr"));
  return r;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace anytok::test
