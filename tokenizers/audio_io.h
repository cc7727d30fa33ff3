// Audio files ↔ float32 samples, read and written with libsndfile and resampled with libsoxr.
//
// Samples are float32, laid out [channels, frames] (channel-major, as PyTorch's [C, L]). Integer files are read
// as libsndfile normalises them, v/2^(bits−1): a 16-bit sample v becomes exactly v/32768, as torchaudio and
// soundfile give for PCM_16. Float files are returned as stored, so their samples may leave [−1, 1].
//
// Reading streams: memory does not grow with the file's length, so an hour of audio can be encoded block by
// block. Every file is checked before its first sample is returned: a missing, unreadable, empty, unrecognised
// or truncated file, or one whose header claims no channels, no sample rate or no frames, is refused with an
// Error naming it. A file that stops decoding before the frame count its header claims is refused when the
// reader reaches the gap.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/tensor.h"

struct sf_private_tag;  // libsndfile's SNDFILE
struct soxr;            // libsoxr's resampler

namespace anytok {

// Pcm16: 16-bit integers, v = round(x·32768) clipped to [−32768, 32767], so every multiple of 1/32768 in
// [−1, 1) round-trips exactly and 1.0 becomes 32767/32768. Float: 32-bit IEEE floats, stored unchanged.
enum class AudioSubtype { Pcm16, Float };
AudioSubtype parse_audio_subtype(const std::string& name);  // "pcm16" | "float"; Error otherwise

// Streams a file through libsndfile: WAV, FLAC, Ogg/Vorbis, AIFF and the other formats the installed libsndfile
// reads (MP3 when it was built with mpg123), any channel count, converting channels and resampling on the way.
class AudioReader {
 public:
  // target_rate 0 keeps the file's rate; target_channels 0 keeps its channel count. Channels convert as
  // EnCodec's convert_audio does, for any count rather than its mono or stereo only: to 1 channel is the mean
  // over the channels; from 1 channel is that channel duplicated; a count kept as it is stays; anything else
  // (6 channels → 2, 2 → 3) is an Error naming the file and both counts. Resampling is libsoxr's SOXR_HQ
  // (20-bit, linear phase), streamed and flushed at the end. EnCodec's own julius.resample_frac is a
  // different filter (a windowed sinc with its cutoff nearer Nyquist), so resampled samples differ from its.
  AudioReader(const std::string& path, int64_t target_rate = 0, int64_t target_channels = 0);
  ~AudioReader();
  AudioReader(const AudioReader&) = delete;
  AudioReader& operator=(const AudioReader&) = delete;

  const std::string& path() const { return path_; }
  int64_t file_rate() const { return file_rate_; }
  int64_t file_channels() const { return file_channels_; }
  int64_t file_frames() const { return file_frames_; }
  int64_t rate() const { return rate_; }
  int64_t channels() const { return channels_; }
  // The frames the whole file yields at rate(): file_frames() unresampled, else ⌊file_frames·rate/file_rate + ½⌋,
  // the count libsoxr itself aims at when flushed; the resampled stream is cut or padded with zeros to exactly
  // that many, so the total never depends on libsoxr's version or on the block sizes.
  int64_t frames() const { return frames_; }
  int64_t frames_read() const { return emitted_; }

  // The next block of min(max_frames, frames() − frames_read()) frames, [channels, n]; [channels, 0] at the end.
  // max_frames must be positive.
  Tensor read(int64_t max_frames);

 private:
  int64_t pull(float* out, int64_t max_frames);  // converted channels at the file's rate; 0 at the end
  [[noreturn]] void fail_truncated() const;

  struct CloseFile {
    void operator()(sf_private_tag* file) const;
  };
  struct DeleteResampler {
    void operator()(soxr* resampler) const;
  };

  std::string path_;
  std::unique_ptr<sf_private_tag, CloseFile> file_;
  std::unique_ptr<soxr, DeleteResampler> resampler_;  // null when the rate is kept
  int64_t file_rate_ = 0, file_channels_ = 0, file_frames_ = 0;
  int64_t rate_ = 0, channels_ = 0, frames_ = 0;
  int64_t file_frames_read_ = 0, emitted_ = 0;
  std::vector<float> raw_;                     // a block as libsndfile reads it, interleaved, file_channels_ wide
  std::vector<float> input_;                   // resampler input, interleaved, channels_ wide
  size_t input_begin_ = 0, input_end_ = 0;     // frames of input_ not yet taken by the resampler
  std::vector<float> interleaved_;             // the block being assembled for read()
  bool input_done_ = false, flushed_ = false;
};

// A whole file at once, [channels, frames] (by AudioReader). `file_rate`, when given, receives the file's rate.
Tensor read_audio(const std::string& path, int64_t target_rate = 0, int64_t target_channels = 0,
                  int64_t* file_rate = nullptr);

// Streams blocks [channels, n] to a WAV or FLAC file, the format chosen by the extension (.wav or .flac, any
// case; anything else is an Error). FLAC with Float is an Error (FLAC stores integers only). A NaN sample is an
// Error; Pcm16 clips everything else to [−1, 1].
class AudioWriter {
 public:
  AudioWriter(const std::string& path, int64_t rate, int64_t channels, AudioSubtype subtype);
  ~AudioWriter();  // closes, swallowing errors: call close() to hear of them
  AudioWriter(const AudioWriter&) = delete;
  AudioWriter& operator=(const AudioWriter&) = delete;

  void write(const Tensor& block);  // [channels, n]
  void close();                     // finishes the header and closes; libsndfile's errors become Error

 private:
  std::string path_;
  int64_t channels_ = 0;
  AudioSubtype subtype_;
  sf_private_tag* file_ = nullptr;
  std::vector<float> floats_;
  std::vector<int16_t> shorts_;
};

// `samples` [channels, frames] in one go (by AudioWriter).
void write_audio(const std::string& path, const Tensor& samples, int64_t rate, AudioSubtype subtype);

}  // namespace anytok
