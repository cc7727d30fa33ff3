// anytok generate: an encoder input (raw ids, or a prompt and media through the sequence format) → ids generated
// by a seq2seq model, optionally constrained to one modality and detokenized.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/command.h"
#include "apps/image_batches.h"
#include "apps/token_record.h"
#include "nn/error.h"
#include "sequence/decoding_constraint.h"
#include "sequence/generation.h"
#include "tokenizers/image_io.h"

namespace anytok {
namespace {

using json = nlohmann::json;

const char* kUsage =
    "usage: anytok generate --model DIR [--input-ids \"i j k\" | --prompt TEXT] [--image FILE] [--audio FILE]\n"
    "                       [--target text|image|audio|boxes] [--greedy | --temperature T --top-k K --top-p P\n"
    "                       --seed S] [--beam N] [--guidance G] [--max-new-tokens N] [-o OUT]\n"
    "\n"
    "Builds the encoder input with the sequence format (the --prompt text, then the tokenized --image and\n"
    "--audio, then eos), or takes it as given with --input-ids, and decodes from bos until eos or\n"
    "--max-new-tokens. Prints one JSON Lines record: {\"tokens\": [generated ids, without bos, ending with eos\n"
    "when one was produced]}. With --target only ids that form a well-formed span of that modality are\n"
    "generated, and the record also holds the parsed segment; -o then writes it: text, a PNG (--image-model), a\n"
    "WAV or FLAC (--audio-model), or boxes as JSON. The vocabulary layout is the model's own \"vocab\" file when\n"
    "its config names one, otherwise --vocab or --preset with the sizes of the models in use.";

int run(int argc, char** argv) {
  ModelOptions models;
  std::string model_dir, input_ids, prompt, image, audio, target, disallow, output;
  GenerationOptions g;
  bool greedy = false;
  int64_t audio_frames = 0;
  po::options_description options("options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("model", po::value(&model_dir)->value_name("DIR"), "seq2seq model directory: config.json + model.safetensors")
      ("input-ids", po::value(&input_ids)->value_name("IDS"), "the encoder input as ids, space-separated")
      ("prompt", po::value(&prompt)->value_name("TEXT"), "a text prompt, tokenized by the text model")
      ("image", po::value(&image)->value_name("FILE"), "an image input, tokenized by --image-model")
      ("audio", po::value(&audio)->value_name("FILE"), "an audio input, tokenized by --audio-model")
      ("target", po::value(&target)->value_name("NAME"), "constrain the output to text, image, audio or boxes")
      ("audio-frames", po::value(&audio_frames)->value_name("N")->default_value(0),
       "audio targets: frames to generate (needed for codebook-major spans; 0: the model decides)")
      ("greedy", po::bool_switch(&greedy), "take the most likely id at each step (the default)")
      ("temperature", po::value(&g.temperature)->value_name("T")->default_value(0.0f, "0"), "sample at this temperature")
      ("top-k", po::value(&g.top_k)->value_name("K")->default_value(0), "sample among the K most likely ids")
      ("top-p", po::value(&g.top_p)->value_name("P")->default_value(1.0f, "1"), "sample within probability mass P")
      ("seed", po::value(&g.seed)->value_name("S")->default_value(0), "random seed for sampling")
      ("repetition-penalty", po::value(&g.repetition_penalty)->value_name("R")->default_value(1.0f, "1"),
       "discourage ids already generated (> 1)")
      ("disallow", po::value(&disallow)->value_name("IDS"), "ids never to generate, space-separated")
      ("beam", po::value(&g.beams)->value_name("N")->default_value(1), "beam search with N beams")
      ("length-penalty", po::value(&g.length_penalty)->value_name("A")->default_value(1.0f, "1"),
       "beam scores are summed log-probabilities / length^A")
      ("guidance", po::value(&g.guidance)->value_name("G")->default_value(1.0f, "1"),
       "classifier-free guidance: uncond + G·(cond − uncond), the unconditional pass with an empty prompt")
      ("max-new-tokens", po::value(&g.max_new_tokens)->value_name("N")->default_value(256), "most ids to generate")
      ("output,o", po::value(&output)->value_name("OUT"), "where --target's detokenized output goes");
  models.add_to(options);
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options(argc, argv, kUsage, options, positional, vm)) return 0;
  models.apply();
  if (model_dir.empty()) throw Error("--model DIR is required (see anytok generate --help)");
  if (greedy && g.temperature != 0) throw Error("--greedy and --temperature exclude each other");
  if (!input_ids.empty() && (!prompt.empty() || !image.empty() || !audio.empty()))
    throw Error("--input-ids excludes --prompt, --image and --audio");
  if (input_ids.empty() && prompt.empty() && image.empty() && audio.empty())
    throw Error("nothing to generate from: give --input-ids, --prompt, --image or --audio");

  const Seq2SeqModel model(model_dir);
  const Seq2SeqConfig& config = model.config();
  // The layout is needed only to build inputs from media and to constrain or parse the output.
  std::unique_ptr<SequenceFormat> format;
  auto layout_format = [&]() -> const SequenceFormat& {
    if (format) return *format;
    if (!config.vocab.empty()) models.vocab = config.vocab;
    format = std::make_unique<SequenceFormat>(models.layout());
    if (format->layout().size > config.vocab_size)
      throw Error(cat("the vocabulary layout has ", format->layout().size, " ids, more than the model's ",
                      config.vocab_size, " (give the model's layout with --vocab, or name it in its config.json)"));
    return *format;
  };

  std::vector<int64_t> source;
  if (!input_ids.empty()) {
    source = parse_ids(input_ids, "--input-ids");
  } else {
    Seq2SeqExample example;
    if (!prompt.empty()) example.inputs.push_back(Segment::text(models.text().encode(prompt)));
    if (!image.empty()) {
      const TokenizedImage t = tokenize_images({image}, models, 1).front();
      example.inputs.push_back(Segment::image(t.grid_h, t.grid_w, t.codes));
    }
    if (!audio.empty()) {
      const EncodedAudio e = models.audio_tokenizer().encode_file(audio, models.bandwidth);
      example.inputs.push_back(Segment::audio(e.codebooks, e.frames, e.codes));
    }
    source = layout_format().encoder_ids(example);
  }
  // The decoder's cache grows with both lengths, so they answer to the same cap as token records.
  if (static_cast<int64_t>(source.size()) > models.max_tokens)
    throw Error(cat("the input is ", source.size(), " ids, over the limit of ", models.max_tokens, " (--max-tokens)"));
  if (g.max_new_tokens > models.max_tokens)
    throw Error(cat("--max-new-tokens ", g.max_new_tokens, " is over the limit of ", models.max_tokens,
                    " (--max-tokens)"));
  if (audio_frames < 0 || audio_frames > models.max_tokens)
    throw Error(cat("--audio-frames must be between 0 and ", models.max_tokens, " (--max-tokens)"));
  for (int64_t id : source)
    if (id < 0 || id >= config.vocab_size)
      throw Error(cat("input id ", id, " is outside the model's vocabulary 0..", config.vocab_size - 1));
  if (!disallow.empty()) g.disallowed = parse_ids(disallow, "--disallow");
  g.unconditional_source = {config.eos_id};  // an empty prompt: the encoder reads just eos

  std::unique_ptr<ModalityConstraint> constraint;
  if (!target.empty())
    constraint = std::make_unique<ModalityConstraint>(layout_format().layout(), parse_target_modality(target), "",
                                                      audio_frames);
  const std::vector<int64_t> tokens = generate(model, {source}, g, constraint.get()).front();

  json record{{"tokens", tokens}};
  if (!target.empty()) {
    record["target"] = target;
    const SequenceFormat& f = layout_format();
    const std::vector<Segment> segments = f.parse(tokens);
    if (!segments.empty()) {
      const Segment& s = segments.front();
      const json parsed = make_record(std::nullopt, s, f);
      record["modality"] = parsed["modality"];
      record["shape"] = parsed["shape"];
      record["codes"] = parsed["codes"];
      // Text decodes only with the text model the layout was made for.
      const bool text_model_fits = s.kind == SegmentKind::Text && models.text().size() == f.layout().text.size;
      if (text_model_fits) record["text"] = models.text().decode(s.codes);
      if (!output.empty()) {
        switch (s.kind) {
          case SegmentKind::Text: {
            if (!text_model_fits)
              throw Error(cat("the layout's text range has ", f.layout().text.size, " pieces but the text model has ",
                              models.text().size(), "; give the matching --text-model"));
            std::ofstream file(output, std::ios::binary | std::ios::trunc);
            file << record["text"].get<std::string>() << "\n";
            if (!file) throw Error(cat(output, ": write failed"));
            break;
          }
          case SegmentKind::Image: {
            const Tensor pixels = models.image_decoder().decode(s.codes, 1, s.shape[0], s.shape[1]);
            const Tensor chw = pixels.reshape({pixels.dim(1), pixels.dim(2), pixels.dim(3)});
            write_png(output, image_from_tensor(chw, 0, 0, chw.dim(1), chw.dim(2)));
            break;
          }
          case SegmentKind::Audio: {
            AudioDecoder& decoder = models.audio_decoder();
            decoder.decode_to_file(generated_audio(s, decoder.config()), output, AudioSubtype::Pcm16);
            break;
          }
          case SegmentKind::Location: {
            std::ofstream file(output, std::ios::binary | std::ios::trunc);
            file << json{{"modality", parsed["modality"]}, {"codes", parsed["codes"]}}.dump() << "\n";
            if (!file) throw Error(cat(output, ": write failed"));
            break;
          }
          default: break;
        }
      }
    }
  }
  std::cout << record.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

Command generate_command() { return {"generate", "encoder input → ids generated by a seq2seq model", run}; }

}  // namespace anytok
