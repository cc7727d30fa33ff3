#include "nn/model_config.h"

#include <filesystem>
#include <fstream>

#include "nn/error.h"

namespace anytok::config {

json load(const std::string& model_dir, const std::string& family, std::string& path) {
  path = (std::filesystem::path(model_dir) / "config.json").string();
  std::ifstream in(path);
  if (!in) throw Error(cat(path, ": cannot open (is ", model_dir, " a model directory?)"));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(cat(path, ": not valid JSON (", e.what(), ")"));
  }
  if (!j.is_object()) throw Error(cat(path, ": not a JSON object"));
  const json& found = j.contains("family") ? j["family"] : json();
  const std::string named = found.is_string() ? cat("'", found.get<std::string>(), "'") : found.is_null() ? "missing" : found.dump();
  if (!found.is_string() || found.get<std::string>() != family)
    throw Error(cat(path, ": family is ", named, ", expected '", family, "'"));
  return j;
}

namespace {
bool is_positive(const json& v) {
  return v.is_number_integer() && v.get<int64_t>() > 0 && v.get<int64_t>() <= (int64_t{1} << 20);
}
}  // namespace

int64_t positive(const json& j, const std::string& source, const char* key, int64_t fallback) {
  if (!j.contains(key)) return fallback;
  if (!is_positive(j[key])) throw Error(cat(source, ": '", key, "' must be a positive integer"));
  return j[key].get<int64_t>();
}

std::vector<int64_t> positive_list(const json& j, const std::string& source, const char* key,
                                   std::vector<int64_t> fallback, bool allow_empty) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_array()) throw Error(cat(source, ": '", key, "' must be a list of positive integers"));
  std::vector<int64_t> out;
  for (const auto& v : j[key]) {
    if (!is_positive(v)) throw Error(cat(source, ": '", key, "' must be a list of positive integers"));
    out.push_back(v.get<int64_t>());
  }
  if (out.empty() && !allow_empty) throw Error(cat(source, ": '", key, "' must not be empty"));
  return out;
}

double number(const json& j, const std::string& source, const char* key, double fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_number()) throw Error(cat(source, ": '", key, "' must be a number"));
  return j[key].get<double>();
}

bool boolean(const json& j, const std::string& source, const char* key, bool fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_boolean()) throw Error(cat(source, ": '", key, "' must be true or false"));
  return j[key].get<bool>();
}

std::string string(const json& j, const std::string& source, const char* key, const std::string& fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_string()) throw Error(cat(source, ": '", key, "' must be a string"));
  return j[key].get<std::string>();
}

}  // namespace anytok::config
