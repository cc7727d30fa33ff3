#!/bin/sh
# shellcheck disable=SC2086  # $EVAL_ARGS is a word list, split on purpose
# Train the default any-to-any sequence model (an encoder-decoder transformer, format v1) on the five tasks of the
# demo world, from datasets that anytok itself makes (anytok world, anytok preprocess).
# Non-interactive and resumable: run it again and it continues where it stopped.  See README.md.
# Environment overrides: SEED (never 1000, the demo's held-out world), WORK, STEPS (default 10000), OUT,
# TRAIN_ARGS, PYTHON (see training/recipe.sh), and:
#   SCENES       training scenes, each giving one example of each of the five tasks (default 20000)
#   IMAGE_MODEL  the VQ-GAN that tokenizes the pictures (default models/image)
#   AUDIO_MODEL  the EnCodec that tokenizes the speech (default models/audio)
#   BANDWIDTH    audio bandwidth in kbps, which sets the codebooks per frame (default 1.5)
#   DATA_THREADS threads of anytok world and anytok preprocess (default: the number of cores; the data is the same)
#   EVAL_ARGS    more evaluate.py options, e.g. "--demo-count 200"
set -eu
# Run from the repository root.
cd "$(dirname "$0")/../.."
NAME=seq2seq DEFAULT_STEPS=10000
. training/recipe.sh
SCENES=${SCENES:-20000}
IMAGE_MODEL=${IMAGE_MODEL:-models/image}
AUDIO_MODEL=${AUDIO_MODEL:-models/audio}
BANDWIDTH=${BANDWIDTH:-1.5}
DATA_THREADS=${DATA_THREADS:-$(nproc)}
EVAL_ARGS=${EVAL_ARGS:-}
require_anytok "'anytok world' and 'anytok preprocess' for its data and 'anytok generate' and 'anytok demo'" \
    "for its checks"
for model in "$IMAGE_MODEL" "$AUDIO_MODEL"; do
    if [ ! -f "$model/config.json" ]; then
        echo "$model: no model there; train it first (training/image, training/audio) or set IMAGE_MODEL and" \
             "AUDIO_MODEL" >&2
        exit 1
    fi
done

# 1. Packages: espeak-ng (the spoken captions) and torch.
install_packages

# 2. Data (each finished chunk is skipped): SCENES scenes of seed SEED and 64 held-out scenes of seed 1001, their
#    five tasks tokenized by anytok preprocess into Megatron indexed datasets.
nice -n 19 "$PYTHON" "$DIR/build_data.py" "$WORK" --seed "$SEED" --scenes "$SCENES" --anytok build/anytok \
    --image-model "$IMAGE_MODEL" --audio-model "$AUDIO_MODEL" --bandwidth "$BANDWIDTH" --threads "$DATA_THREADS"

# 3. Training, resumed from the last checkpoint.
train_model

# 4. Export (config.json, vocab.json, f16 model.safetensors) and check it: PyTorch and the C++ runtime decode
#    held-out examples alike, and anytok demo's metrics on the demo's held-out world (seed 1000) meet the floors.
#    Only a model that passed is copied out.
export_and_check "config.json vocab.json model.safetensors" "$WORK/data" --anytok build/anytok \
    --image-model "$IMAGE_MODEL" --audio-model "$AUDIO_MODEL" --bandwidth "$BANDWIDTH" $EVAL_ARGS
