#!/bin/sh
# shellcheck disable=SC2086  # $TRAIN_ARGS is a word list, split on purpose
# Train the default audio codec (a small causal EnCodec) on synthesised speech and music.
# Non-interactive and resumable: run it again and it continues where it stopped.  See README.md.
# Environment overrides:
#   SEED        seed of the data and of training (default 1)
#   WORK        data, checkpoints and logs (default: audio-run next to the repository checkout)
#   STEPS       training steps (default 30000)
#   OUT         where the model directory is copied once it passes the checks (default models/audio)
#   TRAIN_ARGS  more train.py options, e.g. "--checkpoint-minutes 10"
#   PYTHON      a Python 3 with torch (default /usr/bin/python3, Debian's python3-torch)
set -eu
# Run from the repository root.
cd "$(dirname "$0")/../.."

SEED=${SEED:-1}
WORK=${WORK:-$(cd .. && pwd)/audio-run}
STEPS=${STEPS:-30000}
OUT=${OUT:-models/audio}
TRAIN_ARGS=${TRAIN_ARGS:-}
PYTHON=${PYTHON:-/usr/bin/python3}
DIR=training/audio
LOCK=$DIR/packages.txt       # "package<TAB>version" used for the released model

# 1. Packages: synthesisers, soundfont, text source, sox and torch.
sh training/packages.sh "$LOCK" "$WORK"

# 2. Data (skipped when $WORK/data is complete): 24 kHz mono WAV, training and held-out.
nice -n 19 "$PYTHON" "$DIR/build_data.py" "$WORK" --seed "$SEED"

# 3. Training, resumed from $WORK/ckpt/latest.pt when there is one.  Log: $WORK/train.log.
nice -n 19 "$PYTHON" "$DIR/train.py" "$WORK" --seed "$SEED" --steps "$STEPS" $TRAIN_ARGS

# 4. Export (f16 safetensors under the original EnCodec names) and check it: held-out quality in PyTorch at
#    every bandwidth, the C++ runtime's agreement (anytok reconstruct) and the SI-SNR floor at the default.
rm -rf "$WORK/model"
"$PYTHON" "$DIR/export.py" "$WORK/ckpt/latest.pt" "$WORK/model"
ANYTOK=""
if [ -x build/anytok ]; then
    ANYTOK="--anytok build/anytok"
else
    echo "warning: build/anytok not found; the C++ runtime is not checked" >&2
fi
if ! nice -n 19 "$PYTHON" "$DIR/evaluate.py" "$WORK/model" "$WORK/data/eval" $ANYTOK \
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
