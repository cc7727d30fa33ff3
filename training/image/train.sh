#!/bin/sh
# shellcheck disable=SC2086  # $TRAIN_ARGS is a word list, split on purpose
# Train the default image tokenizer (a small taming VQ-GAN: 64x64 → 16x16 codes of 1024) on photographs from
# Debian's wallpaper packages and scenes of the demo world.
# Non-interactive and resumable: run it again and it continues where it stopped.  See README.md.
# Environment overrides:
#   SEED        seed of the data (world scenes) and of training (default 1)
#   WORK        data, checkpoints and logs (default: image-run next to the repository checkout)
#   STEPS       training steps (default 18000)
#   OUT         where the model directory is copied once it passes the checks (default models/image)
#   TRAIN_ARGS  more train.py options, e.g. "--checkpoint-minutes 10"
#   PYTHON      a Python 3 with torch (default /usr/bin/python3, Debian's python3-torch)
set -eu
# Run from the repository root.
cd "$(dirname "$0")/../.."

SEED=${SEED:-1}
WORK=${WORK:-$(cd .. && pwd)/image-run}
STEPS=${STEPS:-18000}
OUT=${OUT:-models/image}
TRAIN_ARGS=${TRAIN_ARGS:-}
PYTHON=${PYTHON:-/usr/bin/python3}
DIR=training/image
LOCK=$DIR/packages.txt       # "package<TAB>version" used for the released model

if [ ! -x build/anytok ]; then
    echo "build/anytok not found: build the project first (scripts/setup); the recipe needs 'anytok world'" \
         "for its data and 'anytok reconstruct' for its checks" >&2
    exit 1
fi

# 1. Packages: the wallpaper packages (training photographs), scikit-image (held-out photographs), OpenCV, torch.
sh training/packages.sh "$LOCK" "$WORK"

# 2. Data (skipped when $WORK/data is complete): photographs, world scenes, held-out images, ATTRIBUTION.md.
nice -n 19 "$PYTHON" "$DIR/build_data.py" "$WORK" --seed "$SEED" --anytok build/anytok

# 3. Training, resumed from $WORK/ckpt/latest.pt when there is one.  Log: $WORK/train.log.
nice -n 19 "$PYTHON" "$DIR/train.py" "$WORK" --seed "$SEED" --steps "$STEPS" $TRAIN_ARGS

# 4. Export (f16 safetensors under taming's names) and check it: held-out PSNR and codebook usage in PyTorch,
#    the C++ runtime's agreement (anytok reconstruct and tokenize) and the PSNR floor on held-out photographs.
rm -rf "$WORK/model"
"$PYTHON" "$DIR/export.py" "$WORK/ckpt/latest.pt" "$WORK/model"
if ! nice -n 19 "$PYTHON" "$DIR/evaluate.py" "$WORK/model" "$WORK/data" --anytok build/anytok \
        --json "$WORK/eval.json" > "$WORK/eval.txt"; then
    cat "$WORK/eval.txt"
    echo "the model in $WORK/model failed its checks; not copied to $OUT" >&2
    exit 1
fi
cat "$WORK/eval.txt"

# 5. Only a model that passed the checks is copied out.
mkdir -p "$OUT"
cp "$WORK/model/config.json" "$WORK/model/model.safetensors" "$OUT/"
echo "wrote $OUT"
