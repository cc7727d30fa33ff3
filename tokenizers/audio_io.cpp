#include "tokenizers/audio_io.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "nn/error.h"

namespace anytok {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw Error(cat(path, ": ", what)); }

// libsndfile's messages end with a full stop, which reads badly inside parentheses.
std::string sndfile_error(SNDFILE* file) {
  std::string message = sf_strerror(file);
  while (!message.empty() && (message.back() == '.' || message.back() == ' ')) message.pop_back();
  return message;
}

constexpr int64_t kBlockFrames = 4096;  // frames read from libsndfile at a time
// Far above any audio rate (768 kHz is the highest in use); a header beyond it is corrupt, and libsoxr would
// build filters for a ratio of millions to resample it.
constexpr int64_t kMaxRate = 16'000'000;
constexpr int64_t kMaxChannels = 1024;  // libsndfile's own limit

uint32_t le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Walks a WAV's RIFF chunks before libsndfile reads it, for two faults it reports badly or not at all:
//  - a format chunk with no channels or a zero sample rate, which libsndfile calls an "internal error";
//  - a data chunk that claims more bytes than the file holds, which libsndfile quietly shortens, so that a
//    truncated download would read as a shorter sound. 0xFFFFFFFF is what writers streaming to a pipe put there:
//    a length they could not know.
// Other files, and WAVs too damaged to walk, are left to libsndfile.
void check_wav_header(const std::string& path) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  unsigned char header[12];
  if (ec || !in.read(reinterpret_cast<char*>(header), sizeof header)) return;
  if (std::memcmp(header, "RIFF", 4) != 0 || std::memcmp(header + 8, "WAVE", 4) != 0) return;
  for (uint64_t pos = 12; size - pos >= 8;) {
    unsigned char chunk[16];
    if (!in.seekg(static_cast<std::streamoff>(pos)) || !in.read(reinterpret_cast<char*>(chunk), 8)) return;
    const uint64_t length = le32(chunk + 4), held = size - pos - 8;
    if (std::memcmp(chunk, "fmt ", 4) == 0 && length >= 8 && held >= 8 &&
        in.read(reinterpret_cast<char*>(chunk + 8), 8)) {
      const unsigned channels = chunk[10] | unsigned{chunk[11]} << 8;
      if (channels == 0) fail(path, "is corrupt (its header claims 0 channels)");
      if (le32(chunk + 12) == 0) fail(path, "is corrupt (its header claims a sample rate of 0 Hz)");
    }
    if (std::memcmp(chunk, "data", 4) == 0) {
      if (length != 0xFFFFFFFF && length > held)
        fail(path, cat("is a truncated WAV (its data chunk claims ", length, " bytes; the file holds ", held, ")"));
      return;
    }
    pos += 8 + length + (length & 1);  // chunks are padded to an even length
    if (pos > size) return;
  }
}

}  // namespace

AudioSubtype parse_audio_subtype(const std::string& name) {
  if (name == "pcm16") return AudioSubtype::Pcm16;
  if (name == "float") return AudioSubtype::Float;
  throw Error(cat("unknown audio sample format \"", name, "\" (expected pcm16 or float)"));
}

void AudioReader::CloseFile::operator()(sf_private_tag* file) const { sf_close(file); }
void AudioReader::DeleteResampler::operator()(soxr* resampler) const { soxr_delete(resampler); }

AudioReader::AudioReader(const std::string& path, int64_t target_rate, int64_t target_channels) : path_(path) {
  if (target_rate < 0 || target_rate > kMaxRate)
    fail(path, cat("cannot resample to ", target_rate, " Hz (the rate must be 1 to ", kMaxRate, ", or 0 to keep it)"));
  if (target_channels < 0 || target_channels > kMaxChannels)
    fail(path, cat("cannot convert to ", target_channels, " channels"));
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not an audio file");
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) == 0 && !ec)
    fail(path, "is empty (0 bytes)");

  check_wav_header(path);
  SF_INFO info{};
  file_.reset(sf_open(path.c_str(), SFM_READ, &info));
  if (!file_) fail(path, cat("cannot be read as audio (", sndfile_error(nullptr), ")"));
  if (info.channels <= 0) fail(path, cat("is corrupt (its header claims ", info.channels, " channels)"));
  if (info.samplerate <= 0 || info.samplerate > kMaxRate)
    fail(path, cat("is corrupt (its header claims a sample rate of ", info.samplerate, " Hz)"));
  if (info.frames == SF_COUNT_MAX || info.frames < 0) fail(path, "has an unknown length");
  if (info.frames == 0) fail(path, "no audio samples");
  // Integers become v/2^(bits−1); libsndfile's default, set here so that nothing else can change it.
  sf_command(file_.get(), SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);

  file_rate_ = info.samplerate;
  file_channels_ = info.channels;
  file_frames_ = info.frames;
  rate_ = target_rate ? target_rate : file_rate_;
  channels_ = target_channels ? target_channels : file_channels_;
  if (channels_ != file_channels_ && channels_ != 1 && file_channels_ != 1)
    fail(path, cat("has ", file_channels_, " channels, which cannot be converted to ", channels_,
                   " (only to 1 by averaging, or from 1 by duplicating)"));

  if (rate_ == file_rate_) {
    frames_ = file_frames_;
  } else {
    // ⌊F·R/Rf + ½⌋ in integers: F < 2^63 and R ≤ 2^24 cannot overflow 128 bits.
    const unsigned __int128 f = static_cast<uint64_t>(file_frames_), r = static_cast<uint64_t>(rate_),
                            rf = static_cast<uint64_t>(file_rate_);
    const unsigned __int128 n = (2 * f * r + rf) / (2 * rf);
    if (n > static_cast<unsigned __int128>(INT64_MAX)) fail(path, "is too long to resample");
    frames_ = static_cast<int64_t>(n);
    soxr_error_t error = nullptr;
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    resampler_.reset(soxr_create(static_cast<double>(file_rate_), static_cast<double>(rate_),
                                 static_cast<unsigned>(channels_), &error, &io, &quality, nullptr));
    if (error || !resampler_)
      fail(path, cat("cannot resample from ", file_rate_, " to ", rate_, " Hz (libsoxr: ", soxr_strerror(error), ")"));
    input_.resize(static_cast<size_t>(kBlockFrames * channels_));
  }
  raw_.resize(static_cast<size_t>(kBlockFrames * file_channels_));
}

AudioReader::~AudioReader() = default;

void AudioReader::fail_truncated() const {
  const std::string why = sf_error(file_.get()) ? cat("; libsndfile: ", sndfile_error(file_.get())) : "";
  fail(path_, cat("is truncated or corrupt (it ends after ", file_frames_read_, " of the ", file_frames_,
                  " frames its header claims", why, ")"));
}

int64_t AudioReader::pull(float* out, int64_t max_frames) {
  const int64_t want = std::min({max_frames, kBlockFrames, file_frames_ - file_frames_read_});
  if (want == 0) return 0;
  const bool direct = channels_ == file_channels_;
  const int64_t got = sf_readf_float(file_.get(), direct ? out : raw_.data(), want);
  if (got <= 0) fail_truncated();
  file_frames_read_ += got;
  if (direct) return got;
  const int64_t fc = file_channels_, c = channels_;
  for (int64_t i = 0; i < got; ++i) {
    const float* frame = raw_.data() + i * fc;
    if (c == 1) {
      float sum = 0;  // summed in channel order, then divided: what torch's mean gives for 2 channels
      for (int64_t k = 0; k < fc; ++k) sum += frame[k];
      out[i] = sum / static_cast<float>(fc);
    } else {
      std::fill(out + i * c, out + (i + 1) * c, frame[0]);  // file_channels_ == 1
    }
  }
  return got;
}

Tensor AudioReader::read(int64_t max_frames) {
  if (max_frames <= 0) fail(path_, cat("cannot read a block of ", max_frames, " frames"));
  const int64_t n = std::min(max_frames, frames_ - emitted_);
  interleaved_.resize(static_cast<size_t>(n * channels_));
  float* dst = interleaved_.data();
  int64_t produced = 0;
  while (produced < n) {
    if (!resampler_) {
      const int64_t got = pull(dst + produced * channels_, n - produced);
      if (got == 0) fail_truncated();  // cannot happen: frames_ == file_frames_ here
      produced += got;
      continue;
    }
    if (flushed_) {  // libsoxr gave fewer frames than frames_ promises: pad with silence
      std::fill(dst + produced * channels_, dst + n * channels_, 0.0f);
      produced = n;
      break;
    }
    if (input_begin_ == input_end_ && !input_done_) {
      input_begin_ = 0;
      input_end_ = static_cast<size_t>(pull(input_.data(), kBlockFrames));
      input_done_ = input_end_ == 0;
    }
    size_t used = 0, made = 0;
    // A null input asks libsoxr to flush what its filters still hold.
    const float* in = input_done_ ? nullptr : input_.data() + input_begin_ * channels_;
    const soxr_error_t error = soxr_process(resampler_.get(), in, input_end_ - input_begin_, &used,
                                            dst + produced * channels_, static_cast<size_t>(n - produced), &made);
    if (error) fail(path_, cat("cannot be resampled (libsoxr: ", error, ")"));
    input_begin_ += used;
    produced += static_cast<int64_t>(made);
    // With input and room for output libsoxr always takes input, so only a flush can end without progress.
    if (input_done_ && made == 0) flushed_ = true;
  }
  emitted_ += n;

  Tensor block({channels_, n});
  for (int64_t c = 0; c < channels_; ++c)
    for (int64_t i = 0; i < n; ++i) block[c * n + i] = dst[i * channels_ + c];
  return block;
}

Tensor read_audio(const std::string& path, int64_t target_rate, int64_t target_channels, int64_t* file_rate) {
  AudioReader reader(path, target_rate, target_channels);
  if (file_rate) *file_rate = reader.file_rate();
  // The output is allocated as it arrives rather than from the header's frame count: a forged FLAC header can
  // claim 2^36 frames in a file of a few bytes, and the reader refuses it only when the frames run out.
  std::vector<Tensor> blocks;
  for (Tensor block = reader.read(1 << 16); !block.empty(); block = reader.read(1 << 16)) blocks.push_back(block);
  const int64_t channels = reader.channels(), frames = reader.frames_read();
  Tensor samples({channels, frames});
  int64_t at = 0;
  for (const Tensor& block : blocks) {
    const int64_t n = block.dim(1);
    for (int64_t c = 0; c < channels; ++c)
      std::copy(block.data() + c * n, block.data() + (c + 1) * n, samples.data() + c * frames + at);
    at += n;
  }
  return samples;
}

AudioWriter::AudioWriter(const std::string& path, int64_t rate, int64_t channels, AudioSubtype subtype)
    : path_(path), channels_(channels), subtype_(subtype) {
  std::string extension = std::filesystem::path(path).extension().string();
  for (char& ch : extension) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  int format = 0;
  const int sample_format = subtype == AudioSubtype::Float ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16;
  if (extension == ".wav") format = SF_FORMAT_WAV | sample_format;
  else if (extension == ".flac") format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  else fail(path, "cannot tell the audio format from the extension (write a .wav or .flac file)");
  if (extension == ".flac" && subtype == AudioSubtype::Float)
    fail(path, "FLAC stores integer samples only; write float samples to a .wav file");
  if (rate <= 0 || rate > kMaxRate) fail(path, cat("cannot write audio at ", rate, " Hz"));
  if (channels <= 0 || channels > kMaxChannels) fail(path, cat("cannot write audio with ", channels, " channels"));

  SF_INFO info{};
  info.samplerate = static_cast<int>(rate);
  info.channels = static_cast<int>(channels);
  info.format = format;
  if (!sf_format_check(&info))
    fail(path, cat("libsndfile cannot write ", channels, " channels at ", rate, " Hz in this format"));
  file_ = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!file_) fail(path, cat("cannot be written (", sndfile_error(nullptr), ")"));
}

AudioWriter::~AudioWriter() {
  if (file_) sf_close(file_);
}

void AudioWriter::write(const Tensor& block) {
  if (!file_) fail(path_, "cannot write to a closed audio file");
  if (block.rank() != 2 || block.dim(0) != channels_)
    fail(path_, cat("cannot write a block of shape ", block.shape(), " to a file of ", channels_,
                    " channels (expected [", channels_, ", frames])"));
  const int64_t n = block.dim(1);
  if (n == 0) return;
  const size_t count = static_cast<size_t>(n * channels_);
  for (int64_t c = 0; c < channels_; ++c)
    for (int64_t i = 0; i < n; ++i)
      if (std::isnan(block[c * n + i]))
        fail(path_, cat("cannot write NaN (channel ", c, ", frame ", i, " of a block)"));
  sf_count_t written = 0;
  if (subtype_ == AudioSubtype::Float) {
    floats_.resize(count);
    for (int64_t c = 0; c < channels_; ++c)
      for (int64_t i = 0; i < n; ++i) floats_[i * channels_ + c] = block[c * n + i];
    written = sf_writef_float(file_, floats_.data(), n);
  } else {
    // Converted here rather than by libsndfile, which scales floats by 32767 when writing and by 1/32768 when
    // reading, so that its own round trip drifts by one step near full scale.
    shorts_.resize(count);
    for (int64_t c = 0; c < channels_; ++c)
      for (int64_t i = 0; i < n; ++i) {
        const float v = std::nearbyint(std::clamp(block[c * n + i], -1.0f, 1.0f) * 32768.0f);
        shorts_[i * channels_ + c] = static_cast<int16_t>(std::min(v, 32767.0f));
      }
    written = sf_writef_short(file_, shorts_.data(), n);
  }
  if (written != n) fail(path_, cat("cannot be written (", sndfile_error(file_), ")"));
}

void AudioWriter::close() {
  if (!file_) return;
  SNDFILE* file = file_;
  file_ = nullptr;
  if (const int error = sf_close(file)) fail(path_, cat("cannot be closed (", sf_error_number(error), ")"));
}

void write_audio(const std::string& path, const Tensor& samples, int64_t rate, AudioSubtype subtype) {
  if (samples.rank() != 2)
    fail(path, cat("cannot write samples of shape ", samples.shape(), " (expected [channels, frames])"));
  AudioWriter writer(path, rate, samples.dim(0), subtype);
  writer.write(samples);
  writer.close();
}

}  // namespace anytok
