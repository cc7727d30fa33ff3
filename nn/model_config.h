// Reading a model directory's config.json: every field checked for its type and range, every error naming the
// file and the field, so that a wrong or hand-edited config is reported, not half-read.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace anytok::config {

using json = nlohmann::json;

// MODEL_DIR/config.json, which must be a JSON object whose "family" is `family`. `path` receives its path.
json load(const std::string& model_dir, const std::string& family, std::string& path);

// Field `key` of object j, or `fallback` when absent. `source` names the file in errors.
int64_t positive(const json& j, const std::string& source, const char* key, int64_t fallback);
std::vector<int64_t> positive_list(const json& j, const std::string& source, const char* key,
                                   std::vector<int64_t> fallback, bool allow_empty);
double number(const json& j, const std::string& source, const char* key, double fallback);
bool boolean(const json& j, const std::string& source, const char* key, bool fallback);
std::string string(const json& j, const std::string& source, const char* key, const std::string& fallback);

}  // namespace anytok::config
