#!/usr/bin/env python3
"""Measure a SentencePiece model on held-out text with the spm_* tools.

usage: evaluate.py MODEL HELDOUT.txt [MORE.txt ...]

For each text file prints: pieces per whitespace-separated word, the share of
byte-fallback pieces, and whether decode(encode(line)) == line for every line.
Also checks round trips on a few hard strings and prints the model size.
"""
import os
import re
import subprocess
import sys

HARD = [
    "a small red circle above a large blue square on a gray background",
    "  two leading spaces, a\ttab, and  double  spaces  ",
    "Unicode: café, naïve, Straße, 東京, Ελληνικά, emoji 🙂, math ∑x²",
    "digits 0123456789 and 3.14159, version 1.2.3-4+deb12u1",
]


def spm(tool, model, args, text):
    return subprocess.run([tool, f"--model={model}", *args], input=text,
                          capture_output=True, text=True, check=True).stdout


def byte_ids(model):
    vocab = spm("spm_export_vocab", model, [], "").splitlines()
    return {i for i, row in enumerate(vocab)
            if re.fullmatch(r"<0x[0-9A-F]{2}>", row.split("\t")[0])}


def measure(model, lines, fallback):
    text = "".join(line + "\n" for line in lines)
    ids = spm("spm_encode", model, ["--output_format=id"], text)
    decoded = spm("spm_decode", model, ["--input_format=id"], ids)
    pieces = [int(x) for x in ids.split()]
    exact = sum(a == b for a, b in zip(decoded.split("\n"), lines))
    words = sum(len(line.split()) for line in lines)
    nfb = sum(p in fallback for p in pieces)
    return len(pieces) / words, nfb, len(pieces), exact, len(lines)


def main():
    model, paths = sys.argv[1], sys.argv[2:]
    fallback = byte_ids(model)
    failed = False
    print(f"{model}: {os.path.getsize(model)} bytes")
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        ppw, nfb, npieces, exact, n = measure(model, lines, fallback)
        print(f"{os.path.basename(path)}: {n} lines, {npieces} pieces, "
              f"pieces/word {ppw:.3f}, byte-fallback {nfb} pieces "
              f"({100 * nfb / npieces:.3f}%), round trip exact {exact}/{n}")
        failed |= exact != n
    exact, n = measure(model, HARD, fallback)[3:]
    print(f"hard strings: round trip exact {exact}/{n}")
    failed |= exact != n
    print("pieces:", spm("spm_encode", model, ["--output_format=piece"],
                         HARD[0] + "\n").strip())
    if failed:
        sys.exit("round trip failed")


if __name__ == "__main__":
    main()
