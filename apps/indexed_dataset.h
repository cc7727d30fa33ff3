// Megatron-LM's MMapIndexedDataset, multimodal flavour: PREFIX.bin holds every sequence's token ids back to back;
// PREFIX.idx describes them. The .idx layout, all little-endian:
//   "MMIDIDX\0\0"                  9 bytes
//   version                        u64, 1
//   dtype code                     u8: 8 (uint16) or 4 (int32), the width of each id in .bin
//   sequence count S               u64
//   document index count D + 1     u64
//   sequence lengths               i32[S], in ids
//   sequence pointers              i64[S], byte offsets into .bin (0, then running sums of length·width)
//   document indices               i64[D + 1]: 0, then the sequence count after each document
//   sequence modes                 i8[S], each sequence's modality (see Modality)
// Megatron reads it with IndexedDataset(prefix, multimodal=True).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anytok {

// Megatron's DType codes for the two widths used. uint16 serves vocabularies under 65 500 ids, as Megatron's
// DType.optimal_dtype chooses; anything larger takes int32.
enum class TokenDtype : uint8_t { Int32 = 4, UInt16 = 8 };
TokenDtype token_dtype_for(int64_t vocabulary_size);
int64_t token_bytes(TokenDtype dtype);
std::string_view token_dtype_name(TokenDtype dtype);  // "uint16" | "int32"

// The mode of each sequence. Text 0 and image 1 are what Megatron's own multimodal preprocessing writes.
enum class Modality : int8_t { Text = 0, Image = 1, Audio = 2, Boxes = 3, Keypoints = 4, Token = 5 };
constexpr int kModalities = 6;
// "text", "image", "audio", "boxes", "keypoints", "token" (a task token or other named id)
std::string_view modality_name(Modality modality);

struct DatasetIndex {
  TokenDtype dtype = TokenDtype::Int32;
  std::vector<int32_t> lengths;                // [S]
  std::vector<int8_t> modes;                   // [S]
  std::vector<int64_t> document_indices{0};    // [D + 1]

  int64_t documents() const { return static_cast<int64_t>(document_indices.size()) - 1; }
  int64_t tokens() const;

  // One document of sequences with these lengths and modes.
  void add_document(const std::vector<int32_t>& lengths, const std::vector<int8_t>& modes);
  // `other`'s documents after this one's, as Megatron's IndexedDatasetBuilder.add_index: its document indices
  // shift by this index's sequence count.
  void append(const DatasetIndex& other);

  std::string serialize() const;  // the .idx bytes
  // Parses .idx bytes, checking every field against the others and `bin_bytes` (the .bin's size), and names
  // the first that is wrong; `where` names the file in messages.
  static DatasetIndex parse(std::string_view bytes, uint64_t bin_bytes, const std::string& where);
  static DatasetIndex read(const std::string& prefix);  // PREFIX.idx, checked against PREFIX.bin
};

}  // namespace anytok
