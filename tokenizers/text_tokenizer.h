// Text ↔ SentencePiece pieces. Loads any SentencePiece .model file: the shipped default, LLaMA's, T5's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace anytok {

class TextTokenizer {
 public:
  explicit TextTokenizer(const std::string& model_path);  // throws Error naming the file
  ~TextTokenizer();
  TextTokenizer(TextTokenizer&&) noexcept;
  TextTokenizer& operator=(TextTokenizer&&) noexcept;

  const std::string& path() const { return path_; }
  int64_t size() const;  // number of pieces: ids are 0 .. size()−1

  // Piece ids of `text`, without bos/eos.
  std::vector<int64_t> encode(const std::string& text) const;
  // Text of piece ids; throws Error on an id outside 0 .. size()−1.
  std::string decode(const std::vector<int64_t>& ids) const;

  std::string piece(int64_t id) const;
  int64_t id_of(const std::string& piece) const;  // −1 when the model has no such piece
  // Special ids as the model defines them; −1 where it has none.
  int64_t pad_id() const;
  int64_t unk_id() const;
  int64_t bos_id() const;
  int64_t eos_id() const;

 private:
  std::string path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace anytok
