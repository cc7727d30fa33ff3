#include "apps/indexed_dataset.h"

#include <cstring>
#include <filesystem>
#include <numeric>

#include "apps/durable_file.h"
#include "nn/error.h"

namespace anytok {
namespace {

constexpr std::string_view kMagic("MMIDIDX\0\0", 9);
constexpr uint64_t kVersion = 1;

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // the formats are little-endian, as is every machine anytok builds for
  out.append(bytes, sizeof(T));
}

template <typename T>
void put_all(std::string& out, const std::vector<T>& values) {
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

class Cursor {
 public:
  Cursor(std::string_view bytes, const std::string& where) : bytes_(bytes), where_(where) {}
  template <typename T>
  T take(const char* field) {
    need(sizeof(T), field);
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  template <typename T>
  std::vector<T> take_all(uint64_t count, const char* field) {
    if (count > (bytes_.size() - at_) / sizeof(T)) need(bytes_.size(), field);
    std::vector<T> values(count);
    std::memcpy(values.data(), bytes_.data() + at_, count * sizeof(T));
    at_ += count * sizeof(T);
    return values;
  }
  size_t left() const { return bytes_.size() - at_; }

 private:
  void need(size_t n, const char* field) const {
    if (bytes_.size() - at_ < n) throw Error(cat(where_, ": truncated in the ", field, " (", bytes_.size(), " bytes)"));
  }
  std::string_view bytes_;
  const std::string& where_;
  size_t at_ = 0;
};

}  // namespace

TokenDtype token_dtype_for(int64_t vocabulary_size) {
  return vocabulary_size < 65500 ? TokenDtype::UInt16 : TokenDtype::Int32;
}

int64_t token_bytes(TokenDtype dtype) { return dtype == TokenDtype::UInt16 ? 2 : 4; }

std::string_view token_dtype_name(TokenDtype dtype) { return dtype == TokenDtype::UInt16 ? "uint16" : "int32"; }

std::string_view modality_name(Modality modality) {
  switch (modality) {
    case Modality::Text: return "text";
    case Modality::Image: return "image";
    case Modality::Audio: return "audio";
    case Modality::Boxes: return "boxes";
    case Modality::Keypoints: return "keypoints";
    case Modality::Token: return "token";
  }
  return "unknown";
}

int64_t DatasetIndex::tokens() const { return std::accumulate(lengths.begin(), lengths.end(), int64_t{0}); }

void DatasetIndex::add_document(const std::vector<int32_t>& sequence_lengths, const std::vector<int8_t>& sequence_modes) {
  lengths.insert(lengths.end(), sequence_lengths.begin(), sequence_lengths.end());
  modes.insert(modes.end(), sequence_modes.begin(), sequence_modes.end());
  document_indices.push_back(static_cast<int64_t>(lengths.size()));
}

void DatasetIndex::append(const DatasetIndex& other) {
  if (other.dtype != dtype)
    throw Error(cat("cannot join a dataset of ", token_dtype_name(other.dtype), " ids to one of ", token_dtype_name(dtype)));
  const int64_t offset = static_cast<int64_t>(lengths.size());
  lengths.insert(lengths.end(), other.lengths.begin(), other.lengths.end());
  modes.insert(modes.end(), other.modes.begin(), other.modes.end());
  for (size_t i = 1; i < other.document_indices.size(); ++i) document_indices.push_back(offset + other.document_indices[i]);
}

std::string DatasetIndex::serialize() const {
  std::string out;
  out.reserve(34 + lengths.size() * 13 + document_indices.size() * 8);
  out.append(kMagic);
  put<uint64_t>(out, kVersion);
  put<uint8_t>(out, static_cast<uint8_t>(dtype));
  put<uint64_t>(out, lengths.size());
  put<uint64_t>(out, document_indices.size());
  put_all(out, lengths);
  std::vector<int64_t> pointers(lengths.size());
  int64_t at = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    pointers[i] = at;
    at += int64_t{lengths[i]} * token_bytes(dtype);
  }
  put_all(out, pointers);
  put_all(out, document_indices);
  put_all(out, modes);
  return out;
}

DatasetIndex DatasetIndex::parse(std::string_view bytes, uint64_t bin_bytes, const std::string& where) {
  Cursor in(bytes, where);
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    throw Error(cat(where, ": not a Megatron index (it does not start with MMIDIDX)"));
  in.take_all<char>(kMagic.size(), "header");
  if (const auto version = in.take<uint64_t>("version"); version != kVersion)
    throw Error(cat(where, ": index version ", version, ", only version 1 is known"));
  DatasetIndex index;
  const auto code = in.take<uint8_t>("dtype code");
  if (code != static_cast<uint8_t>(TokenDtype::UInt16) && code != static_cast<uint8_t>(TokenDtype::Int32))
    throw Error(cat(where, ": dtype code ", int{code}, " is not a token id type (8 uint16 or 4 int32)"));
  index.dtype = static_cast<TokenDtype>(code);
  const auto sequences = in.take<uint64_t>("sequence count");
  const auto document_entries = in.take<uint64_t>("document count");
  if (document_entries == 0) throw Error(cat(where, ": no document indices (even an empty dataset has the leading 0)"));
  index.lengths = in.take_all<int32_t>(sequences, "sequence lengths");
  const auto pointers = in.take_all<int64_t>(sequences, "sequence pointers");
  index.document_indices = in.take_all<int64_t>(document_entries, "document indices");
  index.modes = in.take_all<int8_t>(sequences, "sequence modes");
  if (in.left() != 0) throw Error(cat(where, ": ", in.left(), " bytes after the sequence modes"));

  int64_t at = 0;
  for (uint64_t i = 0; i < sequences; ++i) {
    if (index.lengths[i] < 0) throw Error(cat(where, ": sequence ", i, " has length ", index.lengths[i]));
    if (pointers[i] != at) throw Error(cat(where, ": sequence ", i, " points at byte ", pointers[i], ", expected ", at));
    if (index.modes[i] < 0 || index.modes[i] >= kModalities)
      throw Error(cat(where, ": sequence ", i, " has mode ", int{index.modes[i]}, ", not a known modality"));
    at += int64_t{index.lengths[i]} * token_bytes(index.dtype);
  }
  if (static_cast<uint64_t>(at) != bin_bytes)
    throw Error(cat(where, ": the sequences take ", at, " bytes, but the .bin holds ", bin_bytes));
  if (index.document_indices[0] != 0) throw Error(cat(where, ": the document indices do not start with 0"));
  for (size_t i = 1; i < index.document_indices.size(); ++i)
    if (index.document_indices[i] < index.document_indices[i - 1])
      throw Error(cat(where, ": document index ", i, " goes backwards"));
  if (index.document_indices.back() != static_cast<int64_t>(sequences))
    throw Error(cat(where, ": the last document ends at sequence ", index.document_indices.back(), " of ", sequences));
  return index;
}

DatasetIndex DatasetIndex::read(const std::string& prefix) {
  const std::string bin = prefix + ".bin";
  std::error_code error;
  const uintmax_t bin_bytes = std::filesystem::file_size(bin, error);
  if (error) throw Error(cat(bin, ": ", error.message()));
  return parse(read_whole_file(prefix + ".idx"), bin_bytes, prefix + ".idx");
}

}  // namespace anytok
