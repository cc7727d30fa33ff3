#include "apps/dataset_output.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "nn/error.h"

namespace anytok {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kJournalRecord = 8;
constexpr int kCheckpointVersion = 1;

std::string basename(const std::string& path) { return fs::path(path).filename().string(); }

// The first top-level key whose value differs, for messages.
std::string first_difference(const json& a, const json& b) {
  for (const auto& [key, value] : a.items())
    if (!b.contains(key) || b[key] != value) return key;
  for (const auto& [key, value] : b.items())
    if (!a.contains(key)) return key;
  return "?";
}

void remove_if_present(const std::string& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

}  // namespace

DatasetFormat parse_dataset_format(const std::string& name) {
  if (name == "megatron") return DatasetFormat::Megatron;
  if (name == "jsonl") return DatasetFormat::Jsonl;
  throw Error(cat("unknown --format '", name, "' (use megatron or jsonl)"));
}

std::vector<std::string> dataset_prefixes(const std::string& prefix, bool seq2seq) {
  if (seq2seq) return {prefix + "_inputs", prefix + "_targets"};
  return {prefix};
}

DatasetOutput::DatasetOutput(std::string prefix, DatasetFormat format, bool seq2seq, TokenDtype dtype, json settings)
    : prefix_(std::move(prefix)), format_(format), dtype_(dtype), settings_(std::move(settings)) {
  if (format_ == DatasetFormat::Megatron) datasets_ = dataset_prefixes(prefix_, seq2seq);
  json names = json::array();
  for (const auto& d : datasets_) names.push_back(basename(d));
  if (format_ == DatasetFormat::Jsonl) names.push_back(basename(prefix_ + ".jsonl"));
  settings_["files"] = names;
  settings_["format"] = format_ == DatasetFormat::Megatron ? "megatron" : "jsonl";
  counts_ = {{"examples", 0}, {"errors", 0}, {"sequences", json::object()}, {"tokens", json::array()}};
  for (int m = 0; m < kModalities; ++m) counts_["sequences"][std::string(modality_name(static_cast<Modality>(m)))] = 0;
  for (size_t d = 0; d < std::max<size_t>(datasets_.size(), 1); ++d) counts_["tokens"].push_back(0);
}

DatasetOutput::~DatasetOutput() = default;

bool DatasetOutput::complete() {
  if (!fs::exists(sidecar_path())) return false;
  json sidecar;
  try {
    sidecar = json::parse(read_whole_file(sidecar_path()));
  } catch (const json::exception& e) {
    throw Error(cat(sidecar_path(), ": unreadable (", e.what(), "); pass --overwrite to redo the run"));
  }
  sidecar.erase("counts");
  if (sidecar != settings_)
    throw Error(cat(sidecar_path(), ": a finished run made with other settings (its \"", first_difference(sidecar, settings_),
                    "\" differs); pass --overwrite to replace it"));
  remove_leftovers();
  return true;
}

void DatasetOutput::remove_leftovers() {
  for (const auto& d : datasets_) remove_if_present(d + ".journal.partial");
  remove_if_present(checkpoint_path());
}

void DatasetOutput::discard() {
  remove_if_present(sidecar_path());
  remove_if_present(checkpoint_path());
}

std::vector<std::pair<std::string, std::string>> DatasetOutput::partial_files() const {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& d : datasets_) {
    files.emplace_back(d + ".bin.partial", d + ".bin");
    files.emplace_back(d + ".idx.partial", d + ".idx");
  }
  if (format_ == DatasetFormat::Jsonl) files.emplace_back(prefix_ + ".jsonl.partial", prefix_ + ".jsonl");
  files.emplace_back(errors_path() + ".partial", errors_path());
  return files;
}

int64_t DatasetOutput::open(int64_t first_line) {
  if (const fs::path folder = fs::path(prefix_).parent_path(); !folder.empty()) {
    std::error_code error;
    fs::create_directories(folder, error);
    if (error) throw Error(cat(folder.string(), ": cannot create the output folder (", error.message(), ")"));
  }
  json bytes = json::object();
  int64_t next_line = first_line;
  if (fs::exists(checkpoint_path())) {
    json checkpoint;
    try {
      checkpoint = json::parse(read_whole_file(checkpoint_path()));
      if (checkpoint.value("version", 0) != kCheckpointVersion) throw Error("unknown checkpoint version");
    } catch (const std::exception& e) {
      throw Error(cat(checkpoint_path(), ": unreadable (", e.what(), "); pass --overwrite to start over"));
    }
    if (checkpoint["settings"] != settings_)
      throw Error(cat(checkpoint_path(), ": an unfinished run made with other settings (its \"",
                      first_difference(checkpoint["settings"], settings_),
                      "\" differs); run that command again to finish it, or pass --overwrite to start over"));
    counts_ = checkpoint["counts"];
    if (checkpoint.value("finished", false)) {
      // Killed while publishing: every file is written, only the renames and the sidecar may be missing.
      publish();
      return -1;
    }
    bytes = checkpoint["bytes"];
    next_line = checkpoint["next_line"].get<int64_t>();
  }
  auto open_file = [&](const std::string& key, const std::string& path) {
    return std::make_unique<AppendFile>(path, bytes.value(key, uint64_t{0}));
  };
  indices_.assign(datasets_.size(), DatasetIndex{});
  bins_.clear();
  journals_.clear();
  for (size_t d = 0; d < datasets_.size(); ++d) {
    indices_[d].dtype = dtype_;
    bins_.push_back(open_file(cat("bin", d), datasets_[d] + ".bin.partial"));
    journals_.push_back(open_file(cat("journal", d), datasets_[d] + ".journal.partial"));
    // The index so far, from the journal's records.
    const std::string journal = read_whole_file(journals_[d]->path());
    if (journal.size() % kJournalRecord != 0) throw Error(cat(journals_[d]->path(), ": not a whole number of records"));
    std::vector<int32_t> lengths;
    std::vector<int8_t> modes;
    for (size_t at = 0; at < journal.size(); at += kJournalRecord) {
      int32_t length;
      std::memcpy(&length, journal.data() + at, 4);
      lengths.push_back(length);
      modes.push_back(static_cast<int8_t>(journal[at + 4]));
      if (journal[at + 5]) {
        indices_[d].add_document(lengths, modes);
        lengths.clear();
        modes.clear();
      }
    }
    if (!lengths.empty()) throw Error(cat(journals_[d]->path(), ": ends inside a document"));
  }
  if (format_ == DatasetFormat::Jsonl) records_ = open_file("records", prefix_ + ".jsonl.partial");
  errors_ = open_file("errors", errors_path() + ".partial");
  return next_line;
}

void DatasetOutput::count(Modality modality, size_t file, int64_t tokens, int64_t sequences) {
  json& n = counts_["sequences"][std::string(modality_name(modality))];
  n = n.get<int64_t>() + sequences;
  counts_["tokens"][file] = counts_["tokens"][file].get<int64_t>() + tokens;
}

void DatasetOutput::write_example(const std::vector<std::vector<TokenSequence>>& documents, const json& record) {
  if (format_ == DatasetFormat::Jsonl) {
    records_->write(record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    for (const auto& document : documents)
      for (const auto& s : document) count(s.modality, 0, static_cast<int64_t>(s.tokens.size()), 1);
  } else {
    if (documents.size() != datasets_.size())
      throw Error(cat("an example of ", documents.size(), " documents for ", datasets_.size(), " datasets"));
    const size_t width = static_cast<size_t>(token_bytes(dtype_));
    const int64_t limit = dtype_ == TokenDtype::UInt16 ? UINT16_MAX : INT32_MAX;
    for (size_t d = 0; d < documents.size(); ++d) {
      std::vector<int32_t> lengths;
      std::vector<int8_t> modes;
      for (size_t i = 0; i < documents[d].size(); ++i) {
        const TokenSequence& s = documents[d][i];
        scratch_.resize(s.tokens.size() * width);
        for (size_t t = 0; t < s.tokens.size(); ++t) {
          const int64_t id = s.tokens[t];
          if (id < 0 || id > limit) throw Error(cat("token id ", id, " does not fit the dataset's ", token_dtype_name(dtype_)));
          const uint16_t narrow = static_cast<uint16_t>(id);
          const int32_t wide = static_cast<int32_t>(id);
          std::memcpy(scratch_.data() + width * t, width == 2 ? static_cast<const void*>(&narrow) : &wide, width);
        }
        bins_[d]->write(scratch_.data(), scratch_.size());
        char journal[kJournalRecord] = {};
        const int32_t length = static_cast<int32_t>(s.tokens.size());
        std::memcpy(journal, &length, 4);
        journal[4] = static_cast<char>(s.modality);
        journal[5] = i + 1 == documents[d].size() ? 1 : 0;
        journals_[d]->write(journal, kJournalRecord);
        lengths.push_back(length);
        modes.push_back(static_cast<int8_t>(s.modality));
        count(s.modality, d, length, 1);
      }
      indices_[d].add_document(lengths, modes);
    }
  }
  counts_["examples"] = examples() + 1;
}

void DatasetOutput::append_shard(const std::string& shard_prefix, const json& shard_counts) {
  auto copy = [](const std::string& from, AppendFile& to) {
    std::ifstream in(from, std::ios::binary);
    if (!in) throw Error(cat(from, ": cannot open"));
    std::vector<char> block(size_t{1} << 20);
    while (in) {
      in.read(block.data(), static_cast<std::streamsize>(block.size()));
      if (in.gcount() > 0) to.write(block.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw Error(cat(from, ": read failed"));
  };
  const std::vector<std::string> shard_datasets =
      format_ == DatasetFormat::Megatron ? dataset_prefixes(shard_prefix, datasets_.size() == 2) : std::vector<std::string>{};
  for (size_t d = 0; d < datasets_.size(); ++d) {
    const DatasetIndex index = DatasetIndex::read(shard_datasets[d]);
    if (index.dtype != dtype_)
      throw Error(cat(shard_datasets[d], ".idx: holds ", token_dtype_name(index.dtype), " ids, the sidecar says ",
                      token_dtype_name(dtype_)));
    indices_[d].append(index);
    copy(shard_datasets[d] + ".bin", *bins_[d]);
  }
  if (records_) copy(shard_prefix + ".jsonl", *records_);
  copy(shard_prefix + ".errors.jsonl", *errors_);
  try {
    counts_["examples"] = examples() + shard_counts.at("examples").get<int64_t>();
    counts_["errors"] = errors() + shard_counts.at("errors").get<int64_t>();
    for (const auto& [modality, n] : shard_counts.at("sequences").items()) {
      json& total = counts_["sequences"].at(modality);
      total = total.get<int64_t>() + n.get<int64_t>();
    }
    for (size_t f = 0; f < counts_["tokens"].size(); ++f)
      counts_["tokens"][f] = counts_["tokens"][f].get<int64_t>() + shard_counts.at("tokens").at(f).get<int64_t>();
  } catch (const json::exception& e) {
    throw Error(cat(shard_prefix, ".json: malformed counts (", e.what(), ")"));
  }
}

void DatasetOutput::write_error(int64_t line, const json& id, const std::string& reason) {
  const json entry = {{"line", line}, {"id", id}, {"reason", reason}};
  errors_->write(entry.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  counts_["errors"] = errors() + 1;
}

void DatasetOutput::checkpoint(int64_t next_line) {
  json bytes = json::object();
  for (size_t d = 0; d < datasets_.size(); ++d) {
    bins_[d]->sync();
    journals_[d]->sync();
    bytes[cat("bin", d)] = bins_[d]->size();
    bytes[cat("journal", d)] = journals_[d]->size();
  }
  if (records_) {
    records_->sync();
    bytes["records"] = records_->size();
  }
  errors_->sync();
  bytes["errors"] = errors_->size();
  const json checkpoint = {{"version", kCheckpointVersion}, {"settings", settings_}, {"next_line", next_line},
                           {"bytes", bytes}, {"counts", counts_}};
  write_file_atomically(checkpoint_path(), checkpoint.dump() + "\n");
}

void DatasetOutput::finish(int64_t lines) {
  for (size_t d = 0; d < datasets_.size(); ++d) {
    AppendFile index(datasets_[d] + ".idx.partial", 0);
    index.write(indices_[d].serialize());
    index.close();
    bins_[d]->close();
    journals_[d]->close();
  }
  if (records_) records_->close();
  errors_->close();
  counts_["lines"] = lines;
  const json checkpoint = {{"version", kCheckpointVersion}, {"settings", settings_}, {"finished", true},
                           {"counts", counts_}};
  write_file_atomically(checkpoint_path(), checkpoint.dump() + "\n");
  publish();
}

void DatasetOutput::publish() {
  for (const auto& [partial, final_name] : partial_files()) {
    if (fs::exists(partial))
      rename_file(partial, final_name);
    else if (!fs::exists(final_name))
      throw Error(cat(partial, ": missing, though the checkpoint says the run finished; pass --overwrite to start over"));
  }
  write_file_atomically(sidecar_path(), make_sidecar(settings_, counts_).dump(2) + "\n");
  remove_leftovers();
}

json DatasetOutput::make_sidecar(const json& settings, const json& counts) {
  json sidecar = settings;
  sidecar["counts"] = counts;
  return sidecar;
}

}  // namespace anytok
