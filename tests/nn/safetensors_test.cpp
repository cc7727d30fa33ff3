#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "nn/error.h"
#include "nn/safetensors.h"
#include "test_util.h"

using namespace anytok;
using anytok::test::ScratchDir;
using anytok::test::write_text;

namespace {

// A file whose header is `header` verbatim, followed by `data_bytes` bytes.
std::string raw_file(const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  uint64_t n = header.size();
  std::memcpy(s.data(), &n, 8);
  return s + header + std::string(data_bytes, '\x01');
}

std::string error_of(const std::string& path) {
  try {
    SafetensorsFile f(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("written tensors read back with their dtype, shape, values and metadata") {
  ScratchDir dir("safetensors");
  Tensor a = test::random_tensor({3, 4}, 1);
  std::vector<uint16_t> half = {f32_to_f16(1.5f), f32_to_f16(-2.0f), f32_to_f16(65504.0f), f32_to_f16(6e-8f)};
  std::vector<uint16_t> bf = {0x3fc0, 0xc000};  // 1.5, -2
  std::vector<int32_t> i32 = {-7, 9};
  std::vector<uint8_t> u8 = {0, 255, 3};
  SafetensorsWriter w;
  w.add("a", a);
  w.add("half", DType::F16, {4}, half.data(), 8);
  w.add("bf", DType::BF16, {2}, bf.data(), 4);
  w.add("i32", DType::I32, {2}, i32.data(), 8);
  w.add("u8", DType::U8, {3}, u8.data(), 3);
  w.add_int64("codes", {2, 1}, {5, -3});
  w.add("empty", DType::F32, {0, 4}, nullptr, 0);
  w.set_metadata("format", "pt");
  w.write(dir.path("t.safetensors"));

  SafetensorsFile f(dir.path("t.safetensors"));
  CHECK(f.tensors().size() == 7);
  CHECK(f.metadata().at("format") == "pt");
  Tensor ra = f.to_float(f.at("a"));
  CHECK(ra.shape() == Shape{3, 4});
  for (int64_t i = 0; i < 12; ++i) CHECK(ra[i] == a[i]);
  Tensor rh = f.to_float(f.at("half"));
  CHECK(rh[0] == 1.5f);
  CHECK(rh[1] == -2.0f);
  CHECK(rh[2] == 65504.0f);
  CHECK(rh[3] == doctest::Approx(5.96e-8).epsilon(0.01));  // the smallest subnormal half
  Tensor rb = f.to_float(f.at("bf"));
  CHECK(rb[0] == 1.5f);
  CHECK(rb[1] == -2.0f);
  CHECK(f.to_int64(f.at("i32")) == std::vector<int64_t>{-7, 9});
  CHECK(f.to_int64(f.at("u8")) == std::vector<int64_t>{0, 255, 3});
  CHECK(f.to_int64(f.at("codes")) == std::vector<int64_t>{5, -3});
  CHECK(f.to_float(f.at("empty")).numel() == 0);
  CHECK(f.find("nope") == nullptr);
  CHECK_THROWS_WITH_AS(f.at("nope"), doctest::Contains("missing tensor nope"), Error);
  CHECK_THROWS_WITH_AS(f.to_int64(f.at("a")), doctest::Contains("not an integer tensor"), Error);
}

TEST_CASE("half precision converts exactly in both directions") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    REQUIRE(f32_to_f16(f) == h);
  }
  CHECK(f32_to_f16(1e6f) == 0x7c00);                     // overflow → infinity
  CHECK(f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);       // a tie rounds to even
  CHECK(f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
}

TEST_CASE("the upstream golden files read as PyTorch wrote them") {
  const std::string golden = std::string(ANYTOK_TEST_DATA) + "/golden/";
  SafetensorsFile model(golden + "torch-transformer-preln/model.safetensors");
  CHECK(model.at("encoder.layers.0.self_attn.in_proj_weight").shape == Shape{192, 64});
  CHECK(model.at("decoder.norm.weight").dtype == DType::F32);
  SafetensorsFile cas(golden + "torch-transformer-preln/case.safetensors");
  CHECK(cas.at("src_pad").dtype == DType::U8);
  auto pad = cas.to_int64(cas.at("src_pad"));
  CHECK(pad.size() == 24);
  for (int64_t p : pad) CHECK((p == 0 || p == 1));
  SafetensorsFile vq(golden + "vqgan-taming-tiny/case.safetensors");
  CHECK(vq.at("codes").shape == Shape{2, 16, 16});
  CHECK(vq.at("codes").dtype == DType::I64);
}

TEST_CASE("corrupt files give an error naming the problem") {
  ScratchDir dir("corrupt");
  const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  struct Case {
    std::string name;
    std::string bytes;
    const char* message;
  };
  std::string huge_len(8, '\0');
  uint64_t big = 1000;  // under the size limit, past the end of this small file
  std::memcpy(huge_len.data(), &big, 8);
  std::string over_limit(8, '\0');
  uint64_t limit = 200'000'000;
  std::memcpy(over_limit.data(), &limit, 8);
  const Case cases[] = {
      {"zero-byte file", "", "file is empty"},
      {"five bytes", "abcde", "too short to hold a safetensors header"},
      {"header length past the end", huge_len + "{}", "runs past the end of the file"},
      {"header length over the limit", over_limit + std::string(64, ' '), "over the 100 MB limit"},
      {"not JSON", raw_file("{not json", 0), "header is not valid JSON"},
      {"JSON array", raw_file("[1,2]", 0), "not a JSON object"},
      {"offsets past the end", raw_file(ok, 4), "tensor w: data_offsets [0,8] point past the end"},
      {"truncated data", raw_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 15), "point past the end"},
      {"overlap", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       "tensors a and b overlap"},
      {"size mismatch", raw_file(R"({"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,8]}})", 8),
       "tensor w: F16 × shape [2,3] is 12 bytes, but data_offsets span 8"},
      {"overflowing shape", raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8),
       "tensor w: shape [4294967296,4294967296,16] overflows"},
      {"unknown dtype", raw_file(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8), "tensor w: unsupported dtype Q4"},
      {"negative dimension", raw_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "tensor w: shape [-2] is not a list"},
      {"float offsets", raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}})", 8), "tensor w: data_offsets are not byte offsets"},
      {"end before begin", raw_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "end before they begin"},
      {"missing offsets", raw_file(R"({"w":{"dtype":"F32","shape":[2]}})", 8), "tensor w: data_offsets is missing"},
      {"missing dtype", raw_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8), "tensor w: dtype is missing"},
      {"entry not an object", raw_file(R"({"w":3})", 0), "tensor w: entry is not an object"},
      {"metadata not strings", raw_file(R"({"__metadata__":{"a":1}})", 0), "__metadata__ entry a is not a string"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::string path = dir.path("bad.safetensors");
    write_text(path, c.bytes);
    std::string message = error_of(path);
    CHECK(message.find(path) == 0);
    CHECK_MESSAGE(message.find(c.message) != std::string::npos, message);
  }
  CHECK(error_of(dir.path("absent.safetensors")).find("cannot open") != std::string::npos);
}

TEST_CASE("random damage to a real file never crashes the reader") {
  ScratchDir dir("mutate");
  const std::string source = std::string(ANYTOK_TEST_DATA) + "/golden/torch-transformer-preln/case.safetensors";
  const std::string original = test::read_text(source);
  std::mt19937 rng(42);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = original;
    int edits = 1 + static_cast<int>(rng() % 4);
    uint64_t header_end = 8 + 344;  // mutate mostly the header, where the claims are
    for (int e = 0; e < edits; ++e) bytes[rng() % header_end] = static_cast<char>(rng());
    if (trial % 5 == 0) bytes.resize(rng() % bytes.size());
    std::string path = dir.path("m.safetensors");
    write_text(path, bytes);
    try {
      SafetensorsFile f(path);
      for (const auto& t : f.tensors()) {
        Tensor v = f.to_float(t);  // touches every byte the header claims
        CHECK(v.numel() == shape_numel(t.shape));
      }
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 1000);
}
