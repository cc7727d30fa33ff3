"""Procedural music for the audio codec's training data: a small Standard MIDI File writer and a composer.

The composer draws everything from one random.Random, so a piece is a function of its seed. A piece is a loop of
four diatonic chords in a random key, mode and tempo, played by up to three General MIDI instruments (melody,
accompaniment, bass) and sometimes a drum kit on channel 10. Python standard library only.

Standard MIDI File layout written here (format 0: one track carrying every channel):
  "MThd", length 6, format 0, 1 track, ticks per quarter note
  "MTrk", length, then events, each preceded by its delta time in ticks as a variable-length quantity
  (7 bits per byte, most significant first, high bit set on all bytes but the last).
"""
import struct

TICKS = 480  # per quarter note

MODES = {
    "major": [0, 2, 4, 5, 7, 9, 11],
    "minor": [0, 2, 3, 5, 7, 8, 10],
    "dorian": [0, 2, 3, 5, 7, 9, 10],
    "mixolydian": [0, 2, 4, 5, 7, 9, 10],
    "harmonic minor": [0, 2, 3, 5, 7, 8, 11],
}
# General MIDI programs (0-based) by role.
MELODY = [0, 1, 4, 6, 8, 11, 13, 16, 19, 22, 24, 25, 26, 40, 41, 42, 56, 57, 60, 61, 64, 65, 66, 68, 69, 71, 73,
          74, 75, 79, 80, 81, 104, 105, 108]
ACCOMP = [0, 1, 2, 4, 5, 6, 16, 17, 19, 24, 25, 27, 46, 48, 49, 50, 52, 88, 89, 90, 91, 94]
BASS = [32, 33, 34, 35, 36, 37, 38, 39, 42, 43, 58]
# Drum kit notes (channel 10): kick, snare, closed / open hi-hat, ride, crash, low and high tom, clap, tambourine.
KICK, SNARE, HAT, OPEN_HAT, RIDE, CRASH, TOM_LO, TOM_HI, CLAP, TAMB = 36, 38, 42, 46, 51, 49, 45, 50, 39, 54


def varlen(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, events, tempo_bpm):
    """events: (tick, status, data1, data2) channel messages. Note-offs sort before note-ons at the same tick,
    so a repeated note is released before it sounds again."""
    track = bytearray()
    track += varlen(0) + b"\xff\x51\x03" + struct.pack(">I", round(60e6 / tempo_bpm))[1:]
    last = 0
    for tick, status, d1, d2 in sorted(events, key=lambda e: (e[0], e[1] & 0xF0 != 0x80, e[1], e[2], e[3])):
        one_data_byte = status & 0xF0 in (0xC0, 0xD0)  # program change, channel pressure
        track += varlen(tick - last) + bytes([status, d1] if one_data_byte else [status, d1, d2])
        last = tick
    track += varlen(0) + b"\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS))
        f.write(b"MTrk" + struct.pack(">I", len(track)) + track)


class Piece:
    def __init__(self):
        self.events = []

    def program(self, channel, program):
        self.events.append((0, 0xC0 | channel, program, 0))

    def control(self, channel, number, value):
        self.events.append((0, 0xB0 | channel, number, value))

    def note(self, channel, start, length, key, velocity):
        """start and length in quarter notes."""
        if not 0 <= key <= 127:
            return
        on = round(start * TICKS)
        off = max(on + 1, round((start + length) * TICKS))
        self.events.append((on, 0x90 | channel, key, max(1, min(127, velocity))))
        self.events.append((off, 0x80 | channel, key, 0))


def compose(rng, seconds):
    """A piece of about `seconds` (whole bars) → (Piece, tempo in bpm, length in seconds, description)."""
    tempo = rng.randrange(70, 161)
    mode = rng.choice(sorted(MODES))
    scale = MODES[mode]
    root = rng.randrange(48, 60)
    beats_per_bar = rng.choice([4, 4, 4, 3])
    bars = max(2, round(seconds * tempo / 60 / beats_per_bar))
    degrees = [0] + [rng.choice([1, 2, 3, 4, 5]) for _ in range(3)]
    piece = Piece()

    def pitch(degree, octave=0):
        o, d = divmod(degree, 7)
        return root + 12 * (o + octave) + scale[d]

    def chord(degree):
        return [pitch(degree), pitch(degree + 2), pitch(degree + 4)]

    layout = rng.choice(["solo", "duo", "band", "band", "band"])
    melody_prog = rng.choice(MELODY)
    piece.program(0, melody_prog)
    piece.control(0, 10, rng.randrange(40, 89))  # pan
    piece.control(0, 91, rng.randrange(0, 80))  # reverb send
    used = [f"melody {melody_prog}"]
    if layout != "solo":
        accomp_prog = rng.choice(ACCOMP)
        piece.program(1, accomp_prog)
        piece.control(1, 91, rng.randrange(0, 80))
        used.append(f"accompaniment {accomp_prog}")
    if layout == "band":
        bass_prog = rng.choice(BASS)
        piece.program(2, bass_prog)
        used.append(f"bass {bass_prog}")
    drums = layout == "band" and rng.random() < 0.7
    if drums:
        used.append("drums")

    # Melody: a random walk on the scale, phrase by phrase, with rests.
    durations = [0.25, 0.5, 0.5, 1, 1, 1.5, 2]
    t, degree = 0.0, rng.randrange(7, 12)
    total = bars * beats_per_bar
    base_velocity = rng.randrange(60, 111)
    while t < total:
        d = min(rng.choice(durations), total - t)
        if rng.random() < 0.15:
            t += d
            continue
        degree = max(0, min(20, degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3])))
        piece.note(0, t, d * rng.uniform(0.7, 1.0), pitch(degree, 1 if layout == "solo" else 0),
                   base_velocity + rng.randrange(-12, 13))
        t += d

    style = rng.choice(["block", "arpeggio", "offbeat"])
    for bar in range(bars):
        start = bar * beats_per_bar
        tones = chord(degrees[bar % 4])
        if layout == "solo":
            # The solo instrument also plays its own bass line an octave down.
            piece.note(0, start, beats_per_bar * 0.9, tones[0] - 12, base_velocity - 15)
        if layout != "solo":
            v = rng.randrange(45, 90)
            if style == "block":
                for k in tones:
                    piece.note(1, start, beats_per_bar * 0.95, k, v)
            elif style == "arpeggio":
                step = rng.choice([0.5, 0.25]) if tempo < 120 else 0.5
                order = tones + [tones[1]]
                for i in range(int(beats_per_bar / step)):
                    piece.note(1, start + i * step, step, order[i % 4] + 12, v)
            else:
                for b in range(beats_per_bar):
                    for k in tones:
                        piece.note(1, start + b + 0.5, 0.4, k, v)
        if layout == "band":
            v = rng.randrange(70, 111)
            bass = tones[0] - 12
            for b in range(beats_per_bar):
                key = bass if b % 2 == 0 else bass + 7 * rng.choice([0, 1])
                piece.note(2, start + b, 0.9, key, v)
        if drums:
            for b in range(beats_per_bar):
                piece.note(9, start + b, 0.25, KICK if b % 2 == 0 else SNARE, rng.randrange(80, 121))
                for half in (0, 0.5):
                    piece.note(9, start + b + half, 0.2, HAT if rng.random() < 0.85 else OPEN_HAT,
                               rng.randrange(50, 91))
            if bar % 4 == 0:
                piece.note(9, start, 1, CRASH, 90)
            if bar % 4 == 3 and rng.random() < 0.5:
                piece.note(9, start + beats_per_bar - 1, 0.5, TOM_HI, 90)
                piece.note(9, start + beats_per_bar - 0.5, 0.5, TOM_LO, 90)
    description = (f"{tempo} bpm, {mode} on {root}, {beats_per_bar}/4, {bars} bars, {layout}, {style}: "
                   + ", ".join(used))
    return piece, tempo, total * 60 / tempo, description
