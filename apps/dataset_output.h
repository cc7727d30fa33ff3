// The files one `anytok preprocess` run writes under PREFIX (under a shard's prefix when ranks share the work):
//   --format megatron   D.bin and D.idx for each dataset D: PREFIX for documents, PREFIX_inputs and
//                       PREFIX_targets for seq2seq pairs (aligned document by document)
//   --format jsonl      PREFIX.jsonl, one line per example holding its `anytok tokenize` records
//   always              PREFIX.errors.jsonl, one line per bad example: {"line", "id", "reason"}
//                       PREFIX.json, the sidecar, written last: its presence says the run is complete
// Until the end every file carries the suffix .partial, so a half-written dataset never has the final name.
// PREFIX.checkpoint records, at example boundaries, how many bytes of each partial file are valid and which
// manifest line comes next; after a crash or kill -9 the same command cuts the files back to those sizes and goes
// on, so the result is byte for byte what an uninterrupted run writes. Megatron's .idx is rebuilt from
// D.journal.partial, 8 bytes per sequence (i32 length, i8 mode, u8 1 when it ends a document, 2 zero bytes).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "apps/durable_file.h"
#include "apps/indexed_dataset.h"

namespace anytok {

enum class DatasetFormat { Megatron, Jsonl };
DatasetFormat parse_dataset_format(const std::string& name);  // "megatron" | "jsonl"

struct TokenSequence {
  std::vector<int64_t> tokens;
  Modality modality = Modality::Text;
};

// The dataset prefixes of a run under `prefix`: {prefix}, or {prefix_inputs, prefix_targets} for pairs.
std::vector<std::string> dataset_prefixes(const std::string& prefix, bool seq2seq);

class DatasetOutput {
 public:
  // `settings` describe the run completely (manifest, models, options, layout, shard); a checkpoint made under
  // other settings is never resumed.
  DatasetOutput(std::string prefix, DatasetFormat format, bool seq2seq, TokenDtype dtype, nlohmann::json settings);
  ~DatasetOutput();

  const std::string& prefix() const { return prefix_; }
  std::string sidecar_path() const { return prefix_ + ".json"; }
  std::string errors_path() const { return prefix_ + ".errors.jsonl"; }
  // Whether the sidecar exists; Error when it does but was made with other settings. A run killed after
  // writing its sidecar may have left its checkpoint and journals: they are removed here.
  bool complete();
  void discard();          // removes the sidecar and any checkpoint, so that the run starts over

  // Opens the partial files, resuming from a checkpoint made with the same settings; returns the manifest line
  // (0-based) to go on from, or `first_line` when starting afresh, or −1 when the checkpoint was of a run killed
  // while publishing, which this call completed. An unfinished run with other settings is an Error that says how
  // to go on.
  int64_t open(int64_t first_line);

  // One good example: for megatron, a document per dataset (`documents` holds 1 or 2 lists of sequences); for
  // jsonl, `record` is its line.
  void write_example(const std::vector<std::vector<TokenSequence>>& documents, const nlohmann::json& record);
  void write_error(int64_t line, const nlohmann::json& id, const std::string& reason);
  // A finished shard's files and counts after everything written so far (for merging ranks).
  void append_shard(const std::string& shard_prefix, const nlohmann::json& shard_counts);

  // Makes everything written durable, then records that the manifest goes on at `next_line`.
  void checkpoint(int64_t next_line);
  // Writes the indices, then gives every file its final name and writes the sidecar.
  void finish(int64_t lines);

  // {"examples", "errors", "sequences": {modality: n}, "tokens": [n per file]} so far; "lines" once finished.
  const nlohmann::json& counts() const { return counts_; }
  int64_t examples() const { return counts_["examples"].get<int64_t>(); }
  int64_t errors() const { return counts_["errors"].get<int64_t>(); }

  // The sidecar of a finished run: its settings, and its counts under "counts".
  static nlohmann::json make_sidecar(const nlohmann::json& settings, const nlohmann::json& counts);

 private:
  std::string checkpoint_path() const { return prefix_ + ".checkpoint"; }
  std::vector<std::pair<std::string, std::string>> partial_files() const;  // (partial, final) pairs to publish
  void publish();
  void remove_leftovers();  // the checkpoint and journals of a run whose sidecar is written
  void count(Modality modality, size_t file, int64_t tokens, int64_t sequences);

  std::string prefix_;
  DatasetFormat format_;
  std::vector<std::string> datasets_;
  TokenDtype dtype_;
  nlohmann::json settings_;
  nlohmann::json counts_;
  std::vector<DatasetIndex> indices_;
  std::vector<std::unique_ptr<AppendFile>> bins_, journals_;
  std::unique_ptr<AppendFile> records_, errors_;
  std::vector<char> scratch_;
};

}  // namespace anytok
