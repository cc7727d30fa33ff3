// Images through the CLI: tokenize gives the golden codes, detokenize the golden reconstruction.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nn/safetensors.h"
#include "test_util.h"
#include "tokenizers/image_io.h"

using anytok::test::golden;
using anytok::test::json_lines;
using anytok::test::run_anytok;
using json = nlohmann::json;

TEST_CASE("tokenize --preprocess none gives the golden codes, and detokenize the golden reconstruction") {
  for (std::string name : {"vqgan-taming-tiny", "vqgan-uio2-tiny", "vqgan-diffusers-tiny"}) {
    CAPTURE(name);
    const std::string dir = golden(name);
    anytok::SafetensorsFile expected(dir + "/case.safetensors");
    const auto codes = expected.to_int64(expected.at("codes"));
    const auto nearest = expected.to_int64(expected.at("nearest"));
    const auto runner_up = expected.to_int64(expected.at("runner_up"));
    const anytok::Tensor margin = expected.to_float(expected.at("margin"));
    const anytok::Tensor recon = expected.to_float(expected.at("recon"));
    const anytok::Shape grid = expected.at("codes").shape;
    std::string inputs;
    for (int64_t b = 0; b < grid[0]; ++b) inputs += " '" + dir + "/input_" + std::to_string(b) + ".png'";

    auto tok = run_anytok("tokenize --preprocess none --image-model '" + dir + "'" + inputs);
    REQUIRE_MESSAGE(tok.exit_code == 0, tok.err);
    auto records = json_lines(tok.out);
    REQUIRE(records.size() == static_cast<size_t>(grid[0]));
    for (int64_t b = 0; b < grid[0]; ++b) {
      const json& r = records[b];
      CHECK(r["modality"] == "image");
      CHECK(r["shape"] == json::array({grid[1], grid[2]}));
      CHECK(r["preprocess"] == "none");
      for (int64_t i = 0; i < grid[1] * grid[2]; ++i) {
        const int64_t at = b * grid[1] * grid[2] + i, ours = r["codes"][i / grid[2]][i % grid[2]].get<int64_t>();
        if (margin[at] >= 1e-3f)
          CHECK(ours == codes[at]);
        else
          CHECK((ours == nearest[at] || ours == runner_up[at]));
      }
      CHECK(r["tokens"].size() == static_cast<size_t>(grid[1] * grid[2] + 2));  // with <image> … </image>
    }

    // Detokenize the golden codes themselves, so that a near-tie flip above is not taken for a decoding error.
    anytok::test::ScratchDir scratch("image-cli");
    std::string golden_records;
    for (int64_t b = 0; b < grid[0]; ++b) {
      json r = records[b];
      json rows = json::array();
      for (int64_t y = 0; y < grid[1]; ++y) {
        json row = json::array();
        for (int64_t x = 0; x < grid[2]; ++x) row.push_back(codes[(b * grid[1] + y) * grid[2] + x]);
        rows.push_back(row);
      }
      r["codes"] = rows;
      r["input"] = "image" + std::to_string(b) + ".png";
      golden_records += r.dump() + "\n";
    }
    std::filesystem::create_directories(scratch.path("out"));  // an existing folder takes even a single record
    auto detok = run_anytok("detokenize --image-model '" + dir + "' -o '" + scratch.path("out") + "'", golden_records);
    REQUIRE_MESSAGE(detok.exit_code == 0, detok.err);
    for (int64_t b = 0; b < grid[0]; ++b) {
      anytok::RgbImage png = anytok::read_image(scratch.path("out/image" + std::to_string(b) + ".png"));
      const int64_t h = png.height, w = png.width;
      REQUIRE(h == recon.dim(2));
      int worst = 0;
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < h * w; ++i) {
          double v = std::clamp(recon[(b * 3 + c) * h * w + i], -1.0f, 1.0f);
          int level = static_cast<int>(std::lround((v + 1) * 127.5));
          worst = std::max(worst, std::abs(level - png.pixels[i * 3 + c]));
        }
      CHECK(worst <= 1);
    }
  }
}

TEST_CASE("image errors name the file") {
  anytok::test::ScratchDir dir("image-errors");
  anytok::test::write_text(dir.path("broken.png"), "not a png at all");
  const std::string model = golden("vqgan-taming-tiny");
  auto r = run_anytok("tokenize --image-model '" + model + "' '" + dir.path("broken.png") + "'");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("broken.png") != std::string::npos);
  anytok::RgbImage odd{30, 30, std::vector<uint8_t>(30 * 30 * 3, 128)};
  anytok::write_png(dir.path("odd.png"), odd);
  auto r_odd = run_anytok("tokenize --preprocess none --image-model '" + model + "' '" + dir.path("odd.png") + "'");
  CHECK(r_odd.exit_code == 1);
  CHECK(r_odd.err.find("odd.png") != std::string::npos);
  CHECK(r_odd.err.find("4") != std::string::npos);  // the factor
  auto missing = run_anytok("tokenize --image-model '" + dir.path("nowhere") + "' '" + model + "/input_0.png'");
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("nowhere") != std::string::npos);
  auto no_output = run_anytok("detokenize --image-model '" + model + "'",
                              "{\"modality\":\"image\",\"shape\":[1,1],\"codes\":[[3]]}\n");
  CHECK(no_output.exit_code == 1);
  CHECK(no_output.err.find("image and audio records need -o") != std::string::npos);
  auto bad_code = run_anytok("detokenize --image-model '" + model + "' -o '" + dir.path("x.png") + "'",
                             "{\"modality\":\"image\",\"shape\":[1,2],\"codes\":[[3,128]]}\n");
  CHECK(bad_code.exit_code == 1);
  CHECK(bad_code.err.find("code 128 is outside the codebook") != std::string::npos);
}
