#!/bin/sh
# Train the default image tokenizer (a small taming VQ-GAN: 64x64 → 16x16 codes of 1024) on photographs from
# Debian's wallpaper packages and scenes of the demo world.
# Non-interactive and resumable: run it again and it continues where it stopped.  See README.md.
# Environment overrides: SEED, WORK, STEPS (default 18000), OUT, TRAIN_ARGS, PYTHON; see training/recipe.sh.
set -eu
# Run from the repository root.
cd "$(dirname "$0")/../.."
NAME=image DEFAULT_STEPS=18000
. training/recipe.sh
require_anytok "'anytok world' for its data and 'anytok reconstruct' for its checks"

# 1. Packages: the wallpaper packages (training photographs), scikit-image (held-out photographs), OpenCV, torch.
install_packages

# 2. Data (skipped when $WORK/data is complete): photographs, world scenes, held-out images, ATTRIBUTION.md.
nice -n 19 "$PYTHON" "$DIR/build_data.py" "$WORK" --seed "$SEED" --anytok build/anytok

# 3. Training, resumed from the last checkpoint.
train_model

# 4. Export (f16 safetensors under taming's names) and check it: held-out PSNR and codebook usage in PyTorch,
#    the C++ runtime's agreement (anytok reconstruct and tokenize) and the PSNR floor on held-out photographs.
#    Only a model that passed is copied out, with the photographs' attribution.
export_and_check "config.json model.safetensors" "$WORK/data" --anytok build/anytok
cp "$WORK/data/ATTRIBUTION.md" "$OUT/"
