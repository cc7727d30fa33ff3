#include "tokenizers/text_tokenizer.h"

#include <sentencepiece_processor.h>

#include "nn/error.h"

namespace anytok {

TextTokenizer::TextTokenizer(const std::string& model_path)
    : path_(model_path), sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  auto status = sp_->Load(model_path);
  if (!status.ok()) throw Error(cat(model_path, ": not a usable SentencePiece model (", status.ToString(), ")"));
}

TextTokenizer::~TextTokenizer() = default;
TextTokenizer::TextTokenizer(TextTokenizer&&) noexcept = default;
TextTokenizer& TextTokenizer::operator=(TextTokenizer&&) noexcept = default;

int64_t TextTokenizer::size() const { return sp_->GetPieceSize(); }

std::vector<int64_t> TextTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  auto status = sp_->Encode(text, &ids);
  if (!status.ok()) throw Error(cat(path_, ": cannot encode text (", status.ToString(), ")"));
  return {ids.begin(), ids.end()};
}

std::string TextTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> pieces;
  pieces.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= size()) throw Error(cat("text piece id ", id, " is outside the text model's 0..", size() - 1));
    pieces.push_back(static_cast<int>(id));
  }
  std::string text;
  auto status = sp_->Decode(pieces, &text);
  if (!status.ok()) throw Error(cat(path_, ": cannot decode pieces (", status.ToString(), ")"));
  return text;
}

std::string TextTokenizer::piece(int64_t id) const {
  if (id < 0 || id >= size()) throw Error(cat("text piece id ", id, " is outside the text model's 0..", size() - 1));
  return sp_->IdToPiece(static_cast<int>(id));
}

int64_t TextTokenizer::id_of(const std::string& piece) const {
  int id = sp_->PieceToId(piece);
  // PieceToId answers unk for unknown pieces; only the unk piece itself may map there.
  return id == sp_->unk_id() && piece != sp_->IdToPiece(id) ? -1 : id;
}

int64_t TextTokenizer::pad_id() const { return sp_->pad_id(); }
int64_t TextTokenizer::unk_id() const { return sp_->unk_id(); }
int64_t TextTokenizer::bos_id() const { return sp_->bos_id(); }
int64_t TextTokenizer::eos_id() const { return sp_->eos_id(); }

}  // namespace anytok
