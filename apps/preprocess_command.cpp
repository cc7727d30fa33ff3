// anytok preprocess: a JSON Lines manifest → Megatron-LM indexed datasets (or tokens JSON Lines), resumable after
// a kill, one shard per rank when a scheduler runs many copies.
//
// The pipeline takes the manifest in chunks of lines. Worker threads parse each line, tokenize its text and
// locations, and decode and resize its images; the networks then run over the whole chunk: images of one size in
// batches, audio files read and encoded as streams, with a batch or a file per thread when there are enough. A
// single writer appends the results in manifest order, so the output never depends on the thread count.
#include <openssl/evp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <numeric>

#include "apps/command.h"
#include "apps/dataset_output.h"
#include "apps/durable_file.h"
#include "apps/image_batches.h"
#include "apps/manifest.h"
#include "apps/progress.h"
#include "apps/token_record.h"
#include "nn/error.h"
#include "nn/gemm.h"
#include "nn/thread_pool.h"

namespace anytok {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* kUsage =
    "usage: anytok preprocess MANIFEST -o PREFIX [--format megatron|jsonl] [--rank R --world-size W] [options]\n"
    "\n"
    "Tokenizes every example of a JSON Lines manifest into a dataset a trainer reads. A manifest line is one\n"
    "example: a list of segments, {\"segments\": [...], \"id\": ID}, or a seq2seq pair {\"inputs\": [...],\n"
    "\"targets\": [...], \"id\": ID}, where a segment is {\"text\": STR}, {\"image\": PATH}, {\"audio\": PATH},\n"
    "{\"boxes\": [[x1,y1,x2,y2],...], \"image_size\": [W,H]} or {\"keypoints\": [[x,y],...], \"image_size\": [W,H]}.\n"
    "Relative paths resolve against the manifest's folder. Models and vocabulary are those of anytok tokenize.\n"
    "\n"
    "Writes (for pairs, PREFIX_inputs and PREFIX_targets in place of PREFIX, aligned document by document):\n"
    "  PREFIX.bin, PREFIX.idx     Megatron-LM's MMapIndexedDataset, multimodal: one document per example, one\n"
    "                             sequence per segment, its tokens as `anytok tokenize` gives them, its mode the\n"
    "                             modality (0 text, 1 image, 2 audio, 3 boxes, 4 keypoints); uint16 ids when the\n"
    "                             vocabulary has fewer than 65 500, else int32\n"
    "  PREFIX.jsonl               with --format jsonl instead: one line per example with its tokenize records\n"
    "  PREFIX.errors.jsonl        every bad example, {\"line\", \"id\", \"reason\"}; it is skipped, the rest goes on\n"
    "  PREFIX.json                the sidecar, written last: layout, models (config and SHA-256), options, counts\n"
    "Files are written under .partial names and renamed at the end. Killed at any point, the same command resumes\n"
    "from PREFIX.checkpoint and writes exactly what an uninterrupted run writes. A finished run is not redone.\n"
    "\n"
    "Ranks: --rank R --world-size W takes the R-th of W contiguous slices of the manifest and writes the shard\n"
    "PREFIX.rank-R-of-W (its sidecar marks it complete); `anytok merge PREFIX --world-size W` joins the shards into\n"
    "what one process would have written. Without the flags the rank comes from the scheduler's environment:\n"
    "SLURM_PROCID/SLURM_NTASKS, SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, OMPI_COMM_WORLD_RANK/\n"
    "OMPI_COMM_WORLD_SIZE or PMI_RANK/PMI_SIZE.";

// A segment on its way through the pipeline. Text, boxes and keypoints are finished by the workers; images wait,
// decoded and resized, for the network; audio files are read as the network encodes them.
struct PendingSegment {
  SegmentSpec spec;
  Segment segment;
  PreparedImage image;
  EncodedAudio encoded;
};

struct PendingExample {
  int64_t line = 0;          // 1-based
  bool blank = false;
  json id;
  std::vector<std::vector<PendingSegment>> parts;  // documents: 1; pairs: inputs and targets
  std::string error;
};

std::string sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(cat(path, ": cannot open"));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) throw Error("SHA-256 is unavailable");
  std::vector<char> block(size_t{1} << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(context.get(), block.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(cat(path, ": read failed"));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

json model_identity(const std::string& dir) {
  const std::string config = (std::filesystem::path(dir) / "config.json").string();
  json j;
  try {
    j["config"] = json::parse(read_whole_file(config));
  } catch (const json::exception& e) {
    throw Error(cat(config, ": ", e.what()));
  }
  j["sha256"] = sha256_of_file((std::filesystem::path(dir) / "model.safetensors").string());
  return j;
}

struct Rank {
  int64_t rank = 0, world_size = 1;
};

// --rank/--world-size, else the first scheduler whose variables are set.
Rank rank_of_process(std::optional<int64_t> rank, std::optional<int64_t> world_size) {
  auto check = [](Rank r, const std::string& source) {
    if (r.world_size < 1) throw Error(cat(source, ": the world size must be at least 1, got ", r.world_size));
    if (r.rank < 0 || r.rank >= r.world_size)
      throw Error(cat(source, ": rank ", r.rank, " is outside 0..", r.world_size - 1));
    return r;
  };
  if (rank || world_size) {
    if (!rank || !world_size) throw Error("--rank and --world-size go together");
    return check({*rank, *world_size}, "--rank/--world-size");
  }
  auto integer = [](const char* name) -> std::optional<int64_t> {
    const char* value = std::getenv(name);
    if (!value || !*value) return std::nullopt;
    char* end = nullptr;
    const long long v = std::strtoll(value, &end, 10);
    if (*end != '\0') throw Error(cat("environment variable ", name, "='", value, "' is not an integer"));
    return v;
  };
  const std::pair<const char*, const char*> schedulers[] = {
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, {"PMI_RANK", "PMI_SIZE"}, {"SLURM_PROCID", "SLURM_NTASKS"}};
  for (const auto& [rank_name, size_name] : schedulers) {
    const auto r = integer(rank_name), w = integer(size_name);
    if (r && w && (*w > 1 || std::string(rank_name) != "SLURM_PROCID"))
      return check({*r, *w}, cat(rank_name, "/", size_name));
  }
  // A job array: each task runs alone, numbered from the array's first index.
  if (const auto task = integer("SLURM_ARRAY_TASK_ID"), count = integer("SLURM_ARRAY_TASK_COUNT"); task && count)
    return check({*task - integer("SLURM_ARRAY_TASK_MIN").value_or(0), *count},
                 "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT");
  return {};
}

// Items/s, ETA and errors: redrawn in place on a terminal, a plain line every 30 s otherwise.
class Preprocessor {
 public:
  Preprocessor(const Manifest& manifest, const ModelOptions& models, BoxConvention convention, int64_t batch)
      : manifest_(manifest), models_(models), format_(models.layout()), convention_(convention), batch_(batch) {
    if (models_.image_model_available()) {
      image_tokenizer_ = &models_.image_tokenizer();
      preprocess_ = models_.image_preprocess();
    }
    if (models_.audio_model_available()) audio_tokenizer_ = &models_.audio_tokenizer();
    text_ = &models_.text();
  }

  // Lines [first, end) read, decoded and tokenized; examples come back in order.
  std::vector<PendingExample> run(int64_t first, int64_t end) {
    std::vector<PendingExample> examples(static_cast<size_t>(end - first));
    std::vector<std::string_view> lines;
    for (int64_t i = first; i < end; ++i) lines.push_back(manifest_.line(i));
    ThreadPool::global().parallel_for(static_cast<int64_t>(examples.size()), [&](int64_t begin, int64_t stop) {
      for (int64_t i = begin; i < stop; ++i) prepare(examples[i], lines[i], first + i);
    });
    encode_images(examples);
    encode_audio(examples);
    for (const auto& e : examples)
      if (e.error.empty())
        for (const auto& part : e.parts)
          for (const auto& s : part) {
            images_ += s.spec.source == SegmentSource::Image;
            if (s.spec.source == SegmentSource::Audio)
              audio_seconds_ += static_cast<double>(s.encoded.length) / static_cast<double>(audio_tokenizer_->config().sample_rate);
          }
    return examples;
  }

  const SequenceFormat& format() const { return format_; }
  int64_t images() const { return images_; }           // tokenized so far
  double audio_seconds() const { return audio_seconds_; }

  // The example's documents of token sequences, and its jsonl line.
  std::vector<std::vector<TokenSequence>> documents(const PendingExample& e) const {
    std::vector<std::vector<TokenSequence>> out;
    for (const auto& part : e.parts) {
      std::vector<TokenSequence> document;
      for (const auto& s : part) document.push_back({format_.encode(s.segment), modality_of(s.spec.source)});
      out.push_back(std::move(document));
    }
    return out;
  }

  json record(const PendingExample& e) const {
    auto records = [&](const std::vector<PendingSegment>& part) {
      json list = json::array();
      for (const auto& s : part) {
        switch (s.spec.source) {
          case SegmentSource::Text:
          case SegmentSource::Token: list.push_back(make_record(std::nullopt, s.segment, format_)); break;
          case SegmentSource::Image:
            list.push_back(make_image_record(s.spec.path, s.segment, s.image.source_width, s.image.source_height,
                                             image_preprocess_name(preprocess_), format_));
            break;
          case SegmentSource::Audio:
            list.push_back(make_audio_record(s.spec.path, s.encoded, audio_tokenizer_->config(), format_));
            break;
          case SegmentSource::Boxes:
          case SegmentSource::Keypoints:
            list.push_back(make_location_record(std::nullopt, s.segment, s.spec.image_size, convention_, format_));
            break;
        }
      }
      return list;
    };
    json line = {{"line", e.line}};
    if (!e.id.is_null()) line["id"] = e.id;
    if (e.parts.size() == 2) {
      line["inputs"] = records(e.parts[0]);
      line["targets"] = records(e.parts[1]);
    } else {
      line["segments"] = records(e.parts[0]);
    }
    return line;
  }

  static Modality modality_of(SegmentSource source) {
    switch (source) {
      case SegmentSource::Text: return Modality::Text;
      case SegmentSource::Image: return Modality::Image;
      case SegmentSource::Audio: return Modality::Audio;
      case SegmentSource::Boxes: return Modality::Boxes;
      case SegmentSource::Keypoints: return Modality::Keypoints;
      case SegmentSource::Token: return Modality::Token;
    }
    return Modality::Text;
  }

 private:
  void prepare(PendingExample& e, std::string_view text, int64_t index) const {
    e.line = index + 1;
    if (is_blank(text)) {
      e.blank = true;
      return;
    }
    try {
      Example example = manifest_.parse(text, index);
      e.id = example.id;
      e.parts.resize(example.targets.empty() ? 1 : 2);
      for (size_t p = 0; p < e.parts.size(); ++p)
        for (auto& spec : p == 0 ? example.inputs : example.targets) {
          PendingSegment s;
          s.spec = std::move(spec);
          prepare_segment(s);
          e.parts[p].push_back(std::move(s));
        }
    } catch (const Error& error) {
      e.error = error.what();
    } catch (const std::bad_alloc&) {
      e.error = "out of memory";
    }
  }

  void prepare_segment(PendingSegment& s) const {
    const SegmentSpec& spec = s.spec;
    switch (spec.source) {
      case SegmentSource::Text: {
        std::vector<int64_t> pieces = text_->encode(spec.text);
        if (pieces.empty()) throw Error("the text segment tokenizes to nothing");
        s.segment = Segment::text(std::move(pieces));
        break;
      }
      case SegmentSource::Image:
        if (!image_tokenizer_) throw Error("an image segment, but no image model (give --image-model)");
        s.image = prepare_image_file(spec.path, models_);
        break;
      case SegmentSource::Audio:
        // Read later, as it is encoded: a stream in bounded memory, however long the file.
        if (!audio_tokenizer_) throw Error("an audio segment, but no audio model (give --audio-model)");
        break;
      case SegmentSource::Boxes:
        s.segment = Segment::boxes(location_tokenizer(format_, "boxes", convention_).encode_boxes(spec.boxes, spec.image_size));
        break;
      case SegmentSource::Keypoints:
        s.segment = Segment::keypoints(
            location_tokenizer(format_, "keypoints", convention_).encode_points(spec.points, spec.image_size));
        break;
      case SegmentSource::Token:
        s.segment = Segment::token(format_.layout(), spec.text);
        break;
    }
  }

  template <typename Fn>
  static void each_pending(std::vector<PendingExample>& examples, SegmentSource source, const Fn& fn) {
    for (auto& e : examples)
      if (e.error.empty())
        for (auto& part : e.parts)
          for (auto& s : part)
            if (s.spec.source == source) fn(e, s);
  }

  void encode_images(std::vector<PendingExample>& examples) const {
    std::vector<const PreparedImage*> images;
    std::vector<std::pair<PendingExample*, PendingSegment*>> owners;
    each_pending(examples, SegmentSource::Image, [&](PendingExample& e, PendingSegment& s) {
      images.push_back(&s.image);
      owners.emplace_back(&e, &s);
    });
    if (images.empty()) return;
    std::vector<std::vector<int64_t>> codes;
    try {
      codes = encode_prepared_images(images, *image_tokenizer_, batch_);
    } catch (const Error& error) {
      for (auto& [e, s] : owners) e->error = cat(s->spec.path, ": ", error.what());
      return;
    }
    const int64_t factor = image_tokenizer_->config().factor();
    for (size_t i = 0; i < owners.size(); ++i) {
      PendingSegment& s = *owners[i].second;
      s.segment = Segment::image(s.image.pixels.dim(1) / factor, s.image.pixels.dim(2) / factor, std::move(codes[i]));
      s.image.pixels = Tensor();  // the pixels are done with; the source size stays for the record
    }
  }

  void encode_audio(std::vector<PendingExample>& examples) {
    std::vector<std::pair<PendingExample*, PendingSegment*>> owners;
    each_pending(examples, SegmentSource::Audio, [&](PendingExample& e, PendingSegment& s) { owners.emplace_back(&e, &s); });
    std::vector<std::string> errors(owners.size());
    auto encode = [&](AudioTokenizer& tokenizer, size_t i) {
      PendingSegment& s = *owners[i].second;
      try {
        s.encoded = tokenizer.encode_file(s.spec.path, models_.bandwidth);
        s.segment = Segment::audio(s.encoded.codebooks, s.encoded.frames, s.encoded.codes);
      } catch (const Error& error) {
        errors[i] = error.what();  // names the file
      }
    };
    ThreadPool& pool = ThreadPool::global();
    if (static_cast<int64_t>(owners.size()) < pool.size()) {
      for (size_t i = 0; i < owners.size(); ++i) encode(*audio_tokenizer_, i);  // each file uses every thread
    } else {
      // A file per thread, each read and encoded by a model of its own (a streaming encoder keeps state): no
      // synchronisation per layer, as splitting each layer over the threads needs.
      while (static_cast<int64_t>(spare_audio_.size()) < pool.size() - 1)
        spare_audio_.push_back(std::make_unique<AudioTokenizer>(models_.audio_model_dir(), models_.max_audio_seconds));
      std::vector<AudioTokenizer*> free_models{audio_tokenizer_};
      for (auto& t : spare_audio_) free_models.push_back(t.get());
      // Largest files first, so that no long file starts last while the other threads sit idle.
      std::vector<uintmax_t> bytes(owners.size());
      for (size_t i = 0; i < owners.size(); ++i) {
        std::error_code unknown;  // a missing file sorts last and fails when opened
        bytes[i] = std::filesystem::file_size(owners[i].second->spec.path, unknown);
        if (unknown) bytes[i] = 0;
      }
      std::vector<size_t> order(owners.size());
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
      std::mutex mutex;
      SerialBlas serial;
      pool.parallel_for(static_cast<int64_t>(owners.size()), [&](int64_t begin, int64_t end) {
        AudioTokenizer* tokenizer;
        {
          std::lock_guard lock(mutex);
          tokenizer = free_models.back();
          free_models.pop_back();
        }
        for (int64_t i = begin; i < end; ++i) encode(*tokenizer, order[static_cast<size_t>(i)]);
        std::lock_guard lock(mutex);
        free_models.push_back(tokenizer);
      });
    }
    for (size_t i = 0; i < owners.size(); ++i)
      if (!errors[i].empty() && owners[i].first->error.empty()) owners[i].first->error = errors[i];
  }

  const Manifest& manifest_;
  const ModelOptions& models_;
  SequenceFormat format_;
  BoxConvention convention_;
  int64_t batch_;
  const TextTokenizer* text_ = nullptr;
  const ImageTokenizer* image_tokenizer_ = nullptr;
  AudioTokenizer* audio_tokenizer_ = nullptr;
  std::vector<std::unique_ptr<AudioTokenizer>> spare_audio_;  // with audio_tokenizer_, one per thread
  ImagePreprocess preprocess_ = ImagePreprocess::Taming;
  int64_t images_ = 0;
  double audio_seconds_ = 0;
};

int run(int argc, char** argv) {
  ModelOptions models;
  std::string manifest_path, prefix, format_name = "megatron", convention_name;
  std::optional<int64_t> rank, world_size;
  int64_t batch = 1, max_errors = -1;
  double checkpoint_seconds = 30;
  bool overwrite = false;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("manifest", po::value(&manifest_path)->value_name("MANIFEST"), "the JSON Lines manifest")
      ("output,o", po::value(&prefix)->value_name("PREFIX"), "where the dataset goes: PREFIX.bin, PREFIX.idx, ...")
      ("format", po::value(&format_name)->value_name("NAME")->default_value("megatron"),
       "megatron (indexed dataset .bin/.idx) or jsonl (anytok tokenize records)")
      ("rank", po::value<int64_t>()->value_name("R")->notifier([&](int64_t v) { rank = v; }),
       "this process's rank, 0-based (default: from the scheduler's environment, else 0)")
      ("world-size", po::value<int64_t>()->value_name("W")->notifier([&](int64_t v) { world_size = v; }),
       "how many ranks share the manifest (default: from the environment, else 1)")
      ("max-errors", po::value(&max_errors)->value_name("N")->default_value(-1),
       "fail once more than N examples were bad (-1: never; bad examples are always recorded and skipped)")
      ("checkpoint-interval", po::value(&checkpoint_seconds)->value_name("S")->default_value(30),
       "seconds between checkpoints (0: after every chunk of examples)")
      ("overwrite", po::bool_switch(&overwrite), "start over, discarding a finished run or an unfinished checkpoint")
      ("box-convention", po::value(&convention_name)->value_name("NAME")->default_value("unified-io-2"),
       "location binning: unified-io-2 (truncate) or pix2seq (round)")
      ("batch", po::value(&batch)->value_name("N")->default_value(1),
       "images of one size per network pass. With as many passes as threads, each thread runs passes of its own, and "
       "on a CPU one image per pass is fastest: its activations stay in cache");
  models.add_to(options);
  po::positional_options_description positional;
  positional.add("manifest", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  models.apply();
  if (manifest_path.empty()) throw Error("no manifest given (see anytok preprocess --help)");
  if (prefix.empty()) throw Error("no output prefix: give -o PREFIX");
  if (batch < 1) throw Error("--batch must be at least 1");
  if (!(checkpoint_seconds >= 0)) throw Error("--checkpoint-interval must be 0 or more seconds");
  const DatasetFormat dataset_format = parse_dataset_format(format_name);
  const BoxConvention convention = parse_box_convention(convention_name);
  const Rank me = rank_of_process(rank, world_size);

  const auto start = Clock::now();  // the rates in the closing line include loading and hashing the models
  const Manifest manifest(manifest_path);
  const auto [first_line, end_line] = manifest.slice(me.rank, me.world_size);
  const std::string run_prefix = me.world_size > 1 ? cat(prefix, ".rank-", me.rank, "-of-", me.world_size) : prefix;
  const VocabularyLayout& layout = models.layout();
  const TokenDtype dtype = token_dtype_for(layout.size);

  // Everything that decides the output's bytes, so that a checkpoint is only ever resumed by the same run.
  json settings;
  settings["manifest"] = {{"path", manifest_path}, {"bytes", manifest.bytes()}, {"lines", manifest.lines()}};
  settings["examples_are"] = manifest.seq2seq() ? "seq2seq pairs" : "documents";
  settings["dtype"] = token_dtype_name(dtype);
  settings["modes"] = json::object();
  for (int m = 0; m < kModalities; ++m) settings["modes"][std::string(modality_name(static_cast<Modality>(m)))] = m;
  settings["layout"] = layout.to_json();
  json identities;
  identities["text"] = {{"file", std::filesystem::path(models.text().path()).filename().string()},
                        {"sha256", sha256_of_file(models.text().path())}};
  if (models.image_model_available()) identities["image"] = model_identity(models.image_model_dir());
  if (models.audio_model_available()) identities["audio"] = model_identity(models.audio_model_dir());
  settings["models"] = identities;
  settings["options"] = {{"box_convention", box_convention_name(convention)}};
  if (models.image_model_available()) settings["options"]["preprocess"] = image_preprocess_name(models.image_preprocess());
  if (models.audio_model_available())
    settings["options"]["audio_codebooks"] = models.audio_config().codebooks_for(models.bandwidth);
  if (me.world_size > 1)
    settings["shard"] = {{"rank", me.rank}, {"world_size", me.world_size}, {"lines", {first_line, end_line}}};

  DatasetOutput output(run_prefix, dataset_format, manifest.seq2seq(), dtype, settings);
  if (overwrite) output.discard();
  if (output.complete()) {
    std::cerr << "anytok preprocess: " << output.sidecar_path() << " exists: "
              << (me.world_size > 1 ? cat("rank ", me.rank, " of ", me.world_size, " is") : std::string("the run is"))
              << " already complete (pass --overwrite to redo it)\n";
    return 0;
  }
  int64_t next = output.open(first_line);
  if (next < 0) {
    std::cerr << "anytok preprocess: finished the interrupted run's last step; " << output.sidecar_path() << " is written\n";
    return 0;
  }
  if (next > first_line)
    std::cerr << "anytok preprocess: resuming " << run_prefix << " at line " << next + 1 << " of lines " << first_line + 1
              << ".." << end_line << " (" << output.examples() << " examples and " << output.errors()
              << " errors so far)\n";

  Preprocessor preprocessor(manifest, models, convention, batch);
  const int64_t chunk = std::max<int64_t>(16, 4 * batch * ThreadPool::global().size());
  auto last_checkpoint = Clock::now();
  const int64_t resumed_at = next;
  ProgressLine progress("preprocess", "lines", std::chrono::seconds(30));
  while (next < end_line) {
    const int64_t stop = std::min(end_line, next + chunk);
    const std::vector<PendingExample> examples = preprocessor.run(next, stop);
    for (const PendingExample& e : examples) {
      if (e.blank) continue;
      if (!e.error.empty()) {
        output.write_error(e.line, e.id, e.error);
        if (max_errors >= 0 && output.errors() > max_errors) {
          output.checkpoint(e.line);
          throw Error(cat("more than ", max_errors, " bad examples (the last on line ", e.line, ": ", e.error, "); see ",
                          output.errors_path(), ".partial"));
        }
        continue;
      }
      output.write_example(preprocessor.documents(e),
                           dataset_format == DatasetFormat::Jsonl ? preprocessor.record(e) : json());
    }
    next = stop;
    progress.update(static_cast<double>(next - first_line), static_cast<double>(end_line - first_line),
                    cat(output.errors(), " errors"));
    if (std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >= checkpoint_seconds && next < end_line) {
      output.checkpoint(next);
      last_checkpoint = Clock::now();
    }
  }
  output.finish(end_line - first_line);

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const json& counts = output.counts();
  int64_t sequences = 0, tokens = 0;
  for (const auto& [modality, n] : counts["sequences"].items()) sequences += n.get<int64_t>();
  for (const auto& n : counts["tokens"]) tokens += n.get<int64_t>();
  const double lines_done = static_cast<double>(end_line - resumed_at), elapsed = std::max(seconds, 1e-9);
  char rates[160];
  int used = std::snprintf(rates, sizeof rates, "%.2f s: %.2f lines/s", seconds, lines_done / elapsed);
  if (preprocessor.images() > 0)
    used += std::snprintf(rates + used, sizeof rates - used, ", %.2f images/s", static_cast<double>(preprocessor.images()) / elapsed);
  if (preprocessor.audio_seconds() > 0)
    std::snprintf(rates + used, sizeof rates - used, ", %.2f audio s/s", preprocessor.audio_seconds() / elapsed);
  std::cerr << "anytok preprocess: " << run_prefix << ": " << output.examples() << " examples, " << sequences
            << " sequences, " << tokens << " tokens; " << output.errors() << " errors"
            << (output.errors() > 0 ? cat(" (see ", output.errors_path(), ")") : std::string()) << "; "
            << end_line - resumed_at << " lines in " << rates << "\n";
  return 0;
}

}  // namespace

Command preprocess_command() {
  return {"preprocess", "a JSON Lines manifest → Megatron indexed datasets, resumable, sharded by rank", run};
}

}  // namespace anytok
