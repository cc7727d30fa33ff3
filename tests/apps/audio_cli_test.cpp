// Audio through the CLI: tokenize gives the golden EnCodec codes from the golden input files, detokenize the
// golden decoded audio, and bad audio, records and models get one-line errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nn/safetensors.h"
#include "test_util.h"
#include "tokenizers/audio_io.h"

using anytok::test::golden;
using anytok::test::json_lines;
using anytok::test::run_anytok;
using json = nlohmann::json;

namespace {

// A copy of a golden model directory whose weights `edit` may change.
void copy_model(const std::string& from, const std::string& to) {
  std::filesystem::create_directories(to);
  for (const char* file : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(from + "/" + file, to + "/" + file, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("tokenize and detokenize agree with the golden EnCodec cases, from the input files") {
  for (std::string name : {"encodec-24k-tiny", "encodec-48k-tiny"}) {
    CAPTURE(name);
    const std::string dir = golden(name);
    anytok::SafetensorsFile expected(dir + "/case.safetensors");
    const auto codes = expected.to_int64(expected.at("codes"));
    const auto nearest = expected.to_int64(expected.at("nearest"));
    const auto runner_up = expected.to_int64(expected.at("runner_up"));
    const anytok::Tensor margin = expected.to_float(expected.at("margin"));
    const anytok::Tensor decoded = expected.to_float(expected.at("decoded"));
    const anytok::Shape shape = expected.at("codes").shape, audio = expected.at("input").shape;
    std::string inputs;
    for (int64_t b = 0; b < shape[0]; ++b) inputs += " '" + dir + "/input_" + std::to_string(b) + ".wav'";

    auto tok = run_anytok("tokenize --audio-model '" + dir + "'" + inputs);
    REQUIRE_MESSAGE(tok.exit_code == 0, tok.err);
    auto records = json_lines(tok.out);
    REQUIRE(records.size() == static_cast<size_t>(shape[0]));
    anytok::test::ScratchDir scratch("audio-cli");
    for (int64_t b = 0; b < shape[0]; ++b) {
      json& r = records[b];
      CHECK(r["modality"] == "audio");
      CHECK(r["shape"] == json::array({shape[1], shape[2]}));
      CHECK(r["length"] == audio[2]);
      CHECK(r["channels"] == audio[1]);
      const int64_t frames = shape[2];
      for (int64_t t = 0; t < frames; ++t)
        for (int64_t k = 0; k < shape[1]; ++k) {
          const size_t i = static_cast<size_t>((b * shape[1] + k) * frames + t);
          const int64_t ours = r["codes"][k][t].get<int64_t>();
          if (margin[static_cast<int64_t>(i)] >= 1e-3f) {
            CHECK(ours == codes[i]);
          } else {
            CHECK((ours == nearest[i] || ours == runner_up[i]));
            if (ours != codes[i]) break;  // later codebooks of this frame code another residual
          }
        }
      // Detokenize upstream's own codes (a near-tie flip above must not count as a decoding error), as float WAV.
      json golden_codes = json::array();
      for (int64_t k = 0; k < shape[1]; ++k) {
        json row = json::array();
        for (int64_t t = 0; t < frames; ++t) row.push_back(codes[static_cast<size_t>((b * shape[1] + k) * frames + t)]);
        golden_codes.push_back(row);
      }
      r["codes"] = golden_codes;
      r.erase("tokens");
      const std::string record = scratch.path("record.jsonl"), wav = scratch.path("out.wav");
      anytok::test::write_text(record, r.dump() + "\n");
      auto detok = run_anytok("detokenize '" + record + "' --audio-model '" + dir + "' --subtype float -o '" + wav + "'");
      REQUIRE_MESSAGE(detok.exit_code == 0, detok.err);
      int64_t rate = 0;
      const anytok::Tensor ours = anytok::read_audio(wav, 0, 0, &rate);
      CHECK(rate == r["sample_rate"].get<int64_t>());
      REQUIRE(ours.dim(0) == audio[1]);
      REQUIRE(ours.dim(1) == audio[2]);  // trimmed to the input's length
      float error = 0;
      const int64_t full = decoded.dim(2);
      for (int64_t c = 0; c < audio[1]; ++c)
        for (int64_t t = 0; t < audio[2]; ++t)
          error = std::max(error, std::abs(ours[c * audio[2] + t] - decoded[(b * audio[1] + c) * full + t]));
      CHECK(error <= 1e-4f);
    }
  }
}

TEST_CASE("reconstruct prints SI-SNR and log-mel distance and writes the audio") {
  const std::string dir = golden("encodec-24k-tiny");
  anytok::test::ScratchDir scratch("audio-recon");
  auto r = run_anytok("reconstruct '" + dir + "/input_0.wav' --audio-model '" + dir + "' -o '" + scratch.path("r.flac") + "'");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("4x375 codes, SI-SNR ") != std::string::npos);
  CHECK(r.out.find("log-mel distance ") != std::string::npos);
  CHECK(anytok::read_audio(scratch.path("r.flac")).dim(1) == 12000);
}

TEST_CASE("bad audio, records and models get one-line errors that name the problem") {
  const std::string dir24 = golden("encodec-24k-tiny"), dir48 = golden("encodec-48k-tiny");
  anytok::test::ScratchDir scratch("audio-bad");
  anytok::test::write_text(scratch.path("empty.wav"), "");
  anytok::test::write_text(scratch.path("text.wav"), "this is not audio at all, just words in a file\n");
  auto tok = run_anytok("tokenize --audio-model '" + dir24 + "' '" + dir24 + "/input_0.wav'");
  REQUIRE(tok.exit_code == 0);
  json record = json::parse(tok.out);
  auto write_record = [&](const std::string& file, const json& r) {
    const std::string path = scratch.path(file);
    anytok::test::write_text(path, r.dump() + "\n");
    return std::string("'").append(path).append("'");
  };
  json out_of_range = record;
  out_of_range["codes"][1][7] = 64;
  out_of_range.erase("tokens");
  json wrong_rate = record;
  wrong_rate["sample_rate"] = 16000;
  const std::string out = " -o '" + scratch.path("o.wav") + "'";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases{
      {"tokenize --audio-model '" + dir24 + "' '" + scratch.path("empty.wav") + "'", "empty.wav"},
      {"tokenize --audio-model '" + dir24 + "' '" + scratch.path("text.wav") + "'", "text.wav"},
      {"tokenize --audio-model '" + dir24 + "' '" + scratch.path("missing.wav") + "'", "missing.wav"},
      {"tokenize --audio-model '" + dir24 + "' --bandwidth 5 '" + dir24 + "/input_0.wav'", "bandwidth 5 kbps"},
      {"tokenize --audio-model '" + scratch.path("nowhere") + "' '" + dir24 + "/input_0.wav'", "config.json"},
      {"detokenize " + write_record("range.jsonl", out_of_range) + " --audio-model '" + dir24 + "'" + out, "code 64"},
      {"detokenize " + write_record("rate.jsonl", wrong_rate) + " --audio-model '" + dir24 + "'" + out, "16000 Hz"},
      {"detokenize " + write_record("good.jsonl", record) + " --audio-model '" + dir48 + "'" + out, "48000 Hz"},
      {"detokenize " + write_record("good.jsonl", record) + " --audio-model '" + dir24 + "'", "need -o"},
      {"detokenize " + write_record("good.jsonl", record) + " --audio-model '" + dir24 + "' -o '" + scratch.path("o.flac") +
           "' --subtype float", "FLAC"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    auto r = run_anytok(c.args);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("a checkpoint with a missing, misshapen or surplus tensor is refused by name") {
  using anytok::SafetensorsFile;
  const std::string dir = golden("encodec-24k-tiny");
  anytok::test::ScratchDir scratch("audio-model");
  const std::string input = "'" + dir + "/input_0.wav'";
  SafetensorsFile original(dir + "/model.safetensors");
  // Rewrites the weights with `name` dropped, reshaped or added.
  auto variant = [&](const std::string& label, const std::string& name, const std::string& how) {
    const std::string to = scratch.path(label);
    copy_model(dir, to);
    anytok::SafetensorsWriter writer;
    for (const auto& t : original.tensors()) {
      if (t.name == name && how == "drop") continue;
      anytok::Tensor v = original.to_float(t).clone();
      if (t.name == name && how == "reshape") v = v.reshape({v.numel()});
      writer.add(t.name, v);
    }
    if (how == "add") writer.add(name, anytok::Tensor({3}));
    writer.write(to + "/model.safetensors");
    return to;
  };
  struct Case {
    std::string dir, message;
  };
  for (const Case& c : {Case{variant("a", "encoder.model.3.conv.conv.weight_v", "drop"), "encoder.model.3.conv.conv.weight"},
                        Case{variant("b", "encoder.model.10.lstm.weight_hh_l1", "reshape"), "weight_hh_l1 has shape [16384]"},
                        Case{variant("c", "encoder.model.99.extra", "add"), "unexpected tensor encoder.model.99.extra"}}) {
    auto r = run_anytok("tokenize --audio-model '" + c.dir + "' " + input);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
  }
}
