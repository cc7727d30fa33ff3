#!/usr/bin/python3
"""Measure an audio model directory on the held-out clips, in PyTorch and with the C++ runtime.

usage: evaluate.py MODEL_DIR EVAL_DIR [--anytok build/anytok] [--floor 4.0] [--json results.json]

For every bandwidth of the model's ladder, each held-out clip (EVAL_DIR/speech/*.wav: sentences never trained on;
EVAL_DIR/music/*.wav: pieces from seeds never trained on) is encoded and decoded whole with
anytok_torch.encodec.EnCodec, and compared with the input by SI-SNR (dB) and log-mel distance, as
tokenizers/audio_quality.h defines them (quality.py). Means are over clips; speech is also broken down by language.

With --anytok, `anytok reconstruct` codes the same clips at the model's default bandwidth; its SI-SNR must agree
with PyTorch's within --tolerance dB on average. The script fails (exit 1) when it does not, or when the mean
held-out speech SI-SNR at the default bandwidth is below --floor.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import wave

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import quality  # noqa: E402
from anytok_torch.encodec import EnCodec  # noqa: E402

LINE = re.compile(r"^(?P<file>.*): \d+ samples at \d+ Hz → \S+ codes, SI-SNR (?P<snr>\S+) dB, "
                  r"log-mel distance (?P<mel>\S+)$")


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        rate = w.getframerate()
        pcm = torch.frombuffer(bytearray(w.readframes(w.getnframes())), dtype=torch.int16)
    return pcm.float()[None] / 32768, rate


def mean(values):
    return sum(values) / len(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("eval_dir")
    ap.add_argument("--anytok", help="the anytok binary, to check the C++ runtime against PyTorch")
    ap.add_argument("--floor", type=float, default=4.0, help="minimum mean speech SI-SNR (dB) at the default bandwidth")
    ap.add_argument("--tolerance", type=float, default=0.5, help="dB the C++ and PyTorch means may differ by")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = EnCodec.load(args.model)
    default = model.bandwidth
    files = {kind: sorted(glob.glob(os.path.join(args.eval_dir, kind, "*.wav"))) for kind in ("speech", "music")}
    results = {}  # (kind, bandwidth) → {file: (si_snr, log_mel)}
    with torch.no_grad():
        for kind, paths in files.items():
            for path in paths:
                x, rate = read_wav(path)
                assert rate == model.sample_rate, path
                for bw in model.config["target_bandwidths"]:
                    codes, _ = model.encode(x[None], bw)
                    y = model.decode(codes)[0]
                    results.setdefault((kind, bw), {})[path] = (quality.si_snr(x, y),
                                                                quality.log_mel_distance(x, y, rate))
    seconds = {k: sum(read_wav(p)[0].shape[1] for p in v) / model.sample_rate for k, v in files.items()}
    print(f"{args.model}: held-out speech {len(files['speech'])} clips ({seconds['speech'] / 60:.1f} min), "
          f"music {len(files['music'])} clips ({seconds['music'] / 60:.1f} min)")
    print("kbps  codebooks  speech SI-SNR dB  speech log-mel  music SI-SNR dB  music log-mel")
    for bw in model.config["target_bandwidths"]:
        s, m = results[("speech", bw)].values(), results[("music", bw)].values()
        print(f"{bw:4g}  {model.codebooks(bw):9d}  {mean([a for a, _ in s]):16.2f}  {mean([b for _, b in s]):14.4f}"
              f"  {mean([a for a, _ in m]):15.2f}  {mean([b for _, b in m]):13.4f}"
              + ("   (default)" if bw == default else ""))
    by_language = {}
    for path, (snr, mel) in results[("speech", default)].items():
        by_language.setdefault(os.path.basename(path).rsplit("-", 1)[0], []).append((snr, mel))
    print(f"speech at {default:g} kbps by language: " + ", ".join(
        f"{lang} {mean([a for a, _ in v]):.2f} dB / {mean([b for _, b in v]):.3f}" for lang, v in by_language.items()))

    failed = False
    speech = results[("speech", default)]
    snr = mean([a for a, _ in speech.values()])
    if snr < args.floor:
        print(f"FAIL: held-out speech SI-SNR {snr:.2f} dB at {default:g} kbps is below the floor of {args.floor} dB")
        failed = True
    else:
        print(f"ok: held-out speech SI-SNR {snr:.2f} dB at {default:g} kbps (floor {args.floor} dB)")

    cpp = {}
    if args.anytok:
        paths = files["speech"] + files["music"]
        out = subprocess.run([args.anytok, "reconstruct", *paths, "--audio-model", args.model, "--threads",
                              str(args.threads)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = LINE.match(line)
            if m:
                cpp[m["file"]] = (float(m["snr"]), float(m["mel"]))
        if sorted(cpp) != sorted(paths):
            sys.exit(f"anytok reconstruct reported {len(cpp)} of {len(paths)} files:\n{out}")
        for kind in ("speech", "music"):
            py = results[(kind, default)]
            d_snr = [cpp[p][0] - py[p][0] for p in files[kind]]
            d_mel = [cpp[p][1] - py[p][1] for p in files[kind]]
            c_snr = mean([cpp[p][0] for p in files[kind]])
            print(f"anytok reconstruct, {kind} at {default:g} kbps: SI-SNR {c_snr:.2f} dB (PyTorch "
                  f"{mean([py[p][0] for p in files[kind]]):.2f}; per clip differences {min(d_snr):+.3f} to "
                  f"{max(d_snr):+.3f} dB), log-mel distance {mean([cpp[p][1] for p in files[kind]]):.4f} "
                  f"(differences {min(d_mel):+.4f} to {max(d_mel):+.4f})")
            if abs(mean(d_snr)) > args.tolerance:
                print(f"FAIL: the C++ runtime and PyTorch differ by {mean(d_snr):+.3f} dB on {kind}")
                failed = True

    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(model=args.model, default_bandwidth=default, results=[
                dict(kind=k, bandwidth=bw, file=os.path.relpath(p, args.eval_dir), si_snr=a, log_mel=b,
                     cpp_si_snr=cpp.get(p, (None, None))[0] if bw == default else None,
                     cpp_log_mel=cpp.get(p, (None, None))[1] if bw == default else None)
                for (k, bw), r in results.items() for p, (a, b) in r.items()]), f, indent=1)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
