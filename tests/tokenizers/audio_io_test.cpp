// Reading and writing audio: exact round trips, channel conversion as EnCodec's convert_audio, resampling with a
// frame count known in advance, and bad files refused with a message naming them. Every file is made here.
#include <doctest/doctest.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numbers>
#include <vector>

#include "nn/error.h"
#include "test_util.h"
#include "tokenizers/audio_io.h"

using namespace anytok;
using test::max_abs_diff;
using anytok::test::read_text;
using anytok::test::ScratchDir;
using anytok::test::write_text;

namespace {

// [channels, frames]: channel c is a sine of frequency·(c + 1) Hz at amplitude 0.5.
Tensor sines(int64_t channels, int64_t frames, double rate, double frequency) {
  Tensor t({channels, frames});
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < frames; ++i)
      t[c * frames + i] = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * frequency * (c + 1) * i / rate));
  return t;
}

// Random multiples of 1/32768 in [−1, 1): what a 16-bit file holds.
Tensor pcm16_values(int64_t channels, int64_t frames, uint32_t seed) {
  Tensor t = test::random_tensor({channels, frames}, seed, 0.3f);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = std::nearbyint(std::clamp(t[i], -1.0f, 0.999f) * 32768.0f) / 32768.0f;
  t[0] = -1.0f;
  t[1] = 32767.0f / 32768.0f;
  return t;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string read_error(const std::string& path) {
  return error_of([&] { AudioReader reader(path, 0, 0); while (!reader.read(1000).empty()) {} });
}

void put16(std::string& s, uint32_t v) { s += static_cast<char>(v & 0xFF), s += static_cast<char>(v >> 8 & 0xFF); }
void put32(std::string& s, uint32_t v) { put16(s, v & 0xFFFF), put16(s, v >> 16); }

// A canonical 44-byte PCM WAV header, its fields as given, whatever follows it.
std::string wav_header(uint32_t channels, uint32_t rate, uint32_t data_bytes, uint32_t bits = 16) {
  std::string s = "RIFF";
  put32(s, 36 + data_bytes);
  s += "WAVEfmt ";
  put32(s, 16);
  put16(s, 1);  // PCM
  put16(s, channels);
  put32(s, rate);
  put32(s, rate * channels * bits / 8);
  put16(s, channels * bits / 8);
  put16(s, bits);
  s += "data";
  put32(s, data_bytes);
  return s;
}

// Everything a reader yields in blocks of `block` frames, joined.
Tensor read_in_blocks(const std::string& path, int64_t rate, int64_t channels, int64_t block, int64_t* promised) {
  AudioReader reader(path, rate, channels);
  *promised = reader.frames();
  int64_t total = 0;
  std::vector<Tensor> parts;
  for (Tensor t = reader.read(block); !t.empty(); t = reader.read(block)) {
    REQUIRE(t.rank() == 2);
    REQUIRE(t.dim(0) == reader.channels());
    REQUIRE(t.dim(1) <= block);
    parts.push_back(t);
    total += t.dim(1);
  }
  CHECK(reader.read(block).shape() == Shape{reader.channels(), 0});  // stays at the end
  Tensor out({reader.channels(), total});
  int64_t at = 0;
  for (const Tensor& p : parts) {
    for (int64_t c = 0; c < reader.channels(); ++c)
      for (int64_t i = 0; i < p.dim(1); ++i) out[c * total + at + i] = p[c * p.dim(1) + i];
    at += p.dim(1);
  }
  return out;
}

}  // namespace

TEST_CASE("sample format names") {
  CHECK(parse_audio_subtype("pcm16") == AudioSubtype::Pcm16);
  CHECK(parse_audio_subtype("float") == AudioSubtype::Float);
  CHECK_THROWS_WITH_AS(parse_audio_subtype("pcm24"), "unknown audio sample format \"pcm24\" (expected pcm16 or float)",
                       Error);
}

TEST_CASE("a 16-bit WAV reads as int16/32768 exactly") {
  ScratchDir dir("audio-io");
  const int16_t values[] = {-32768, -32767, -12345, -1, 0, 1, 2, 12345, 32766, 32767};
  std::string bytes = wav_header(1, 8000, sizeof values);
  for (int16_t v : values) put16(bytes, static_cast<uint16_t>(v));
  write_text(dir.path("known.wav"), bytes);
  int64_t rate = 0;
  const Tensor t = read_audio(dir.path("known.wav"), 0, 0, &rate);
  CHECK(rate == 8000);
  REQUIRE(t.shape() == Shape{1, 10});
  for (int i = 0; i < 10; ++i) CHECK(t[i] == static_cast<float>(values[i]) / 32768.0f);
}

TEST_CASE("pcm16 and float round trips through WAV and FLAC") {
  ScratchDir dir("audio-io");
  const Tensor pcm = pcm16_values(2, 5000, 1);

  SUBCASE("pcm16 WAV keeps every multiple of 1/32768") {
    write_audio(dir.path("a.wav"), pcm, 16000, AudioSubtype::Pcm16);
    int64_t rate = 0;
    const Tensor back = read_audio(dir.path("a.wav"), 0, 0, &rate);
    CHECK(rate == 16000);
    CHECK(max_abs_diff(back, pcm) == 0.0f);
  }
  SUBCASE("pcm16 FLAC keeps every multiple of 1/32768") {
    write_audio(dir.path("a.flac"), pcm, 24000, AudioSubtype::Pcm16);
    AudioReader reader(dir.path("a.flac"));
    CHECK(reader.file_rate() == 24000);
    CHECK(reader.file_channels() == 2);
    CHECK(reader.file_frames() == 5000);
    CHECK(max_abs_diff(read_audio(dir.path("a.flac")), pcm) == 0.0f);
  }
  SUBCASE("pcm16 rounds to the nearest step and clips") {
    Tensor x({1, 6}, {0.3f, -0.3f, 1.0f, 1.5f, -2.0f, 1e-6f});
    write_audio(dir.path("b.wav"), x, 8000, AudioSubtype::Pcm16);
    const Tensor back = read_audio(dir.path("b.wav"));
    CHECK(back[0] == std::nearbyint(0.3f * 32768) / 32768);
    CHECK(back[1] == -back[0]);
    CHECK(back[2] == 32767.0f / 32768.0f);  // 1.0 has no 16-bit value of its own
    CHECK(back[3] == 32767.0f / 32768.0f);
    CHECK(back[4] == -1.0f);
    CHECK(back[5] == 0.0f);
    for (int i = 0; i < 2; ++i) CHECK(std::abs(back[i] - x[i]) <= 0.5f / 32768);
  }
  SUBCASE("float WAV is exact, beyond [-1, 1] too") {
    Tensor x = test::random_tensor({3, 4000}, 2);
    x[0] = 1.75f;
    x[1] = -3.0f;
    x[2] = 1e-30f;
    write_audio(dir.path("c.wav"), x, 44100, AudioSubtype::Float);
    CHECK(std::memcmp(read_audio(dir.path("c.wav")).data(), x.data(), sizeof(float) * x.numel()) == 0);
  }
  SUBCASE("streamed blocks make the same file as one write") {
    {
      AudioWriter writer(dir.path("d.wav"), 16000, 2, AudioSubtype::Pcm16);
      for (int64_t at = 0; at < 5000; at += 1234) {
        const int64_t n = std::min<int64_t>(1234, 5000 - at);
        Tensor block({2, n});
        for (int64_t c = 0; c < 2; ++c)
          for (int64_t i = 0; i < n; ++i) block[c * n + i] = pcm[c * 5000 + at + i];
        writer.write(block);
      }
      writer.write(Tensor({2, 0}));
      writer.close();
      writer.close();  // a second close does nothing
    }
    write_audio(dir.path("e.wav"), pcm, 16000, AudioSubtype::Pcm16);
    CHECK(read_text(dir.path("d.wav")) == read_text(dir.path("e.wav")));
  }
  SUBCASE("the destructor closes a file") {
    { AudioWriter(dir.path("f.flac"), 16000, 2, AudioSubtype::Pcm16).write(pcm); }
    CHECK(max_abs_diff(read_audio(dir.path("f.flac")), pcm) == 0.0f);
  }
}

TEST_CASE("lossy formats, written by libsndfile itself, read with their exact length") {
  ScratchDir dir("audio-io");
  const Tensor x = sines(2, 20000, 22050, 440);
  struct Case {
    const char* file;
    int format;
  };
  for (const Case& c : {Case{"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
                        Case{"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III}}) {
    CAPTURE(c.file);
    const std::string path = dir.path(c.file);
    SF_INFO info{};
    info.samplerate = 22050;
    info.channels = 2;
    info.format = c.format;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) {  // a libsndfile built without LAME or libvorbis
      MESSAGE(cat("libsndfile cannot write ", c.file, "; not tested: ", sf_strerror(nullptr)));
      continue;
    }
    std::vector<float> interleaved(40000);
    for (int64_t i = 0; i < 20000; ++i) interleaved[2 * i] = x[i], interleaved[2 * i + 1] = x[20000 + i];
    REQUIRE(sf_writef_float(file, interleaved.data(), 20000) == 20000);
    REQUIRE(sf_close(file) == 0);

    AudioReader reader(path, 0, 1);
    CHECK(reader.file_frames() == 20000);
    CHECK(reader.frames() == 20000);
    int64_t promised = 0;
    const Tensor mono = read_in_blocks(path, 0, 1, 3000, &promised);
    CHECK(mono.shape() == Shape{1, 20000});
    double error = 0;  // lossy, but close to the mean of the two sines, and in time with it
    for (int64_t i = 1000; i < 19000; ++i)
      error = std::max<double>(error, std::abs(mono[i] - (x[i] + x[20000 + i]) / 2));
    CHECK(error < 0.05);
  }
}

TEST_CASE("channels convert as EnCodec's convert_audio") {
  ScratchDir dir("audio-io");
  const Tensor three = test::random_tensor({3, 3000}, 3, 0.2f);
  write_audio(dir.path("three.wav"), three, 16000, AudioSubtype::Float);
  const Tensor mono = sines(1, 3000, 16000, 440);
  write_audio(dir.path("mono.wav"), mono, 16000, AudioSubtype::Float);
  const Tensor stereo = sines(2, 3000, 16000, 440);
  write_audio(dir.path("stereo.wav"), stereo, 16000, AudioSubtype::Float);

  SUBCASE("three channels are kept") {
    AudioReader reader(dir.path("three.wav"));
    CHECK(reader.channels() == 3);
    CHECK(max_abs_diff(read_audio(dir.path("three.wav")), three) == 0.0f);
    CHECK(max_abs_diff(read_audio(dir.path("three.wav"), 0, 3), three) == 0.0f);
  }
  SUBCASE("to mono is the mean") {
    const Tensor t = read_audio(dir.path("three.wav"), 0, 1);
    REQUIRE(t.shape() == Shape{1, 3000});
    for (int64_t i = 0; i < 3000; ++i) CHECK(t[i] == (three[i] + three[3000 + i] + three[6000 + i]) / 3.0f);
    const Tensor s = read_audio(dir.path("stereo.wav"), 0, 1);
    for (int64_t i = 0; i < 3000; ++i) CHECK(s[i] == (stereo[i] + stereo[3000 + i]) / 2.0f);
  }
  SUBCASE("mono to stereo duplicates, stereo stays") {
    const Tensor t = read_audio(dir.path("mono.wav"), 0, 2);
    REQUIRE(t.shape() == Shape{2, 3000});
    for (int64_t i = 0; i < 3000; ++i) CHECK((t[i] == mono[i] && t[3000 + i] == mono[i]));
    CHECK(max_abs_diff(read_audio(dir.path("stereo.wav"), 0, 2), stereo) == 0.0f);
  }
  SUBCASE("six channels to two is refused") {
    write_audio(dir.path("six.wav"), Tensor({6, 100}), 16000, AudioSubtype::Pcm16);
    const std::string message = error_of([&] { AudioReader(dir.path("six.wav"), 0, 2); });
    CHECK(message == dir.path("six.wav") + ": has 6 channels, which cannot be converted to 2 (only to 1 by averaging, "
                                           "or from 1 by duplicating)");
    CHECK(error_of([&] { read_audio(dir.path("stereo.wav"), 0, 3); }).find("has 2 channels") != std::string::npos);
  }
}

TEST_CASE("resampling 16 kHz to 24 kHz keeps a 440 Hz sine and promises its frame count") {
  ScratchDir dir("audio-io");
  const std::string path = dir.path("sine.wav");
  write_audio(path, sines(1, 16000, 16000, 440), 16000, AudioSubtype::Float);
  AudioReader reader(path, 24000, 0);
  CHECK(reader.file_rate() == 16000);
  CHECK(reader.rate() == 24000);
  CHECK(reader.frames() == 24000);
  int64_t promised = 0;
  const Tensor out = read_in_blocks(path, 24000, 0, 4096, &promised);
  CHECK(promised == 24000);
  REQUIRE(out.shape() == Shape{1, 24000});

  // Away from the edges, where the filter sees the signal's start and end, the sine is there in phase.
  const Tensor ideal = sines(1, 24000, 24000, 440);
  double dot = 0, aa = 0, bb = 0, worst = 0;
  int crossings = 0;
  for (int64_t i = 500; i < 23500; ++i) {
    dot += out[i] * ideal[i], aa += out[i] * out[i], bb += ideal[i] * ideal[i];
    worst = std::max<double>(worst, std::abs(out[i] - ideal[i]));
    crossings += (out[i] < 0) != (out[i + 1] < 0);
  }
  CHECK(dot / std::sqrt(aa * bb) > 0.99999);
  CHECK(worst < 1e-3);
  CHECK(std::abs(crossings - 2 * 440 * 23000.0 / 24000) <= 2);
}

TEST_CASE("the promised frame count holds for uneven ratios and lengths") {
  ScratchDir dir("audio-io");
  struct Case {
    int64_t from, to, frames;
  };
  for (const Case& c : {Case{44100, 16000, 12345}, Case{16000, 44100, 777}, Case{48000, 24000, 1},
                        Case{8000, 48000, 3}, Case{22050, 24000, 70001}, Case{24000, 16000, 3}}) {
    CAPTURE(c.from);
    CAPTURE(c.to);
    CAPTURE(c.frames);
    const std::string path = dir.path("x.wav");
    write_audio(path, test::random_tensor({2, c.frames}, 4, 0.1f), c.from, AudioSubtype::Float);
    const int64_t expected = (2 * c.frames * c.to + c.from) / (2 * c.from);  // round half up
    int64_t promised = 0;
    const Tensor out = read_in_blocks(path, c.to, 0, 1000, &promised);
    CHECK(promised == expected);
    CHECK(out.dim(1) == expected);
  }
}

TEST_CASE("reading in small blocks gives what reading at once does") {
  ScratchDir dir("audio-io");
  const std::string path = dir.path("x.flac");
  write_audio(path, pcm16_values(2, 9001, 5), 22050, AudioSubtype::Pcm16);
  for (int64_t rate : {int64_t{0}, int64_t{24000}, int64_t{16000}})
    for (int64_t channels : {int64_t{0}, int64_t{1}}) {
      CAPTURE(rate);
      CAPTURE(channels);
      const Tensor whole = read_audio(path, rate, channels);
      for (int64_t block : {int64_t{1}, int64_t{7}, int64_t{4099}, int64_t{100000}}) {
        CAPTURE(block);
        int64_t promised = 0;
        const Tensor pieces = read_in_blocks(path, rate, channels, block, &promised);
        CHECK(promised == whole.dim(1));
        CHECK(max_abs_diff(pieces, whole) == 0.0f);
      }
    }
}

TEST_CASE("bad files are refused with a message naming them") {
  ScratchDir dir("audio-io");
  auto refused = [&](const std::string& path, const std::string& part) {
    CAPTURE(path);
    const std::string message = read_error(path);
    CHECK(message.rfind(path + ": ", 0) == 0);
    CHECK(message.find(part) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    return message;
  };

  refused(dir.path("missing.wav"), "cannot be read as audio (System error");
  write_text(dir.path("text.wav"), "This is not a WAV file, only some text that says it is one.\n");
  refused(dir.path("text.wav"), "cannot be read as audio");
  write_text(dir.path("empty.wav"), "");
  refused(dir.path("empty.wav"), "is empty (0 bytes)");
  std::filesystem::create_directory(dir.path("folder.wav"));
  refused(dir.path("folder.wav"), "is a folder, not an audio file");

  write_audio(dir.path("good.wav"), pcm16_values(1, 1000, 6), 16000, AudioSubtype::Pcm16);
  const std::string good = read_text(dir.path("good.wav"));
  write_text(dir.path("truncated.wav"), good.substr(0, 1000));
  CHECK(refused(dir.path("truncated.wav"), "is a truncated WAV") ==
        dir.path("truncated.wav") + ": is a truncated WAV (its data chunk claims 2000 bytes; the file holds 956)");
  write_text(dir.path("header-only.wav"), good.substr(0, 30));
  refused(dir.path("header-only.wav"), "cannot be read as audio");

  { AudioWriter(dir.path("no-frames.wav"), 16000, 1, AudioSubtype::Pcm16).close(); }
  CHECK(read_error(dir.path("no-frames.wav")) == dir.path("no-frames.wav") + ": no audio samples");
  write_text(dir.path("no-frames2.wav"), wav_header(2, 16000, 0));
  refused(dir.path("no-frames2.wav"), "no audio samples");

  std::string zero_channels = wav_header(0, 16000, 200) + std::string(200, '\0');
  write_text(dir.path("zero-channels.wav"), zero_channels);
  refused(dir.path("zero-channels.wav"), "is corrupt (its header claims 0 channels)");
  write_text(dir.path("zero-rate.wav"), wav_header(1, 0, 200) + std::string(200, '\0'));
  refused(dir.path("zero-rate.wav"), "is corrupt (its header claims a sample rate of 0 Hz)");

  write_audio(dir.path("good.flac"), pcm16_values(2, 20000, 7), 16000, AudioSubtype::Pcm16);
  const std::string flac = read_text(dir.path("good.flac"));
  write_text(dir.path("truncated.flac"), flac.substr(0, flac.size() / 2));
  refused(dir.path("truncated.flac"), "is truncated or corrupt (it ends after");
  // Half the file decodes before the reader notices, also when resampling.
  CHECK(error_of([&] { read_audio(dir.path("truncated.flac"), 24000, 1); }).rfind(dir.path("truncated.flac"), 0) == 0);
  std::string garbled = flac;
  for (size_t i = flac.size() / 3; i < flac.size(); i += 7) garbled[i] = static_cast<char>(garbled[i] ^ 0x5A);
  write_text(dir.path("garbled.flac"), garbled);
  const std::string message = read_error(dir.path("garbled.flac"));  // must end, whatever libFLAC makes of it
  CHECK(message.rfind(dir.path("garbled.flac") + ": ", 0) == 0);
}

TEST_CASE("bad requests are refused") {
  ScratchDir dir("audio-io");
  const std::string path = dir.path("a.wav");
  write_audio(path, sines(1, 100, 16000, 440), 16000, AudioSubtype::Pcm16);
  CHECK(error_of([&] { AudioReader(path, -1, 0); }).rfind(path + ": cannot resample to -1 Hz", 0) == 0);
  CHECK(error_of([&] { AudioReader(path, 0, -2); }) == path + ": cannot convert to -2 channels");
  CHECK(error_of([&] { AudioReader(path, 0, 2000); }) == path + ": cannot convert to 2000 channels");
  CHECK(error_of([&] { AudioReader(path).read(0); }) == path + ": cannot read a block of 0 frames");

  CHECK(error_of([&] { AudioWriter(dir.path("a.mp3"), 16000, 1, AudioSubtype::Pcm16); }) ==
        dir.path("a.mp3") + ": cannot tell the audio format from the extension (write a .wav or .flac file)");
  CHECK(error_of([&] { AudioWriter(dir.path("a.flac"), 16000, 1, AudioSubtype::Float); }) ==
        dir.path("a.flac") + ": FLAC stores integer samples only; write float samples to a .wav file");
  CHECK(error_of([&] { AudioWriter(dir.path("b.wav"), 0, 1, AudioSubtype::Pcm16); }) ==
        dir.path("b.wav") + ": cannot write audio at 0 Hz");
  CHECK(error_of([&] { AudioWriter(dir.path("b.wav"), 16000, 0, AudioSubtype::Pcm16); }) ==
        dir.path("b.wav") + ": cannot write audio with 0 channels");
  const std::string nowhere = dir.path("no/such/folder/b.wav");
  CHECK(error_of([&] { AudioWriter(nowhere, 16000, 1, AudioSubtype::Pcm16); }).rfind(nowhere + ": cannot be written (", 0) ==
        0);
  CHECK(error_of([&] { write_audio(dir.path("c.wav"), Tensor({100}), 16000, AudioSubtype::Pcm16); }) ==
        dir.path("c.wav") + ": cannot write samples of shape [100] (expected [channels, frames])");

  AudioWriter writer(dir.path("d.wav"), 16000, 2, AudioSubtype::Float);
  CHECK(error_of([&] { writer.write(Tensor({1, 10})); }) ==
        dir.path("d.wav") + ": cannot write a block of shape [1,10] to a file of 2 channels (expected [2, frames])");
  Tensor nan({2, 3});
  nan[4] = std::nanf("");
  CHECK(error_of([&] { writer.write(nan); }) == dir.path("d.wav") + ": cannot write NaN (channel 1, frame 1 of a block)");
  writer.close();
  CHECK(error_of([&] { writer.write(Tensor({2, 10})); }) == dir.path("d.wav") + ": cannot write to a closed audio file");
}
