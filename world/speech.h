// Speech for the demo world, from the espeak-ng program (Debian's espeak-ng).
//
// Each utterance is a fresh espeak-ng process: the library keeps state from one utterance to the next (the
// first samples and the length change), while a fresh process gives the same samples for the same text, voice
// and rate every time, the ones `espeak-ng -w` writes. Processes also let several captions be spoken at once.
#pragma once

#include <string>

namespace anytok::world {

struct Voice {
  std::string name = "en-us";  // an espeak-ng voice, as `espeak-ng --voices` lists them
  int words_per_minute = 250;  // 80 to 450; brisk, to keep spoken captions short (at most about 4 s)
};

// Writes `text` spoken by `voice` to `wav_path`: 16-bit mono WAV at espeak-ng's rate (22050 Hz). Throws Error
// when espeak-ng is missing, does not know the voice, or writes nothing.
void speak_to_file(const std::string& text, const Voice& voice, const std::string& wav_path);

}  // namespace anytok::world
