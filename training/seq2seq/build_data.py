#!/usr/bin/python3
"""Make the sequence model's training and held-out data with anytok itself: `anytok world` writes scenes of the
demo world with their five tasks as a pairs manifest, and `anytok preprocess` tokenizes them into Megatron indexed
datasets. Nothing here tokenizes anything in Python.

usage: build_data.py WORKDIR --seed S --scenes N --image-model DIR --audio-model DIR --bandwidth KBPS
                     [--anytok build/anytok] [--chunk 1000] [--valid-seed 1001] [--valid-scenes 64]
                     [--threads 1] [--keep-media]

Writes, under WORKDIR/data:
  params.json               the scenes the data was made of; a later call for other scenes is refused (preprocess
                            refuses datasets made with other models or options)
  world-NNN/                `anytok world --seed S --first NNN*chunk --count chunk --speech`: scenes.jsonl,
                            tasks.jsonl (the pictures and speech are deleted once tokenized, unless --keep-media;
                            the same command writes them again)
  train-NNN_{inputs,targets}.{bin,idx}, train-NNN.json, train-NNN.errors.jsonl
                            `anytok preprocess` of world-NNN/tasks.jsonl: one example per scene and task
  world-valid/, valid_*     the same for --valid-scenes scenes of --valid-seed, the held-out set of train.py's log
                            and of the export's check (pictures and speech kept)

A chunk is complete when its sidecar (train-NNN.json) exists; an interrupted call goes on with the first
incomplete chunk (world writes into a .partial folder renamed when done; preprocess resumes from its own
checkpoint). Scenes depend only on their seed and index, so the data depends only on the settings, the models and
the espeak-ng version. The demo's default seed (1000) is never used here.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

DEMO_SEED = 1000
# Boxes: one location bin per pixel of the 64-pixel scenes, rounded to the nearest (pix2seq's convention). The
# preset's 1000 bins would put about 16 bins in each pixel, a sub-pixel choice the 4-pixel image codes cannot
# inform: in a 600-step detection-only trial, 64 bins reached a held-out loss of 1.11 and token accuracy 0.62,
# 1000 bins 2.87 and 0.42. Rounding keeps the quantization unbiased (truncating would shift each box by half a
# pixel on average); decoding is q / (bins - 1) of the side either way.
LOCATION_BINS = 64
BOX_CONVENTION = "pix2seq"


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def make_world(args, seed, first, count, folder):
    if os.path.exists(os.path.join(folder, "tasks.jsonl")):
        return
    partial = folder + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    run([args.anytok, "world", "--seed", str(seed), "--first", str(first), "--count", str(count), "--speech",
         "--threads", str(args.threads), "-o", partial])
    os.replace(partial, folder)


def preprocess(args, folder, prefix):
    """Runs even when the dataset is finished: preprocess then checks it was made with these models and options
    (and refuses it if not) without reading the manifest's pictures and speech."""
    done = os.path.exists(prefix + ".json")
    cmd = [args.anytok, "preprocess", os.path.join(folder, "tasks.jsonl"), "-o", prefix, "--image-model",
           args.image_model, "--audio-model", args.audio_model, "--bandwidth", str(args.bandwidth), "--bins",
           str(LOCATION_BINS), "--box-convention", BOX_CONVENTION, "--threads", str(args.threads)]
    if done:
        check = subprocess.run(cmd, capture_output=True, text=True)
        if check.returncode:
            sys.exit(f"{check.stderr.strip()}\n{prefix} was made with other models or options; move "
                     f"{os.path.dirname(prefix)} away to start over")
    else:
        run(cmd)
    with open(prefix + ".json", encoding="utf-8") as f:
        counts = json.load(f)["counts"]
    if counts["errors"]:
        sys.exit(f"{prefix}.errors.jsonl: {counts['errors']} scenes of the world failed to tokenize")
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenes", type=int, required=True)
    ap.add_argument("--image-model", required=True)
    ap.add_argument("--audio-model", required=True)
    ap.add_argument("--bandwidth", type=float, required=True)
    ap.add_argument("--anytok", default="build/anytok")
    ap.add_argument("--chunk", type=int, default=1000, help="scenes per world folder and dataset")
    ap.add_argument("--valid-seed", type=int, default=1001)
    ap.add_argument("--valid-scenes", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="threads of anytok world and preprocess")
    ap.add_argument("--keep-media", action="store_true", help="keep the training scenes' pictures and speech")
    args = ap.parse_args()
    if DEMO_SEED in (args.seed, args.valid_seed):
        sys.exit(f"seed {DEMO_SEED} is the demo's held-out world; train and validate on other seeds")
    if args.seed == args.valid_seed:
        sys.exit("--seed and --valid-seed must differ")

    data = os.path.join(args.work, "data")
    os.makedirs(data, exist_ok=True)
    # The scenes. The models and options are checked by preprocess itself, which refuses a checkpoint or a finished
    # dataset made with other model files or options.
    params = dict(seed=args.seed, scenes=args.scenes, chunk=args.chunk, valid_seed=args.valid_seed,
                  valid_scenes=args.valid_scenes)
    params_file = os.path.join(data, "params.json")
    if os.path.exists(params_file):
        with open(params_file, encoding="utf-8") as f:
            before = json.load(f)
        if before != params:
            sys.exit(f"{data} was made with other settings ({json.dumps(before)}); move it away to start over")
    else:
        with open(params_file + ".tmp", "w", encoding="utf-8") as f:
            json.dump(params, f, indent=1)
        os.replace(params_file + ".tmp", params_file)

    valid_world = os.path.join(data, "world-valid")
    make_world(args, args.valid_seed, 0, args.valid_scenes, valid_world)
    preprocess(args, valid_world, os.path.join(data, "valid"))
    chunks = (args.scenes + args.chunk - 1) // args.chunk
    examples = 0
    for k in range(chunks):
        first = k * args.chunk
        count = min(args.chunk, args.scenes - first)
        folder, prefix = os.path.join(data, f"world-{k:03d}"), os.path.join(data, f"train-{k:03d}")
        if not os.path.exists(prefix + ".json"):
            make_world(args, args.seed, first, count, folder)
        examples += preprocess(args, folder, prefix)["examples"]
        if not args.keep_media:
            for media in ("images", "speech"):
                shutil.rmtree(os.path.join(folder, media), ignore_errors=True)
    print(f"{data}: {args.scenes} training scenes of seed {args.seed} ({examples} examples in {chunks} datasets), "
          f"{args.valid_scenes} held-out scenes of seed {args.valid_seed}")


if __name__ == "__main__":
    main()
