#include "apps/command.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/model_paths.h"
#include "nn/error.h"
#include "nn/thread_pool.h"

namespace anytok {

bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& options,
                   const po::positional_options_description& positional, po::variables_map& vm) {
  po::options_description all = options;
  all.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(cat(e.what(), " (see anytok ", argv[0], " --help)"));
  }
  return true;
}

void ModelOptions::add_to(po::options_description& options) {
  options.add_options()
      ("text-model", po::value(&text_model)->value_name("FILE"),
       "SentencePiece .model file (default: the shipped models/text/tokenizer.model)")
      ("image-model", po::value(&image_model)->value_name("DIR"),
       "VQ-GAN model directory: config.json + model.safetensors (default: the shipped models/image)")
      ("preprocess", po::value(&preprocess)->value_name("NAME"),
       "how images reach the model's resolution: taming (resize the short side, centre crop), unified-io-2 "
       "(fit inside, pad) or none (as given; sides must be multiples of the model's factor). Default: the "
       "model's config.json, else taming")
      ("audio-model", po::value(&audio_model)->value_name("DIR"),
       "EnCodec model directory: config.json + model.safetensors (default: the shipped models/audio)")
      ("bandwidth", po::value<double>()->value_name("KBPS")->notifier([this](double kbps) { bandwidth = kbps; }),
       "audio bandwidth in kbps, one of the model's target bandwidths; it sets the codebooks used (default: the "
       "model's config.json)")
      ("vocab", po::value(&vocab)->value_name("FILE"),
       "vocabulary layout JSON, as `anytok vocab --json` writes it (overrides --preset)")
      ("preset", po::value(&preset)->value_name("NAME")->default_value("anytok"),
       "vocabulary layout preset: anytok, unified-io-2 or anygpt")
      ("bins", po::value(&bins)->value_name("N")->default_value(1000), "location bins for boxes and keypoints")
      ("threads", po::value(&threads)->value_name("N")->default_value(0), "worker threads (0: one per core)")
      ("max-image-pixels", po::value(&max_image_pixels)->value_name("N")->default_value(kDefaultMaxImagePixels),
       "refuse images whose header claims more pixels (width × height)")
      ("max-audio-seconds", po::value(&max_audio_seconds)->value_name("S")->default_value(kDefaultMaxAudioSeconds),
       "refuse audio files whose header claims a longer duration")
      ("max-tokens", po::value(&max_tokens)->value_name("N")->default_value(kDefaultMaxTokens),
       "refuse token records (and generate inputs and lengths) of more ids or codes");
}

void ModelOptions::apply() const {
  if (max_image_pixels < 1 || !(max_audio_seconds > 0) || max_tokens < 1)
    throw Error("--max-image-pixels, --max-audio-seconds and --max-tokens must be positive");
  ThreadPool::set_threads(threads);
}

const TextTokenizer& ModelOptions::text() const {
  if (!text_)
    text_ = std::make_unique<TextTokenizer>(
        text_model.empty() ? default_model("text/tokenizer.model", "--text-model") : text_model);
  return *text_;
}

std::string ModelOptions::image_model_dir() const {
  return image_model.empty() ? default_model("image", "--image-model") : image_model;
}

bool ModelOptions::image_model_available() const {
  return !image_model.empty() || std::filesystem::exists(std::filesystem::path(models_dir()) / "image");
}

std::string ModelOptions::audio_model_dir() const {
  return audio_model.empty() ? default_model("audio", "--audio-model") : audio_model;
}

bool ModelOptions::audio_model_available() const {
  return !audio_model.empty() || std::filesystem::exists(std::filesystem::path(models_dir()) / "audio");
}

const EncodecConfig& ModelOptions::audio_config() const {
  if (!audio_config_) audio_config_ = std::make_unique<EncodecConfig>(EncodecConfig::load(audio_model_dir()));
  return *audio_config_;
}

AudioTokenizer& ModelOptions::audio_tokenizer() const {
  if (!audio_tokenizer_) audio_tokenizer_ = std::make_unique<AudioTokenizer>(audio_model_dir(), max_audio_seconds);
  return *audio_tokenizer_;
}

AudioDecoder& ModelOptions::audio_decoder() const {
  if (!audio_decoder_) audio_decoder_ = std::make_unique<AudioDecoder>(audio_model_dir());
  return *audio_decoder_;
}

const VqganConfig& ModelOptions::image_config() const {
  if (!image_config_) image_config_ = std::make_unique<VqganConfig>(VqganConfig::load(image_model_dir()));
  return *image_config_;
}

const ImageTokenizer& ModelOptions::image_tokenizer() const {
  if (!image_tokenizer_) image_tokenizer_ = std::make_unique<ImageTokenizer>(image_model_dir());
  return *image_tokenizer_;
}

const ImageDecoder& ModelOptions::image_decoder() const {
  if (!image_decoder_) image_decoder_ = std::make_unique<ImageDecoder>(image_model_dir());
  return *image_decoder_;
}

ImagePreprocess ModelOptions::image_preprocess() const {
  return parse_image_preprocess(preprocess.empty() ? image_config().preprocess : preprocess);
}

const VocabularyLayout& ModelOptions::layout() const {
  if (layout_) return *layout_;
  if (!vocab.empty()) {
    layout_ = std::make_unique<VocabularyLayout>(VocabularyLayout::load(vocab));
    return *layout_;
  }
  ModelSizes sizes;
  sizes.location_bins = bins;
  // The upstream presets fix their text model (LLaMA's); ours takes whatever text model is in use.
  if (preset == "anytok" || !text_model.empty()) {
    const TextTokenizer& t = text();
    sizes.text_pieces = t.size();
    sizes.text_pad = t.pad_id();
    sizes.text_unk = t.unk_id();
    sizes.text_bos = t.bos_id();
    sizes.text_eos = t.eos_id();
  }
  if (image_model_available()) {
    const VqganConfig& image = image_config();
    sizes.image_codes = image.n_embed;
    sizes.image_grid_h = sizes.image_grid_w = image.resolution / image.factor();
  }
  if (audio_model_available()) {
    const EncodecConfig& audio = audio_config();
    sizes.audio_codebooks = audio.codebooks_for(bandwidth);
    sizes.audio_bins = audio.bins;
  }
  layout_ = std::make_unique<VocabularyLayout>(VocabularyLayout::preset(preset, sizes));
  return *layout_;
}

std::vector<int64_t> parse_ids(const std::string& text, const std::string& option) {
  std::vector<int64_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == ',' || text[i] == '\t' || text[i] == '\n') {
      ++i;
      continue;
    }
    size_t used = 0;
    int64_t id = 0;
    try {
      id = std::stoll(text.substr(i), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0) throw Error(cat(option, ": '", text.substr(i, text.find_first_of(" ,", i) - i), "' is not an id"));
    ids.push_back(id);
    i += used;
    if (i < text.size() && text[i] != ' ' && text[i] != ',' && text[i] != '\t' && text[i] != '\n')
      throw Error(cat(option, ": '", text.substr(i, text.find_first_of(" ,", i) - i), "' is not an id"));
  }
  if (ids.empty()) throw Error(cat(option, ": no ids given"));
  return ids;
}

FileKind kind_of(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : {".txt", ".text", ".md"})
    if (ext == e) return FileKind::Text;
  for (const char* e : {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
    if (ext == e) return FileKind::Image;
  for (const char* e : {".wav", ".flac", ".ogg", ".mp3"})
    if (ext == e) return FileKind::Audio;
  return FileKind::Unknown;
}

Output::Output(const std::string& path) : path_(path), out_(&std::cout) {
  if (path.empty() || path == "-") return;
  file_ = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*file_) throw Error(cat(path, ": cannot open for writing"));
  out_ = file_.get();
}

void Output::close() {
  out_->flush();
  if (!*out_) throw Error(cat(path_.empty() ? "standard output" : path_, ": write failed"));
}

}  // namespace anytok
