// What every `anytok` command shares: option parsing with --help, the text model and vocabulary options, and
// JSON Lines output.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "decoders/audio_decoder.h"
#include "decoders/image_decoder.h"
#include "sequence/vocabulary_layout.h"
#include "tokenizers/audio_tokenizer.h"
#include "apps/token_record.h"
#include "tokenizers/image_io.h"
#include "tokenizers/image_preprocess.h"
#include "tokenizers/image_tokenizer.h"
#include "tokenizers/text_tokenizer.h"

namespace anytok {

namespace po = boost::program_options;

// Columns of `--help` output: wide enough that option descriptions stay on one or two lines.
constexpr unsigned kHelpWidth = 110;

struct Command {
  std::string name;
  std::string summary;                                // one line for `anytok --help`
  std::function<int(int argc, char** argv)> run;       // argv[0] is the command name
};

const std::vector<Command>& commands();

// Parses a command's options. Prints the usage and returns false for --help; throws Error on a usage error.
bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& options,
                   const po::positional_options_description& positional, po::variables_map& vm);

// --text-model, --image-model, --preprocess, --audio-model, --bandwidth, --vocab, --preset, --bins, --threads.
struct ModelOptions {
  std::string text_model;
  std::string image_model;
  std::string audio_model;
  std::optional<double> bandwidth;
  std::string preprocess;
  std::string vocab;
  std::string preset = "anytok";
  int64_t bins = 1000;
  int threads = 0;
  // Caps on what inputs may demand: generous, but finite, so that memory follows them and not a file's claims.
  int64_t max_image_pixels = kDefaultMaxImagePixels;
  double max_audio_seconds = kDefaultMaxAudioSeconds;
  int64_t max_tokens = kDefaultMaxTokens;

  void add_to(po::options_description& options);
  void apply() const;  // sizes the thread pool

  // The text model named by --text-model, or the shipped default.
  const TextTokenizer& text() const;
  // The image model directory named by --image-model, or the shipped default; throws Error when neither exists.
  std::string image_model_dir() const;
  const VqganConfig& image_config() const;
  const ImageTokenizer& image_tokenizer() const;
  const ImageDecoder& image_decoder() const;
  // --preprocess, else the image model's own choice.
  ImagePreprocess image_preprocess() const;
  // The audio model directory named by --audio-model, or the shipped default; throws Error when neither exists.
  std::string audio_model_dir() const;
  const EncodecConfig& audio_config() const;
  AudioTokenizer& audio_tokenizer() const;
  AudioDecoder& audio_decoder() const;
  // The layout from --vocab, or --preset filled with the sizes of the models in use.
  const VocabularyLayout& layout() const;

  // Whether an image (audio) model is named or shipped.
  bool image_model_available() const;
  bool audio_model_available() const;

 private:

  mutable std::unique_ptr<TextTokenizer> text_;
  mutable std::unique_ptr<VqganConfig> image_config_;
  mutable std::unique_ptr<ImageTokenizer> image_tokenizer_;
  mutable std::unique_ptr<ImageDecoder> image_decoder_;
  mutable std::unique_ptr<EncodecConfig> audio_config_;
  mutable std::unique_ptr<AudioTokenizer> audio_tokenizer_;
  mutable std::unique_ptr<AudioDecoder> audio_decoder_;
  mutable std::unique_ptr<VocabularyLayout> layout_;
};

// What an input file holds, by its extension: .txt .text .md text; .png .jpg .jpeg .webp .bmp .tif .tiff images;
// .wav .flac .ogg .mp3 audio (any case).
enum class FileKind { Text, Image, Audio, Unknown };
FileKind kind_of(const std::string& path);

// Space- or comma-separated integer ids; `option` names the source in errors.
std::vector<int64_t> parse_ids(const std::string& text, const std::string& option);

// Standard output, or the file named by -o.
class Output {
 public:
  explicit Output(const std::string& path);
  std::ostream& stream() { return *out_; }
  void close();  // throws Error when the data could not all be written

 private:
  std::string path_;
  std::unique_ptr<std::ostream> file_;
  std::ostream* out_;
};

}  // namespace anytok
