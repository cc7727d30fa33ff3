#!/usr/bin/python3
"""EnCodec speed: anytok against PyTorch on the same architecture, weights, inputs, machine and thread count.

Builds upstream's 24 kHz model (causal SEANet with weight norm and a 2-layer LSTM, 32 codebooks of 1024) with
random weights, then times encode (wav → codes) and decode (codes → wav) of 10 s and 60 s of mono audio at
6 kbps (8 codebooks) on each side, each measurement in a process of its own so that peak resident memory belongs
to that measurement alone. Real-time factor = processing seconds / audio seconds (lower is better).

    bench/encodec.py [--threads N] [--repeat R] [--build DIR] [--seconds 10,60]

anytok's side is BUILD/bench/encodec_bench, given the very inputs PyTorch times:

    encodec_bench MODEL_DIR encode INPUT.wav REPEAT THREADS
    encodec_bench MODEL_DIR decode CODES.safetensors REPEAT THREADS

- MODEL_DIR: config.json (family "encodec", "bandwidth": 6.0, full "seanet") and model.safetensors under the
  original names, weight norm unfolded (weight_g / weight_v).
- INPUT.wav: RIFF/WAVE, a 16-byte "fmt " chunk with format 3 (IEEE float), 1 channel, 24000 Hz, 32 bits, then
  the "data" chunk; no other chunks. Encode at the config's bandwidth: codes [1, 8, 75·seconds].
- CODES.safetensors: one tensor "codes", int64 [1, 8, T] with T = 75·seconds, values in [0, 1024); no scales (the
  model does not normalize). Decode: wav [1, 1, 320·T].
- Reading the input and loading the model are not timed. One untimed run, then REPEAT timed ones; it prints one
  JSON line {"seconds": best seconds of one run, "peak_rss_mb": VmHWM in MiB}.
"""
import argparse
import json
import math
import os
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))

from measure import best_seconds, measure, peak_rss_mb  # noqa: E402  (bench/ is the script's own folder)

SAMPLE_RATE = 24000
BANDWIDTH = 6.0
MODEL = dict(sample_rate=SAMPLE_RATE, channels=1, causal=True, norm="weight_norm", normalize=False, segment=None,
             n_q=32, bins=1024, target_bandwidths=[1.5, 3.0, 6.0, 12.0, 24.0], bandwidth=BANDWIDTH,
             seanet=dict(dimension=128, n_filters=32, ratios=[8, 5, 4, 2], n_residual_layers=1, lstm=2))


def test_audio(seconds):
    """A seeded chord of sines plus a little noise, peaking at 0.3: speech-like level, nothing silent."""
    import torch
    gen = torch.Generator().manual_seed(seconds)
    t = torch.arange(seconds * SAMPLE_RATE, dtype=torch.float64) / SAMPLE_RATE
    freqs, phases, amps = (torch.rand(6, 1, generator=gen, dtype=torch.float64) for _ in range(3))
    wav = (amps * torch.sin(2 * math.pi * (80 + 4000 * freqs) * t + 2 * math.pi * phases)).sum(0)
    wav = wav + 0.1 * torch.randn(t.shape, generator=gen, dtype=torch.float64)
    return (0.3 * wav / wav.abs().max()).float()


def write_wav(path, samples):
    data = samples.contiguous().numpy().tobytes()
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + 16 + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 3, 1, SAMPLE_RATE, SAMPLE_RATE * 4, 4, 32))
        f.write(b"data" + struct.pack("<I", len(data)) + data)


def read_wav(path):
    """The float WAV that write_wav makes → [1, 1, L]."""
    import torch
    with open(path, "rb") as f:
        raw = f.read()
    pos = 12
    while raw[pos:pos + 4] != b"data":
        pos += 8 + struct.unpack("<I", raw[pos + 4:pos + 8])[0]
    (n,) = struct.unpack("<I", raw[pos + 4:pos + 8])
    return torch.frombuffer(bytearray(raw[pos + 8:pos + 8 + n]), dtype=torch.float32).reshape(1, 1, -1)


def torch_worker(model_dir, mode, path, repeat, threads):
    import torch
    from anytok_torch import safetensors_io
    from anytok_torch.encodec import EnCodec
    torch.set_num_threads(threads)
    model = EnCodec.load(model_dir)
    if mode == "encode":
        wav = read_wav(path)
        run = lambda: model.encode(wav)
    else:
        codes = safetensors_io.load(path)[0]["codes"]
        run = lambda: model.decode(codes)
    with torch.no_grad():
        best = best_seconds(run, repeat)
    print(json.dumps({"seconds": best, "peak_rss_mb": peak_rss_mb()}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--seconds", default="10,60")
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--torch-worker", nargs=4, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.torch_worker:
        d, mode, path, repeat = a.torch_worker
        return torch_worker(d, mode, path, int(repeat), a.threads)

    import torch
    from anytok_torch import safetensors_io
    from anytok_torch.encodec import EnCodec
    binary = os.path.join(a.build, "bench", "encodec_bench")
    have_binary = os.path.exists(binary)
    if not have_binary:
        print(f"{binary} is missing (build first: scripts/setup); timing PyTorch alone")
    durations = [int(s) for s in a.seconds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        model_dir = os.path.join(tmp, "encodec-24k")
        model = EnCodec(**MODEL)
        model.save(model_dir)
        n_q = model.codebooks()
        weights_mb = os.path.getsize(os.path.join(model_dir, "model.safetensors")) / 2**20
        inputs = {}
        for seconds in durations:
            wav_path = os.path.join(tmp, f"input-{seconds}s.wav")
            write_wav(wav_path, test_audio(seconds))
            codes_path = os.path.join(tmp, f"codes-{seconds}s.safetensors")
            gen = torch.Generator().manual_seed(seconds)
            codes = torch.randint(0, MODEL["bins"], (1, n_q, seconds * model.frame_rate), generator=gen)
            safetensors_io.save({"codes": codes}, codes_path)
            inputs[seconds] = {"encode": wav_path, "decode": codes_path}

        print(f"EnCodec 24 kHz, {BANDWIDTH:g} kbps ({n_q} codebooks), {a.threads} threads, best of {a.repeat}; "
              f"real-time factor (lower is better), weights {weights_mb:.0f} MB")
        print(f"{'op':<7} {'audio s':>7} {'pytorch':>9} {'anytok':>9} {'ratio':>6} "
              f"{'rss torch':>10} {'rss anytok':>10}")
        for mode in ("encode", "decode"):
            for seconds in durations:
                path = inputs[seconds][mode]
                theirs = measure([sys.executable, __file__, "--threads", str(a.threads), "--torch-worker",
                                  model_dir, mode, path, str(a.repeat)])
                row = f"{mode:<7} {seconds:>7} {theirs['seconds'] / seconds:>9.4f} "
                if have_binary:
                    ours = measure([binary, model_dir, mode, path, str(a.repeat), str(a.threads)])
                    row += (f"{ours['seconds'] / seconds:>9.4f} {theirs['seconds'] / ours['seconds']:>5.2f}x "
                            f"{theirs['peak_rss_mb']:>8.0f}MB {ours['peak_rss_mb']:>8.0f}MB")
                else:
                    row += f"{'-':>9} {'-':>6} {theirs['peak_rss_mb']:>8.0f}MB {'-':>10}"
                print(row, flush=True)


if __name__ == "__main__":
    main()
