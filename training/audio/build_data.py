#!/usr/bin/python3
"""Synthesise the audio codec's training and evaluation data: speech with espeak-ng, music with fluidsynth.

usage: build_data.py WORKDIR [--seed N]

Writes, under WORKDIR/data (24 kHz mono 16-bit WAV, each clip scaled to an RMS of -20 dBFS, peaks below -1 dBFS):
  train/speech/NNNNN.wav   sentences from the Debian Administrator's Handbook, 9 languages, many voices
  train/music/NNNNN.wav    procedurally composed General MIDI pieces rendered with FluidR3_GM
  eval/speech/LANG-NN.wav  held-out sentences (their paragraphs are never used for training)
  eval/music/NN.wav        pieces from seeds that training never draws
  manifest.tsv             one row per clip: split, kind, file, seconds, and what it is (voice, text or piece)
  sentences/LANG.train.txt, LANG.heldout.txt   the sentence pools, for inspection
  done                     written last; its presence means the data is complete (the script then does nothing)

Deterministic for a given seed and package versions: every choice comes from random.Random(seed-derived), sources
are read in sorted order, and rendering runs with dither off. Two worker processes synthesise in parallel; the
result does not depend on their scheduling.
"""
import argparse
import concurrent.futures
import glob
import os
import random
import re
import subprocess
import sys
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "text"))
import music  # noqa: E402
from build_corpus import ProseExtractor  # noqa: E402  (the text recipe's HTML prose extractor)

RATE = 24000
HANDBOOK = "/usr/share/doc/debian-handbook/html"
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

# Handbook translation → espeak-ng voices that read it.
LANGUAGES = {
    "en-US": ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029"],
    "de-DE": ["de"],
    "fr-FR": ["fr-fr", "fr-be"],
    "es-ES": ["es", "es-419"],
    "it-IT": ["it"],
    "nl-NL": ["nl"],
    "pt-BR": ["pt-br", "pt"],
    "pl-PL": ["pl"],
    "ru-RU": ["ru"],
}
# espeak-ng voice variants (speaker characters); the klatt ones use a different synthesiser.
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
            "klatt4", "croak", "whisper", "Annie", "Andy", "belinda", "david", "linda", "steph", "travis",
            "victor", "edward", "anika"]
TRAIN_PER_LANGUAGE = 160
EVAL_PER_LANGUAGE = 6
TRAIN_PIECES = 220
EVAL_PIECES = 12
PIECE_SECONDS = (8, 16)
HELDOUT_EVERY = 20  # paragraph i of a language is held out when i % 20 == 19
TARGET_DBFS, PEAK = -20.0, 10 ** (-1 / 20)

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
BAD = re.compile(r"[/\\_<>{}\[\]=$#@|~`*%^&+]|\.\w|\w\.\w|--")


def split_sentences(paragraph):
    """Split after . ! ? when the next word starts upper case (any script)."""
    parts, out = SENTENCE_END.split(paragraph), []
    for part in parts:
        if out and not part[:1].isupper():
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def speakable(s):
    """A plain sentence: 30-180 characters, 5+ words, ends like a sentence, no paths, options, code or numbers."""
    if not 30 <= len(s) <= 180 or len(s.split()) < 5 or s[-1] not in ".!?" or BAD.search(s):
        return False
    if sum(c.isdigit() for c in s) > 4 or not s[0].isupper():
        return False
    return sum(c.isalpha() or c in " ,.;:!?'’\"«»„“”()-–—" for c in s) >= 0.97 * len(s)


def paragraphs(language):
    files = sorted(glob.glob(os.path.join(HANDBOOK, language, "*.html")))
    if not files:
        sys.exit(f"no handbook pages for {language}: is debian-handbook installed?")
    for path in files:
        parser = ProseExtractor()
        with open(path, encoding="utf-8") as f:
            parser.feed(f.read())
        parser.close()
        yield from parser.paragraphs


def sentence_pools():
    """{language: (train sentences, held-out sentences)}. Duplicates are dropped, and so are sentences of a
    translation that also occur in the English original (untranslated text)."""
    english, pools = set(), {}
    for language in LANGUAGES:
        seen, train, held = set(), [], []
        for i, p in enumerate(dict.fromkeys(paragraphs(language))):
            for s in split_sentences(" ".join(p.replace("¶", "").split())):
                if s in seen or s in english or not speakable(s):
                    continue
                seen.add(s)
                (held if i % HELDOUT_EVERY == HELDOUT_EVERY - 1 else train).append(s)
        if language == "en-US":
            english = seen
        pools[language] = train, held
    return pools


def level(x):
    """Scale to TARGET_DBFS RMS, then down further if a peak would pass PEAK."""
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    if rms == 0:
        return x
    gain = min(10 ** (TARGET_DBFS / 20) / rms, PEAK / float(np.abs(x).max()))
    return x * gain


def write_wav(path, x):
    pcm = np.round(np.clip(x, -1, 1) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def speak(job):
    """(path, voice, speed, pitch, text) → seconds written. espeak-ng writes 22.05 kHz; sox resamples to 24 kHz
    (high-quality rate, no dither) as 32-bit float."""
    path, voice, speed, pitch, text = job
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdin", "--stdout"],
                         input=text.encode(), capture_output=True, check=True).stdout
    raw = subprocess.run(["sox", "-D", "-t", "wav", "-", "-t", "f32", "-c", "1", "-", "rate", "-v", str(RATE)],
                         input=wav, capture_output=True, check=True).stdout
    x = level(np.frombuffer(raw, "<f4"))
    write_wav(path, x)
    return len(x) / RATE


def play(job):
    """(path, seed, seconds) → (seconds written, description). fluidsynth renders the piece at 24 kHz stereo;
    the channels are averaged, and the render is cut 1.5 s after the last note with a 0.5 s fade."""
    path, seed, seconds = job
    piece, tempo, length, description = music.compose(random.Random(seed), seconds)
    with tempfile.TemporaryDirectory() as tmp:
        mid, out = os.path.join(tmp, "p.mid"), os.path.join(tmp, "p.raw")
        music.write_midi(mid, piece.events, tempo)
        subprocess.run(["fluidsynth", "-n", "-i", "-q", "-F", out, "-T", "raw", "-O", "float", "-r", str(RATE),
                        "-g", "0.5", SOUNDFONT, mid], check=True, capture_output=True)
        x = np.fromfile(out, "<f4").reshape(-1, 2).mean(1)
    n = min(len(x), int((length + 1.5) * RATE))
    x = x[:n].astype(np.float64)
    fade = int(0.5 * RATE)
    x[-fade:] *= np.linspace(1, 0, fade)
    x = level(x)
    write_wav(path, x)
    return len(x) / RATE, description


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    data = os.path.join(args.work, "data")
    if os.path.exists(os.path.join(data, "done")):
        with open(os.path.join(data, "done")) as f:
            if f.read().split() != ["seed", str(args.seed)]:
                sys.exit(f"{data} was built with another seed; use another work directory")
        print(f"{data}: already complete", file=sys.stderr)
        return
    for d in ("train/speech", "train/music", "eval/speech", "eval/music", "sentences"):
        os.makedirs(os.path.join(data, d), exist_ok=True)

    speech, rows = [], []
    pools = sentence_pools()
    rng = random.Random(f"speech-{args.seed}")
    n = 0
    for language, voices in LANGUAGES.items():
        train, held = pools[language]
        for name, lines in (("train", train), ("heldout", held)):
            with open(os.path.join(data, "sentences", f"{language}.{name}.txt"), "w", encoding="utf-8") as f:
                f.write("".join(s + "\n" for s in lines))
        print(f"{language}: {len(train)} training and {len(held)} held-out sentences", file=sys.stderr)
        picked = [("train", s) for s in rng.sample(train, min(TRAIN_PER_LANGUAGE, len(train)))]
        picked += [("eval", s) for s in rng.sample(held, min(EVAL_PER_LANGUAGE, len(held)))]
        k = 0
        for split, text in picked:
            voice = f"{rng.choice(voices)}+{rng.choice(VARIANTS)}"
            speed, pitch = rng.randrange(130, 191), rng.randrange(25, 76)
            if split == "train":
                path = f"train/speech/{n:05d}.wav"
                n += 1
            else:
                path = f"eval/speech/{language}-{k:02d}.wav"
                k += 1
            speech.append((os.path.join(data, path), voice, speed, pitch, text))
            rows.append([split, "speech", path, voice, f"-s {speed} -p {pitch}", text])

    rng = random.Random(f"music-{args.seed}")
    pieces = []
    for split, count in (("train", TRAIN_PIECES), ("eval", EVAL_PIECES)):
        for i in range(count):
            # Training seeds are even and evaluation seeds odd, so no piece is in both.
            seed = 2 * (args.seed * 100000 + i) + (split == "eval")
            path = f"{split}/music/{i:05d}.wav" if split == "train" else f"eval/music/{i:02d}.wav"
            pieces.append((os.path.join(data, path), seed, rng.uniform(*PIECE_SECONDS)))
            rows.append([split, "music", path, f"seed {seed}", "", ""])

    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        speech_seconds = list(pool.map(speak, speech, chunksize=16))
        music_out = list(pool.map(play, pieces, chunksize=4))
    seconds = speech_seconds + [s for s, _ in music_out]
    for row, (_, description) in zip(rows[len(speech):], music_out):
        row[4] = description
    with open(os.path.join(data, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("split\tkind\tfile\tseconds\tsource\tsettings\ttext\n")
        for row, s in zip(rows, seconds):
            split, kind, path, source, settings, text = row
            f.write(f"{split}\t{kind}\t{path}\t{s:.3f}\t{source}\t{settings}\t{text}\n")
    for split in ("train", "eval"):
        for kind in ("speech", "music"):
            s = [t for r, t in zip(rows, seconds) if r[0] == split and r[1] == kind]
            print(f"{split} {kind}: {len(s)} clips, {sum(s) / 60:.1f} min", file=sys.stderr)
    with open(os.path.join(data, "done"), "w") as f:
        f.write(f"seed {args.seed}\n")


if __name__ == "__main__":
    main()
