#!/usr/bin/python3
"""Makes the hostile inputs of tests/apps/hostile_input_test.cpp, deterministically: files a user might be handed
that are broken, forged or absurd. expectations.json says, for each command run on them, the error the CLI must
give. Run it from anywhere with Debian's Python:

    python3 tests/data/hostile/make_corpus.py
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..")


def write(name, data):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(header, data=b""):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def model_dir(name, weights, config=os.path.join(DATA, "golden", "vqgan-taming-tiny", "config.json")):
    """A model folder: a real config.json (the tiny taming VQ-GAN's unless told) beside forged weights."""
    os.makedirs(os.path.join(HERE, name), exist_ok=True)
    shutil.copyfile(config, os.path.join(HERE, name, "config.json"))
    os.chmod(os.path.join(HERE, name, "config.json"), 0o644)
    write(os.path.join(name, "model.safetensors"), weights)


def wav_header(channels, rate=16000, bits=16, frames=100):
    block = channels * bits // 8
    data_bytes = frames * block
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, 1, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits) +
            b"data" + struct.pack("<I", data_bytes))


def main():
    rgb = open(os.path.join(DATA, "images", "rgb.png"), "rb").read()
    real_weights = open(os.path.join(DATA, "golden", "vqgan-taming-tiny", "model.safetensors"), "rb").read()

    # images
    write("empty.png", b"")
    write("truncated.png", rgb[: len(rgb) // 2])
    write("text.jpg", "this is not a JPEG\n")
    # audio
    write("empty.wav", b"")
    write("truncated.wav", wav_header(1, frames=48000) + b"\x01\x02" * 100)
    write("channels65535.wav", wav_header(65535, frames=1) + bytes(65535 * 2))
    # Sun AU has a 32-bit channel count: a billion channels, named .wav (libsndfile reads by content)
    write("channels1e9.wav", b".snd" + struct.pack(">IIIII", 24, 64, 3, 16000, 1_000_000_000) + bytes(64))
    write("zero_rate.wav", wav_header(1, rate=0) + bytes(200))
    # model weights
    model_dir("weights_empty", b"")
    header_len = struct.unpack("<Q", real_weights[:8])[0]
    model_dir("weights_truncated", real_weights[: 8 + header_len + 4096])
    model_dir("weights_past_end", safetensors({"encoder.conv_in.weight": {"dtype": "F32", "shape": [32, 3, 3, 3],
                                                                          "data_offsets": [0, 3456]}}, bytes(16)))
    model_dir("weights_overlap", safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                              "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}},
                                             bytes(24)))
    model_dir("weights_overflow", safetensors({"a": {"dtype": "F32", "shape": [2**32, 2**32, 2**32],
                                                     "data_offsets": [0, 16]}}, bytes(16)))
    # a small EnCodec whose first convolution has lost its bias from the header (its bytes stay, unclaimed)
    small = os.path.join(DATA, "encodec-variants", "short-input")
    small_weights = open(os.path.join(small, "model.safetensors"), "rb").read()
    small_len = struct.unpack("<Q", small_weights[:8])[0]
    header = json.loads(small_weights[8:8 + small_len])
    del header["encoder.model.0.conv.conv.bias"]
    model_dir("weights_missing_tensor", safetensors(header, small_weights[8 + small_len:]),
              os.path.join(small, "config.json"))
    # token records (the anytok preset with the tiny taming model: 8000 text pieces, 128 image codes, 4x4 grid)
    write("tokens_out_of_range.jsonl", '{"modality": "text", "tokens": [5, 1000000000]}\n')
    write("tokens_negative.jsonl", '{"modality": "text", "tokens": [-5]}\n')
    write("image_span_short.jsonl", '{"modality": "image", "shape": [4, 4], "codes": [[1, 2, 3, 4]]}\n')
    write("image_tokens_short.jsonl", '{"modality": "image", "tokens": [8000, 8013, 8014, 8015, 8016, 8017, 8001]}\n')
    write("not_json.jsonl", "{tokens: [1, 2]\n")


if __name__ == "__main__":
    main()
