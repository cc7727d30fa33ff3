#include "apps/model_paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "nn/error.h"

namespace fs = std::filesystem;

namespace anytok {

std::string models_dir() {
  if (const char* env = std::getenv("ANYTOK_MODELS"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (const char* candidate : {"../models", "../share/anytok/models"}) {
      fs::path dir = exe.parent_path() / candidate;
      if (fs::is_directory(dir, ec)) return fs::weakly_canonical(dir, ec).string();
    }
  return ANYTOK_SOURCE_MODELS_DIR;
}

std::string default_model(const std::string& relative, const std::string& option) {
  fs::path path = fs::path(models_dir()) / relative;
  if (!fs::exists(path))
    throw Error(cat("the default model ", path.string(), " is missing; name one with ", option,
                    " or set ANYTOK_MODELS to the folder of the shipped models"));
  return path.string();
}

}  // namespace anytok
