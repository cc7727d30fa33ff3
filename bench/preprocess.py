#!/usr/bin/python3
"""Dataset preprocessing speed: `anytok preprocess` against a loop of `anytok tokenize` processes and a PyTorch
script doing the same job, on the same files, models, machine and thread count.

Writes a manifest of images (N files of 300–640 px a side, JPEG and PNG alternately) and one of audio files
(16-bit WAV at 16 kHz, 5–10 s, every fourth one stereo, so that every file is mixed or resampled to the model's
24 kHz), then turns each manifest into a Megatron indexed dataset four ways:

- `anytok preprocess MANIFEST -o PREFIX --threads 1`, and the same with --threads THREADS (2 by default);
- the naive baseline: one `anytok tokenize FILE --threads THREADS -o OUT` process per file;
- PyTorch in one process: decode and prepare each file as upstream does (PIL, then taming's SmallestMaxSize and
  CenterCrop with OpenCV's INTER_LINEAR; or 16-bit PCM mixed to the model's channels and resampled with
  scipy's resample_poly), run training/anytok_torch's encoder under torch.inference_mode() with
  torch.set_num_threads(THREADS) (OPENBLAS_NUM_THREADS too, as bench/seq2seq.py explains), images BATCH at a
  time, and write PREFIX.bin/.idx with numpy in the layout of apps/indexed_dataset.h.

Throughput is items per second of wall-clock time for the whole job (process start-up and model loading
included: that is what a user waits for); "excl. load" leaves out start-up and model loading where the tool
reports its own run time (anytok preprocess's closing line, to 0.1 s, so coarse for --quick; the PyTorch
worker's timer). Peak memory is the largest resident set of any one process of the job. All anytok runs share
one vocabulary layout (written by `anytok vocab --json` for both models), so every dataset holds the same ids;
the script checks that the two preprocess runs wrote identical bytes, that the tokenize loop gave the same
tokens, and how many ids PyTorch agrees on (audio differs where soxr and resample_poly round differently;
random weights make near ties).

Models: --image-model and --audio-model (default models/image and models/audio). A default that is missing is
replaced by random weights in upstream's sizes, as bench/vqgan.py (taming f16, 256x256) and bench/encodec.py
(EnCodec 24 kHz at 6 kbps) make them.

    bench/preprocess.py [--threads N] [--images N] [--audio-files N] [--batch B] [--only image|audio]
                        [--image-model DIR] [--audio-model DIR] [--build DIR] [--quick]
"""
import argparse
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))

from measure import measure, peak_rss_mb  # noqa: E402  (bench/ is the script's own folder)

GOAL = "{t} threads at least {r:.1f}x 1 thread, and well ahead of both baselines"
SOURCE_RATE = 16000
MODES = {"image": 1, "audio": 2}  # the sequence modes of apps/indexed_dataset.h


# ---- models ---------------------------------------------------------------------------------------------------

def is_model(model_dir):
    return all(os.path.exists(os.path.join(model_dir, f)) for f in ("config.json", "model.safetensors"))


def random_models(tmp, image_dir, audio_dir, need_image, need_audio):
    """The given model folders, or random upstream-sized ones in tmp where they are missing; returns both and a
    description of each."""
    import torch
    out = {}
    if need_image:
        if is_model(image_dir):
            out["image"] = (image_dir, image_dir)
        else:
            import vqgan as vqgan_bench  # bench/vqgan.py: the upstream configurations
            from anytok_torch.vqgan import VQGAN
            torch.manual_seed(0)
            path = os.path.join(tmp, "image-taming-f16")
            VQGAN(**vqgan_bench.MODELS["taming-f16"]).save(path, {"preprocess": "taming"})
            out["image"] = (path, f"random taming-f16 ({image_dir} is missing)")
    if need_audio:
        if is_model(audio_dir):
            out["audio"] = (audio_dir, audio_dir)
        else:
            import encodec as encodec_bench  # bench/encodec.py: upstream's 24 kHz model
            from anytok_torch.encodec import EnCodec
            torch.manual_seed(0)
            path = os.path.join(tmp, "audio-encodec-24k")
            EnCodec(**encodec_bench.MODEL).save(path)
            out["audio"] = (path, f"random EnCodec 24 kHz ({audio_dir} is missing)")
    return out


# ---- inputs ---------------------------------------------------------------------------------------------------

def write_images(folder, count, rng):
    """count images of 300–640 px a side: a smooth colour field, a few shapes and a little noise (so that neither
    format compresses them to nothing), even ones JPEG (quality 90), odd ones PNG. Returns the manifest."""
    import cv2
    import numpy as np
    os.makedirs(folder, exist_ok=True)
    lines = []
    for i in range(count):
        w, h = (int(v) for v in rng.integers(300, 641, 2))
        image = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(6):
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(10, min(w, h) // 3))
            if rng.random() < 0.5:
                cv2.circle(image, (x, y), r, color, -1)
            else:
                cv2.rectangle(image, (x - r, y - r // 2), (x + r, y + r // 2), color, -1)
        image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
        name = f"image-{i:04d}." + ("jpg" if i % 2 == 0 else "png")
        params = [cv2.IMWRITE_JPEG_QUALITY, 90] if name.endswith(".jpg") else []
        if not cv2.imwrite(os.path.join(folder, name), image, params):
            sys.exit(f"cv2 could not write {name}")
        lines.append([{"image": name}])
    return write_manifest(folder, "images.jsonl", lines)


def write_audio(folder, count, seconds, rng):
    """count 16-bit WAV files at 16 kHz, of seconds[0]–seconds[1] s: a few sines under a slow envelope plus a
    little noise, peaking near 0.3; every fourth file stereo. Returns the manifest and the total seconds."""
    import numpy as np
    os.makedirs(folder, exist_ok=True)
    lines, total = [], 0.0
    for i in range(count):
        n = int(rng.uniform(*seconds) * SOURCE_RATE)
        channels = 2 if i % 4 == 3 else 1
        t = np.arange(n) / SOURCE_RATE
        wav = np.zeros((channels, n))
        for c in range(channels):
            for _ in range(5):
                freq, phase = 80 + 3000 * rng.random(), rng.random()
                wav[c] += rng.random() * np.sin(2 * math.pi * (freq * t + phase))
            wav[c] *= 0.6 + 0.4 * np.sin(2 * math.pi * rng.uniform(0.2, 2) * t)
            wav[c] += 0.1 * rng.standard_normal(n)
        pcm = np.round(0.3 * wav / np.abs(wav).max() * 32767).astype("<i2")
        name = f"audio-{i:04d}.wav"
        with wave.open(os.path.join(folder, name), "wb") as f:
            f.setnchannels(channels)
            f.setsampwidth(2)
            f.setframerate(SOURCE_RATE)
            f.writeframes(pcm.T.tobytes())
        lines.append([{"audio": name}])
        total += n / SOURCE_RATE
    return write_manifest(folder, "audio.jsonl", lines), total


def write_manifest(folder, name, lines):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    return path


def manifest_files(manifest):
    """The file of each line of a manifest written above, resolved against the manifest's folder."""
    folder = os.path.dirname(os.path.abspath(manifest))
    with open(manifest) as f:
        return [os.path.join(folder, next(iter(json.loads(line)[0].values()))) for line in f if line.strip()]


# ---- Megatron indexed datasets (apps/indexed_dataset.h) -------------------------------------------------------

def token_dtype(vocabulary_size):
    """Megatron's DType code and numpy type: uint16 below 65 500 ids, else int32."""
    return (8, "<u2") if vocabulary_size < 65500 else (4, "<i4")


def write_indexed(prefix, documents, vocabulary_size):
    """documents: a list of lists of (ids, mode) → PREFIX.bin and PREFIX.idx."""
    import numpy as np
    code, dtype = token_dtype(vocabulary_size)
    sequences = [s for d in documents for s in d]
    lengths = np.array([len(ids) for ids, _ in sequences], dtype="<i4")
    pointers = np.zeros(len(sequences), dtype="<i8")
    pointers[1:] = np.cumsum(lengths[:-1].astype("<i8")) * np.dtype(dtype).itemsize
    doc_index = np.concatenate([[0], np.cumsum([len(d) for d in documents])]).astype("<i8")
    modes = np.array([m for _, m in sequences], dtype="<i1")
    with open(prefix + ".bin", "wb") as f:
        for ids, _ in sequences:
            f.write(np.asarray(ids, dtype=dtype).tobytes())
    with open(prefix + ".idx", "wb") as f:
        f.write(b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, code, len(sequences), len(doc_index)))
        for array in (lengths, pointers, doc_index, modes):
            f.write(array.tobytes())


def read_indexed(prefix):
    """PREFIX.idx and .bin → (list of id arrays, modes, document indices)."""
    import numpy as np
    with open(prefix + ".idx", "rb") as f:
        raw = f.read()
    if raw[:9] != b"MMIDIDX\x00\x00":
        sys.exit(f"{prefix}.idx is not a Megatron index")
    version, code, count, doc_count = struct.unpack("<QBQQ", raw[9:34])
    dtype = {8: "<u2", 4: "<i4"}[code]
    at = 34
    lengths = np.frombuffer(raw, "<i4", count, at)
    at += 4 * count
    pointers = np.frombuffer(raw, "<i8", count, at)
    at += 8 * count
    doc_index = np.frombuffer(raw, "<i8", doc_count, at)
    at += 8 * doc_count
    modes = np.frombuffer(raw, "<i1", count, at)
    data = np.fromfile(prefix + ".bin", dtype)
    width = np.dtype(dtype).itemsize
    return [data[p // width:p // width + n] for p, n in zip(pointers, lengths)], modes, doc_index


# ---- the PyTorch side -----------------------------------------------------------------------------------------

def span(layout, kind):
    for s in layout["spans"]:
        if s["kind"] == kind:
            return s, next(r for r in layout["ranges"] if r["name"] == s["range"])
    sys.exit(f"the layout has no {kind} span")


def marked(layout, s, body):
    begin = [layout["tokens"][s["begin"]]] if s.get("begin") else []
    end = [layout["tokens"][s["end"]]] if s.get("end") else []
    return begin + body + end


def prepare_image(path, preprocess, resolution):
    """A file → [3, R, R] float32 in [−1, 1] as taming's ImagePaths makes it: PIL decode to RGB, albumentations
    SmallestMaxSize (sides rounded half to even, cv2 INTER_LINEAR) and CenterCrop, x/127.5 − 1. unified-io-2 is
    approximated (OpenCV INTER_AREA in place of TensorFlow's antialiased bilinear, then centre padding with −1)."""
    import cv2
    import numpy as np
    from PIL import Image
    with Image.open(path) as im:
        rgb = np.array(im.convert("RGB") if im.mode != "RGB" else im, dtype=np.uint8)
    h, w = rgb.shape[:2]
    if preprocess == "taming":
        scale = resolution / min(h, w)
        if scale != 1.0:
            rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
        top, left = (rgb.shape[0] - resolution) // 2, (rgb.shape[1] - resolution) // 2
        rgb = rgb[top:top + resolution, left:left + resolution]
        x = (rgb / 127.5 - 1.0).astype(np.float32)
    elif preprocess == "unified-io-2":
        scale = min(resolution / h, resolution / w)
        nh, nw = max(1, int(h * scale)), max(1, int(w * scale))
        small = (cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA) / 127.5 - 1.0).astype(np.float32)
        x = np.full((resolution, resolution, 3), -1.0, np.float32)
        top, left = (resolution - nh) // 2, (resolution - nw) // 2
        x[top:top + nh, left:left + nw] = small
    else:
        x = (rgb / 127.5 - 1.0).astype(np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def read_wav(path, rate, channels):
    """16-bit PCM WAV → float32 [C, L] at the model's rate and channels: the mean for mono models (a mono file
    duplicated for stereo ones) as upstream mixes, then scipy's polyphase resampling."""
    import numpy as np
    from scipy.signal import resample_poly
    with wave.open(path, "rb") as f:
        file_channels, file_rate = f.getnchannels(), f.getframerate()
        if f.getsampwidth() != 2:
            sys.exit(f"{path}: only 16-bit PCM is read here")
        pcm = np.frombuffer(f.readframes(f.getnframes()), "<i2").reshape(-1, file_channels).T
    x = pcm.astype(np.float32) / 32768
    if channels == 1:
        x = x.mean(0, keepdims=True)
    elif file_channels == 1:
        x = np.repeat(x, channels, 0)
    if file_rate != rate:
        g = math.gcd(rate, file_rate)
        x = resample_poly(x, rate // g, file_rate // g, axis=1).astype(np.float32)
    return np.ascontiguousarray(x)


def torch_worker(modality, manifest, prefix, model_dir, layout_path, batch, threads):
    start = time.perf_counter()
    import cv2  # noqa: F401  (imports count as loading, not as the run: prepare_image and read_wav use them)
    import numpy as np
    import scipy.signal  # noqa: F401
    import torch
    from PIL import Image  # noqa: F401
    torch.set_num_threads(threads)
    with open(layout_path) as f:
        layout = json.load(f)
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    s, r = span(layout, modality)
    paths, documents = manifest_files(manifest), []
    if modality == "image":
        from anytok_torch.vqgan import VQGAN
        model = VQGAN.load(model_dir)
        loaded = time.perf_counter()
        preprocess, resolution = config.get("preprocess", "taming"), config["ddconfig"]["resolution"]
        with torch.inference_mode():
            for i in range(0, len(paths), batch):
                images = [prepare_image(p, preprocess, resolution) for p in paths[i:i + batch]]
                codes = [None] * len(images)
                for shape in dict.fromkeys(x.shape for x in images):  # one pass per prepared size, as anytok
                    which = [j for j, x in enumerate(images) if x.shape == shape]
                    out = model.encode(torch.from_numpy(np.stack([images[j] for j in which])))
                    for j, c in zip(which, out):
                        codes[j] = c
                for c in codes:
                    documents.append([(marked(layout, s, (r["first"] + c.reshape(-1)).tolist()), MODES["image"])])
    else:
        from anytok_torch.encodec import EnCodec
        model = EnCodec.load(model_dir)
        loaded = time.perf_counter()
        with torch.inference_mode():
            for p in paths:
                wav = torch.from_numpy(read_wav(p, model.sample_rate, model.channels))[None]
                codes = model.encode(wav)[0][0]  # [K, T]
                k = torch.arange(codes.shape[0])[:, None]
                ids = r["first"] + k * r["size"] + codes  # codebook k's ids follow codebook k−1's
                if s["order"] != "frame-major":
                    sys.exit(f"the PyTorch side writes frame-major audio only, the layout says {s['order']}")
                documents.append([(marked(layout, s, ids.t().reshape(-1).tolist()), MODES["audio"])])
    write_indexed(prefix, documents, layout["size"])
    done = time.perf_counter()
    print(json.dumps({"seconds": done - loaded, "load_seconds": loaded - start, "peak_rss_mb": peak_rss_mb()}))


# ---- running and timing ---------------------------------------------------------------------------------------

# Runs the command given after it and prints its wall time, exit status and peak resident set. The command is
# started from this small interpreter, not from the benchmark's: Linux carries the resident set a process had when
# it was forked across exec into ru_maxrss, so a child forked from a process holding PyTorch and a model would
# report that process's size as its own (measure.py reads VmHWM for the same reason).
SPAWN = """import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"wall": time.perf_counter() - start, "rc": os.waitstatus_to_exitcode(status),
                  "rss_mb": usage.ru_maxrss / 1024}))"""


def run_timed(command):
    """Runs a command to its end: (wall seconds, its peak resident set in MiB, its standard error). Exits with
    the command's own message if it fails."""
    with tempfile.TemporaryFile() as err:
        out = subprocess.run([sys.executable, "-I", "-S", "-c", SPAWN, *command], stdout=subprocess.PIPE,
                             stderr=err, text=True, check=True).stdout
        err.seek(0)
        text = err.read().decode(errors="replace")
    result = json.loads(out.strip().splitlines()[-1])
    if result["rc"] != 0:
        sys.exit(f"{' '.join(command)} exited with {result['rc']}: {text.strip()[-2000:]}")
    return result["wall"], result["rss_mb"], text


def preprocess_run(binary, manifest, prefix, threads, model_args, batch):
    batch_args = ["--batch", str(batch)] if batch else []  # else anytok's own default
    wall, rss, err = run_timed([binary, "preprocess", manifest, "-o", prefix, "--threads", str(threads),
                                *batch_args, *model_args])
    summary = err.strip().splitlines()[-1] if err.strip() else ""
    m = re.search(r"; (\d+) errors.* lines in ([0-9.]+) s", summary)
    if not m:
        sys.exit(f"anytok preprocess printed no closing summary line: {err.strip()[-500:]!r}")
    if int(m.group(1)):
        with open(prefix + ".errors.jsonl") as f:
            sys.exit(f"anytok preprocess found bad examples: {f.read()[:2000]}")
    return {"wall": wall, "run": float(m.group(2)), "rss": rss}


def tokenize_loop(binary, manifest, out_dir, threads, model_args):
    """One anytok tokenize process per file; returns the timing and the tokens of each file."""
    os.makedirs(out_dir, exist_ok=True)
    wall, rss, tokens = 0.0, 0.0, []
    for i, path in enumerate(manifest_files(manifest)):
        out = os.path.join(out_dir, f"{i:04d}.jsonl")
        w, r, _ = run_timed([binary, "tokenize", path, "--threads", str(threads), "-o", out, *model_args])
        wall, rss = wall + w, max(rss, r)
        with open(out) as f:
            tokens.append(json.loads(f.readline())["tokens"])
    return {"wall": wall, "run": None, "rss": rss}, tokens


def torch_run(modality, manifest, prefix, model_dir, layout, batch, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    start = time.perf_counter()
    try:
        out = measure([sys.executable, __file__, "--threads", str(threads), "--torch-worker", modality, manifest,
                       prefix, model_dir, layout, str(batch)], env)
    except subprocess.CalledProcessError as e:
        reason = (e.stderr or "").strip().splitlines()
        print(f"  the PyTorch side failed: {reason[-1] if reason else e}", flush=True)
        return None
    return {"wall": time.perf_counter() - start, "run": out["seconds"], "rss": out["peak_rss_mb"]}


def agreement(ours, theirs):
    """The share of positions where two lists of id sequences agree (over the shorter of each pair), and how
    many pairs differ in length."""
    same = total = lengths = 0
    for a, b in zip(ours, theirs):
        n = min(len(a), len(b))
        same += int(sum(int(x) == int(y) for x, y in zip(a[:n], b[:n])))
        total += n
        lengths += len(a) != len(b)
    return same / max(total, 1), lengths


def bench(name, unit, amount, manifest, model_dir, model_flag, args, binary, layout, tmp):
    """Times the four ways on one manifest and prints their table; amount = the items' total (images or audio
    seconds)."""
    t = args.threads
    model_args = [model_flag, model_dir, "--vocab", layout]
    rows = {}
    rows["pp1"] = preprocess_run(binary, manifest, os.path.join(tmp, f"{name}-1t"), 1, model_args, args.batch)
    rows["ppN"] = preprocess_run(binary, manifest, os.path.join(tmp, f"{name}-{t}t"), t, model_args, args.batch)
    rows["loop"], loop_tokens = tokenize_loop(binary, manifest, os.path.join(tmp, f"{name}-loop"), t, model_args)
    rows["torch"] = torch_run(name, manifest, os.path.join(tmp, f"{name}-torch"), model_dir, layout, args.torch_batch, t)

    labels = {"pp1": "anytok preprocess, 1 thread", "ppN": f"anytok preprocess, {t} threads",
              "loop": f"anytok tokenize per file, {t} threads", "torch": f"pytorch script, {t} threads"}
    best = amount / rows["ppN"]["wall"]
    print(f"{'method':<36} {'wall s':>8} {unit:>9} {'excl. load':>10} {'ratio':>6} {'peak rss':>9}")
    for key, label in labels.items():
        row = rows[key]
        if row is None:
            print(f"{label:<36} {'-':>8} {'-':>9} {'-':>10} {'-':>6} {'-':>9}")
            continue
        tput = amount / row["wall"]
        excl = f"{amount / row['run']:>10.3f}" if row["run"] else f"{'-':>10}"
        print(f"{label:<36} {row['wall']:>8.2f} {tput:>9.3f} {excl} {best / tput:>5.2f}x {row['rss']:>7.0f}MB")

    # Checks: the thread count must not change a byte; one-file processes give the same tokens; PyTorch agrees.
    many, _, _ = read_indexed(os.path.join(tmp, f"{name}-{t}t"))
    identical = all(open(os.path.join(tmp, f"{name}-1t{e}"), "rb").read() ==
                    open(os.path.join(tmp, f"{name}-{t}t{e}"), "rb").read() for e in (".bin", ".idx"))
    loop_same = len(loop_tokens) == len(many) and all(list(map(int, a)) == b for a, b in zip(many, loop_tokens))
    check = (f"check: {len(many)} {name} sequences; preprocess at 1 and {t} threads "
             f"{'wrote identical bytes' if identical else 'DIFFER'}; the tokenize loop "
             f"{'gave the same tokens' if loop_same else 'gave DIFFERENT tokens'}")
    if rows["torch"]:
        theirs, _, _ = read_indexed(os.path.join(tmp, f"{name}-torch"))
        share, lengths = agreement(many, theirs)
        check += f"; PyTorch agrees on {100 * share:.1f}% of ids"
        if lengths:
            check += f" ({lengths} sequences differ in length)"
    print(check)
    ratio = lambda key: rows[key]["wall"] / rows["ppN"]["wall"]  # noqa: E731  (= throughput ratio)
    ratios = [f"{ratio('pp1'):.2f}x 1 thread", f"{ratio('loop'):.2f}x the tokenize loop"]
    if rows["torch"]:
        ratios.append(f"{ratio('torch'):.2f}x PyTorch")
    print(f"anytok preprocess, {t} threads: {', '.join(ratios)} (goal: {GOAL.format(t=t, r=0.9 * t)})", flush=True)
    return identical and loop_same


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="threads of the many-thread runs (default 2)")
    p.add_argument("--images", type=int, default=48)
    p.add_argument("--audio-files", type=int, default=36)
    p.add_argument("--batch", type=int, default=None, help="images per network pass for anytok (default: its own)")
    p.add_argument("--torch-batch", type=int, default=8, help="images per network pass for PyTorch (default 8)")
    p.add_argument("--image-model", default=os.path.join(HERE, "..", "models", "image"))
    p.add_argument("--audio-model", default=os.path.join(HERE, "..", "models", "audio"))
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--only", choices=["image", "audio"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a smoke test: 4 images, 2 audio files of 2–3 s")
    p.add_argument("--torch-worker", nargs=6, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.torch_worker:
        modality, manifest, prefix, model_dir, layout, batch = a.torch_worker
        return torch_worker(modality, manifest, prefix, model_dir, layout, int(batch), a.threads)

    if a.threads < 2:
        p.error("--threads is the many-thread count, compared with 1 thread: give 2 or more")
    import numpy as np
    binary = os.path.join(a.build, "anytok")
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: build first (scripts/setup)")
    images, audio_files, seconds = (4, 2, (2, 3)) if a.quick else (a.images, a.audio_files, (5, 10))
    do_image, do_audio = a.only in (None, "image"), a.only in (None, "audio")
    ok = True
    with tempfile.TemporaryDirectory(prefix="anytok-preprocess-bench-") as tmp:
        models = random_models(tmp, a.image_model, a.audio_model, do_image, do_audio)
        layout = os.path.join(tmp, "layout.json")
        vocab_args = [arg for m, flag in (("image", "--image-model"), ("audio", "--audio-model")) if m in models
                      for arg in (flag, models[m][0])]
        with open(layout, "w") as f:
            subprocess.run([binary, "vocab", "--json", *vocab_args], check=True, stdout=f)
        print(f"anytok preprocess against a tokenize loop and PyTorch, {os.cpu_count()} cores; "
              f"throughput over wall-clock time (higher is better), ratio = preprocess at {a.threads} threads / "
              f"the row")
        if do_image:
            manifest = write_images(os.path.join(tmp, "images"), images, np.random.default_rng(a.seed))
            with open(os.path.join(models["image"][0], "config.json")) as f:
                config = json.load(f)
            mb = os.path.getsize(os.path.join(models["image"][0], "model.safetensors")) / 2**20
            r = config["ddconfig"]["resolution"]
            print(f"\nimages: {images} files of 300-640 px (JPEG and PNG) → {models['image'][1]}, {mb:.0f} MB, "
                  f"{config.get('preprocess', 'taming')} preprocessing to {r}x{r}, batch {a.batch or 'default'} "
                  f"(PyTorch {a.torch_batch})")
            ok &= bench("image", "images/s", images, manifest, models["image"][0], "--image-model", a,
                        binary, layout, tmp)
        if do_audio:
            manifest, total = write_audio(os.path.join(tmp, "audio"), audio_files, seconds,
                                          np.random.default_rng(a.seed + 1))
            with open(os.path.join(models["audio"][0], "config.json")) as f:
                config = json.load(f)
            mb = os.path.getsize(os.path.join(models["audio"][0], "model.safetensors")) / 2**20
            print(f"\naudio: {audio_files} WAV files, {total:.1f} s at {SOURCE_RATE // 1000} kHz (mono and stereo) → "
                  f"{models['audio'][1]}, {mb:.0f} MB, {config['sample_rate'] // 1000} kHz "
                  f"{config.get('bandwidth')} kbps")
            ok &= bench("audio", "audio s/s", total, manifest, models["audio"][0], "--audio-model", a,
                        binary, layout, tmp)
    if not ok:
        sys.exit("a check failed (see above)")


if __name__ == "__main__":
    main()
