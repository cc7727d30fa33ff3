#!/bin/sh
# Train the default audio codec (a small causal EnCodec) on synthesised speech and music.
# Non-interactive and resumable: run it again and it continues where it stopped.  See README.md.
# Environment overrides: SEED, WORK, STEPS (default 12000), OUT, TRAIN_ARGS, PYTHON; see training/recipe.sh.
set -eu
# Run from the repository root.
cd "$(dirname "$0")/../.."
NAME=audio DEFAULT_STEPS=12000
. training/recipe.sh
require_anytok "'anytok reconstruct' for its checks"

# 1. Packages: synthesisers, soundfont, text source, sox and torch.
install_packages

# 2. Data (skipped when $WORK/data is complete): 24 kHz mono WAV, training and held-out.
nice -n 19 "$PYTHON" "$DIR/build_data.py" "$WORK" --seed "$SEED"

# 3. Training, resumed from the last checkpoint.
train_model

# 4. Export (f16 safetensors under the original EnCodec names) and check it: held-out quality in PyTorch at
#    every bandwidth, the C++ runtime's agreement (anytok reconstruct) and the SI-SNR floor at the default.
#    Only a model that passed is copied out.
export_and_check "config.json model.safetensors" "$WORK/data/eval" --anytok build/anytok
