#!/bin/sh
# shellcheck disable=SC2086  # $TRAIN_ARGS and $EVAL_ARGS are word lists, split on purpose
# Train the default any-to-any sequence model (an encoder-decoder transformer, format v1) on the five tasks of the
# demo world, from datasets that anytok itself makes (anytok world, anytok preprocess).
# Non-interactive and resumable: run it again and it continues where it stopped.  See README.md.
# Environment overrides:
#   SEED         seed of the training scenes and of training (default 1; never 1000, the demo's held-out world)
#   WORK         data, checkpoints and logs (default: seq2seq-run next to the repository checkout)
#   SCENES       training scenes, each giving one example of each of the five tasks (default 20000)
#   STEPS        training steps (default 10000)
#   IMAGE_MODEL  the VQ-GAN that tokenizes the pictures (default models/image)
#   AUDIO_MODEL  the EnCodec that tokenizes the speech (default models/audio)
#   BANDWIDTH    audio bandwidth in kbps, which sets the codebooks per frame (default 1.5)
#   OUT          where the model directory is copied once it passes the checks (default models/seq2seq)
#   TRAIN_ARGS   more train.py options, e.g. "--checkpoint-minutes 10"
#   EVAL_ARGS    more evaluate.py options, e.g. "--demo-count 200"
#   PYTHON       a Python 3 with torch (default /usr/bin/python3, Debian's python3-torch)
set -eu
# Run from the repository root.
cd "$(dirname "$0")/../.."

SEED=${SEED:-1}
WORK=${WORK:-$(cd .. && pwd)/seq2seq-run}
SCENES=${SCENES:-20000}
STEPS=${STEPS:-10000}
IMAGE_MODEL=${IMAGE_MODEL:-models/image}
AUDIO_MODEL=${AUDIO_MODEL:-models/audio}
BANDWIDTH=${BANDWIDTH:-1.5}
OUT=${OUT:-models/seq2seq}
TRAIN_ARGS=${TRAIN_ARGS:-}
EVAL_ARGS=${EVAL_ARGS:-}
PYTHON=${PYTHON:-/usr/bin/python3}
DIR=training/seq2seq
LOCK=$DIR/packages.txt       # "package<TAB>version" used for the released model

if [ ! -x build/anytok ]; then
    echo "build/anytok not found: build the project first (scripts/setup); the recipe needs 'anytok world' and" \
         "'anytok preprocess' for its data and 'anytok generate' and 'anytok demo' for its checks" >&2
    exit 1
fi
for model in "$IMAGE_MODEL" "$AUDIO_MODEL"; do
    if [ ! -f "$model/config.json" ]; then
        echo "$model: no model there; train it first (training/image, training/audio) or set IMAGE_MODEL and" \
             "AUDIO_MODEL" >&2
        exit 1
    fi
done

# 1. Packages: espeak-ng (the spoken captions) and torch.
sh training/packages.sh "$LOCK" "$WORK"

# 2. Data (each finished chunk is skipped): SCENES scenes of seed SEED and 64 held-out scenes of seed 1001, their
#    five tasks tokenized by anytok preprocess into Megatron indexed datasets.
nice -n 19 "$PYTHON" "$DIR/build_data.py" "$WORK" --seed "$SEED" --scenes "$SCENES" --anytok build/anytok \
    --image-model "$IMAGE_MODEL" --audio-model "$AUDIO_MODEL" --bandwidth "$BANDWIDTH"

# 3. Training, resumed from $WORK/ckpt/latest.pt when there is one.  Log: $WORK/train.log.
nice -n 19 "$PYTHON" "$DIR/train.py" "$WORK" --seed "$SEED" --steps "$STEPS" $TRAIN_ARGS

# 4. Export (config.json, vocab.json, f16 model.safetensors) and check it: PyTorch and the C++ runtime decode
#    held-out examples alike, and anytok demo's metrics on the demo's held-out world (seed 1000) meet the floors.
rm -rf "$WORK/model"
"$PYTHON" "$DIR/export.py" "$WORK/ckpt/latest.pt" "$WORK/model"
if ! nice -n 19 "$PYTHON" "$DIR/evaluate.py" "$WORK/model" "$WORK/data" --anytok build/anytok \
        --image-model "$IMAGE_MODEL" --audio-model "$AUDIO_MODEL" --bandwidth "$BANDWIDTH" \
        --json "$WORK/eval.json" $EVAL_ARGS > "$WORK/eval.txt"; then
    cat "$WORK/eval.txt"
    echo "the model in $WORK/model failed its checks; not copied to $OUT" >&2
    exit 1
fi
cat "$WORK/eval.txt"

# 5. Only a model that passed the checks is copied out.
mkdir -p "$OUT"
cp "$WORK/model/config.json" "$WORK/model/vocab.json" "$WORK/model/model.safetensors" "$OUT/"
echo "wrote $OUT"
