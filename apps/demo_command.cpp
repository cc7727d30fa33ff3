// anytok demo: the any-to-any model on fresh scenes of the demo world, every task, with a gallery and metrics.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include <unistd.h>

#include "apps/command.h"
#include "apps/demo_gallery.h"
#include "apps/durable_file.h"
#include "apps/image_batches.h"
#include "apps/model_paths.h"
#include "apps/progress.h"
#include "apps/token_record.h"
#include "decoders/audio_decoder.h"
#include "nn/error.h"
#include "sequence/decoding_constraint.h"
#include "sequence/generation.h"
#include "tokenizers/audio_io.h"
#include "tokenizers/audio_quality.h"
#include "tokenizers/image_preprocess.h"
#include "world/metrics.h"
#include "world/speech.h"
#include "world/tasks.h"

namespace anytok {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const char* kUsage =
    "usage: anytok demo [--model DIR] [--seed S] [--count N] [--tasks LIST] [--guidance G] [-o DIR | --eval [--json]]\n"
    "\n"
    "Generates N fresh scenes of the demo world from seed S (see `anytok world`; the default model never saw\n"
    "seed 1000) and runs the sequence model on every task: caption, detect, generate-image (with classifier-free\n"
    "guidance G), speak and transcribe. With -o it writes DIR/index.html, a gallery with inputs and outputs side by\n"
    "side, DIR/metrics.json, and each scene's files under DIR/scenes/. With --eval it prints only the metrics:\n"
    "  caption         attribute accuracy (colour, shape and position of each object) and exact captions\n"
    "  detect          mean IoU of each object with its detection of the same label\n"
    "  generate-image  share of pictures showing each requested colour in its cell\n"
    "  transcribe      exact transcriptions of the spoken caption\n"
    "  speak           log-mel distance to espeak-ng's rendering, and exact transcriptions of the speech by the\n"
    "                  model itself\n"
    "The image and audio models are the ones the sequence model was trained with (--image-model, --audio-model;\n"
    "the shipped ones by default); the audio bandwidth is the one whose codebooks fill the layout's audio span.";

// The floors the shipped model is held to.
constexpr double kCaptionFloor = 0.90, kDetectFloor = 0.70, kGenerateFloor = 0.80;

// A folder for the speech files of an --eval run, removed at the end.
class TemporaryFolder {
 public:
  TemporaryFolder() : path_(fs::temp_directory_path() / cat("anytok-demo-", getpid())) { fs::create_directories(path_); }
  ~TemporaryFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Demo {
  ModelOptions models;
  std::unique_ptr<Seq2SeqModel> model;
  std::unique_ptr<SequenceFormat> format;
  std::optional<double> bandwidth;
  float guidance = 3;
  int64_t batch = 8;
};

// The segment a task's manifest segment names, from the scene's tokenized picture and speech.
Segment input_segment(const Demo& demo, const json& spec, const Segment& picture, const Segment* speech) {
  if (spec.contains("token")) return Segment::token(demo.format->layout(), spec["token"].get<std::string>());
  if (spec.contains("text")) return Segment::text(demo.models.text().encode(spec["text"].get<std::string>()));
  if (spec.contains("image")) return picture;
  if (spec.contains("audio") && speech) return *speech;
  throw Error(cat("the demo cannot build the input ", spec.dump()));
}

// Greedy (guided) generation for many sources, in batches, with a progress line.
std::vector<std::vector<int64_t>> run_task(const Demo& demo, world::Task task,
                                           const std::vector<std::vector<int64_t>>& sources) {
  GenerationOptions options;
  const SequenceFormat& format = *demo.format;
  std::unique_ptr<ModalityConstraint> constraint;
  switch (task) {
    case world::Task::Caption:
    case world::Task::Transcribe:
      options.max_new_tokens = 96;
      constraint = std::make_unique<ModalityConstraint>(format.layout(), TargetModality::Text);
      break;
    case world::Task::Detect: options.max_new_tokens = 96; break;  // boxes and labels by turns: unconstrained
    case world::Task::GenerateImage: {
      const SpanSpec& span = *format.layout().first_span(SpanKind::Image);
      options.max_new_tokens = span.grid_h * span.grid_w + 3;
      options.guidance = demo.guidance;
      options.unconditional_source = {demo.model->config().eos_id};  // the empty prompt of classifier-free guidance
      constraint = std::make_unique<ModalityConstraint>(format.layout(), TargetModality::Image);
      break;
    }
    case world::Task::Speak: {
      const SpanSpec& span = *format.layout().first_span(SpanKind::Audio);
      // Spoken captions last at most about 4 s; 8 s of frames leaves room. The speech must also fit the model's
      // input with a task token and eos, to be transcribed by the model itself.
      const int64_t frames = 8 * demo.models.audio_config().frame_rate();
      options.max_new_tokens = std::min(frames * span.codebooks + 3, demo.model->config().max_positions - 3);
      constraint = std::make_unique<ModalityConstraint>(format.layout(), TargetModality::Audio);
      break;
    }
  }
  std::vector<std::vector<int64_t>> out;
  ProgressLine progress(cat("demo ", world::task_name(task)), "scenes", std::chrono::seconds(30));
  for (size_t begin = 0; begin < sources.size(); begin += static_cast<size_t>(demo.batch)) {
    const size_t end = std::min(sources.size(), begin + static_cast<size_t>(demo.batch));
    const std::vector<std::vector<int64_t>> batch(sources.begin() + static_cast<std::ptrdiff_t>(begin),
                                                  sources.begin() + static_cast<std::ptrdiff_t>(end));
    for (auto& generated : generate(*demo.model, batch, options, constraint.get())) out.push_back(std::move(generated));
    progress.update(static_cast<double>(end), static_cast<double>(sources.size()));
  }
  return out;
}

// Speech that ran into the length limit keeps its whole frames: the open audio span is closed after the last
// complete frame, as if the model had stopped there.
void close_speech_at_limit(const Demo& demo, std::vector<int64_t>& ids) {
  const int64_t eos = demo.model->config().eos_id;
  if (ids.empty() || ids.back() == eos) return;
  const VocabularyLayout& layout = demo.format->layout();
  const SpanSpec& span = *layout.first_span(SpanKind::Audio);
  if (!span.has_markers() || ids.front() != layout.token(span.begin)) return;
  const int64_t codes = static_cast<int64_t>(ids.size()) - 1;
  ids.resize(static_cast<size_t>(1 + codes / span.codebooks * span.codebooks));
  ids.push_back(layout.token(span.end));
  ids.push_back(eos);
}

// The segments of generated ids; an empty list when they do not parse (the model wrote something malformed).
std::vector<Segment> parse_generated(const Demo& demo, const std::vector<int64_t>& ids, std::string& problem) {
  try {
    return demo.format->parse(ids);
  } catch (const Error& e) {
    problem = e.what();
    return {};
  }
}

std::string generated_text(const Demo& demo, const std::vector<int64_t>& ids, std::string& problem) {
  std::string text;
  for (const Segment& s : parse_generated(demo, ids, problem))
    if (s.kind == SegmentKind::Text) text += demo.models.text().decode(s.codes);
  return text;
}

std::optional<double> bandwidth_for(const EncodecConfig& config, int64_t codebooks) {
  for (double kbps : config.target_bandwidths)
    if (config.codebooks_for(kbps) == codebooks) return kbps;
  throw Error(cat("the layout's audio span carries ", codebooks, " codebooks, which no bandwidth of the audio model ",
                  "gives; give the audio model the sequence model was trained with (--audio-model)"));
}

int run(int argc, char** argv) {
  Demo demo;
  std::string model_dir, output, tasks_option;
  uint64_t seed = 1000;
  int64_t count = 12;
  bool eval_only = false, as_json = false;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("model", po::value(&model_dir)->value_name("DIR"), "seq2seq model directory (default: the shipped one)")
      ("seed", po::value(&seed)->value_name("S")->default_value(1000), "seed of the scenes")
      ("count", po::value(&count)->value_name("N")->default_value(12), "scenes")
      ("tasks", po::value(&tasks_option)->value_name("LIST"),
       "comma-separated tasks (default: all five; the speech tasks need an audio model)")
      ("guidance", po::value(&demo.guidance)->value_name("G")->default_value(3.0f, "3"),
       "classifier-free guidance of generate-image (1: off)")
      ("batch", po::value(&demo.batch)->value_name("N")->default_value(8), "sources decoded together")
      ("output,o", po::value(&output)->value_name("DIR"), "where the gallery goes")
      ("eval", po::bool_switch(&eval_only), "print the metrics only")
      ("json", po::bool_switch(&as_json), "with --eval: print the metrics as one JSON object");
  demo.models.add_to(options);
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, {}, vm)) return 0;
  demo.models.apply();
  if (eval_only == !output.empty()) throw Error("give either -o DIR (a gallery) or --eval (metrics only)");
  if (as_json && !eval_only) throw Error("--json goes with --eval");
  if (count < 1 || count > 100000) throw Error("--count must be between 1 and 100000");
  if (demo.batch < 1) throw Error("--batch must be at least 1");

  std::vector<world::Task> tasks;
  if (tasks_option.empty()) {
    for (world::Task t : world::kTasks)
      if (!world::task_uses_speech(t) || demo.models.audio_model_available()) tasks.push_back(t);
  } else {
    std::stringstream list(tasks_option);
    for (std::string name; std::getline(list, name, ',');) {
      const auto it = std::find_if(world::kTasks.begin(), world::kTasks.end(),
                                   [&](world::Task t) { return world::task_name(t) == name; });
      if (it == world::kTasks.end())
        throw Error(cat("unknown task \"", name, "\" (caption, detect, generate-image, speak, transcribe)"));
      tasks.push_back(*it);
    }
  }
  const bool speech_tasks = std::any_of(tasks.begin(), tasks.end(), world::task_uses_speech);

  demo.model = std::make_unique<Seq2SeqModel>(model_dir.empty() ? default_model("seq2seq", "--model") : model_dir);
  if (!demo.model->config().vocab.empty()) demo.models.vocab = demo.model->config().vocab;
  demo.format = std::make_unique<SequenceFormat>(demo.models.layout());
  if (demo.format->layout().size > demo.model->config().vocab_size)
    throw Error(cat("the vocabulary layout has ", demo.format->layout().size, " ids, more than the model's ",
                    demo.model->config().vocab_size));
  if (speech_tasks) {
    const SpanSpec* audio_span = demo.format->layout().first_span(SpanKind::Audio);
    if (!audio_span) throw Error("the model's layout has no audio span; leave out the speech tasks (--tasks)");
    demo.bandwidth = bandwidth_for(demo.models.audio_config(), audio_span->codebooks);
    if (demo.models.bandwidth && *demo.models.bandwidth != *demo.bandwidth)
      throw Error(cat("--bandwidth ", *demo.models.bandwidth, " gives ",
                      demo.models.audio_config().codebooks_for(demo.models.bandwidth), " codebooks, but the model's ",
                      "layout carries ", audio_span->codebooks, " (", *demo.bandwidth, " kbps); leave --bandwidth out"));
  }

  // The scenes, their pictures and (for the speech tasks) their spoken captions.
  std::unique_ptr<TemporaryFolder> scratch;
  fs::path files;
  if (eval_only) {
    scratch = std::make_unique<TemporaryFolder>();
    files = scratch->path();
  } else {
    files = fs::path(output) / "scenes";
    fs::create_directories(files);
  }
  std::vector<DemoScene> scenes(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    DemoScene& d = scenes[static_cast<size_t>(i)];
    d.scene = world::make_scene(seed, i);
    d.name = world::scene_name(d.scene);
    d.picture = world::render(d.scene);
    write_png((files / (d.name + "-input.png")).string(), d.picture);
    if (speech_tasks) world::speak_to_file(world::caption(d.scene), {}, (files / (d.name + "-input.wav")).string());
  }
  std::vector<std::string> picture_paths;
  for (const DemoScene& d : scenes) picture_paths.push_back((files / (d.name + "-input.png")).string());
  const std::vector<TokenizedImage> pictures = tokenize_images(picture_paths, demo.models, demo.batch);
  std::vector<Segment> picture_segments, speech_segments;
  for (const TokenizedImage& t : pictures) picture_segments.push_back(Segment::image(t.grid_h, t.grid_w, t.codes));
  if (speech_tasks)
    for (const DemoScene& d : scenes) {
      const EncodedAudio e =
          demo.models.audio_tokenizer().encode_file((files / (d.name + "-input.wav")).string(), demo.bandwidth);
      speech_segments.push_back(Segment::audio(e.codebooks, e.frames, e.codes));
    }

  DemoMetrics metrics;
  metrics.seed = seed;
  metrics.scenes = count;
  metrics.model = model_dir.empty() ? default_model("seq2seq", "--model") : model_dir;
  for (world::Task task : tasks) {
    std::vector<std::vector<int64_t>> sources;
    for (size_t i = 0; i < scenes.size(); ++i) {
      const json example = world::task_example(task, scenes[i].scene, "", "");
      Seq2SeqExample e;
      for (const json& spec : example["inputs"])
        e.inputs.push_back(input_segment(demo, spec, picture_segments[i], speech_tasks ? &speech_segments[i] : nullptr));
      sources.push_back(demo.format->encoder_ids(e));
    }
    std::vector<std::vector<int64_t>> outputs = run_task(demo, task, sources);
    if (task == world::Task::Speak)
      for (auto& ids : outputs) close_speech_at_limit(demo, ids);
    TaskMetrics& m = metrics.tasks[std::string(world::task_name(task))];
    for (size_t i = 0; i < scenes.size(); ++i) {
      DemoScene& d = scenes[i];
      const world::Scene& scene = d.scene;
      std::string problem;
      switch (task) {
        case world::Task::Caption: {
          d.caption = generated_text(demo, outputs[i], problem);
          const world::CaptionScore s = world::score_caption(scene, d.caption);
          d.caption_exact = s.exact;
          m.add("attribute_accuracy", s.right, s.total);
          m.add("exact_match", s.exact, 1);
          break;
        }
        case world::Task::Detect: {
          // Boxes and labels by turns: each boxes segment takes the text segment after it as its label.
          const std::vector<Segment> segments = parse_generated(demo, outputs[i], problem);
          const LocationTokenizer boxes = location_tokenizer(*demo.format, "boxes", BoxConvention::UnifiedIO2);
          for (size_t s = 0; s < segments.size(); ++s) {
            if (segments[s].kind != SegmentKind::Location) continue;
            const std::string label = s + 1 < segments.size() && segments[s + 1].kind == SegmentKind::Text
                                          ? demo.models.text().decode(segments[s + 1].codes)
                                          : std::string();
            for (const Box& b : boxes.decode_boxes(segments[s].codes, {scene.size, scene.size}))
              d.detections.push_back({label, {b.x1, b.y1, b.x2, b.y2}});
          }
          d.ious = world::detection_ious(scene, d.detections);
          for (double v : d.ious) m.add("mean_iou", v, 1);
          break;
        }
        case world::Task::GenerateImage: {
          const std::vector<Segment> segments = parse_generated(demo, outputs[i], problem);
          const Segment* image = segments.empty() || segments[0].kind != SegmentKind::Image ? nullptr : &segments[0];
          if (image) {
            const Tensor pixels = demo.models.image_decoder().decode(image->codes, 1, image->shape[0], image->shape[1]);
            const Tensor chw = pixels.reshape({pixels.dim(1), pixels.dim(2), pixels.dim(3)});
            d.generated = image_from_tensor(chw, 0, 0, chw.dim(1), chw.dim(2));
            const world::GenerationScore s = world::score_generated_image(scene, d.generated);
            d.generated_passes = s.passes();
            m.add("shows_requested_colours", s.passes(), 1);
            m.add("objects_shown", s.shown, s.total);
          } else {
            m.add("shows_requested_colours", 0, 1);
            m.add("objects_shown", 0, static_cast<int64_t>(scene.objects.size()));
          }
          break;
        }
        case world::Task::Speak: {
          const std::vector<Segment> segments = parse_generated(demo, outputs[i], problem);
          if (segments.empty() || segments[0].kind != SegmentKind::Audio || segments[0].shape[1] == 0) {
            m.add("log_mel_distance", 0, 0);
            break;
          }
          d.speech_segment = segments[0];
          AudioDecoder& decoder = demo.models.audio_decoder();
          d.speech = decoder.decode(generated_audio(segments[0], decoder.config()));
          const int64_t rate = decoder.config().sample_rate;
          Tensor reference = read_audio((files / (d.name + "-input.wav")).string(), rate, decoder.config().channels);
          // The two differ in length; the shorter is padded with silence.
          const int64_t length = std::max(reference.dim(1), d.speech.dim(1));
          auto padded = [&](const Tensor& t) {
            Tensor out({t.dim(0), length});
            for (int64_t c = 0; c < t.dim(0); ++c)
              std::copy(t.data() + c * t.dim(1), t.data() + (c + 1) * t.dim(1), out.data() + c * length);
            return out;
          };
          d.log_mel = log_mel_distance(padded(reference), padded(d.speech), rate);
          m.add("log_mel_distance", d.log_mel, 1);
          break;
        }
        case world::Task::Transcribe: {
          d.transcript = generated_text(demo, outputs[i], problem);
          d.transcript_exact = d.transcript == world::caption(scene);
          m.add("exact_match", d.transcript_exact, 1);
          break;
        }
      }
      if (!problem.empty()) d.problems[std::string(world::task_name(task))] = problem;
    }
  }
  // The speech the model made, heard by the model itself: exact transcriptions of it.
  const bool round_trip = std::count(tasks.begin(), tasks.end(), world::Task::Speak) &&
                          std::count(tasks.begin(), tasks.end(), world::Task::Transcribe);
  if (round_trip) {
    std::vector<std::vector<int64_t>> sources;
    std::vector<size_t> which;
    for (size_t i = 0; i < scenes.size(); ++i) {
      if (scenes[i].speech_segment.codes.empty()) continue;
      const json example = world::task_example(world::Task::Transcribe, scenes[i].scene, "", "");
      Seq2SeqExample e;
      for (const json& spec : example["inputs"])
        e.inputs.push_back(input_segment(demo, spec, picture_segments[i], &scenes[i].speech_segment));
      sources.push_back(demo.format->encoder_ids(e));
      which.push_back(i);
    }
    const std::vector<std::vector<int64_t>> outputs = run_task(demo, world::Task::Transcribe, sources);
    TaskMetrics& m = metrics.tasks["speak"];
    for (size_t k = 0; k < which.size(); ++k) {
      DemoScene& d = scenes[which[k]];
      std::string problem;
      d.speech_transcript = generated_text(demo, outputs[k], problem);
      m.add("round_trip_exact_match", d.speech_transcript == world::caption(d.scene), 1);
    }
    m.add("round_trip_exact_match", 0, static_cast<int64_t>(scenes.size() - which.size()));
  }
  metrics.floors = {{"caption", "attribute_accuracy", kCaptionFloor},
                    {"detect", "mean_iou", kDetectFloor},
                    {"generate-image", "shows_requested_colours", kGenerateFloor}};

  if (eval_only) {
    if (as_json)
      std::cout << metrics.to_json().dump() << "\n";
    else
      std::cout << metrics.table();
    return 0;
  }
  for (DemoScene& d : scenes) {
    if (d.generated.width) write_png((files / (d.name + "-generated.png")).string(), d.generated);
    if (d.speech.shape().size() == 2) {
      write_audio((files / (d.name + "-speech.wav")).string(), d.speech, demo.models.audio_config().sample_rate,
                  AudioSubtype::Pcm16);
    }
  }
  write_gallery(output, scenes, metrics, speech_tasks);
  std::cerr << metrics.table() << "wrote " << (fs::path(output) / "index.html").string() << "\n";
  return 0;
}

}  // namespace

Command demo_command() {
  return {"demo", "run the any-to-any model on fresh scenes of the demo world: gallery and metrics", run};
}

}  // namespace anytok
