#!/bin/sh
# Train the default text tokenizer (SentencePiece BPE) from Debian manuals.
# Idempotent and non-interactive; see README.md.  Environment overrides:
#   VOCAB_SIZE  vocabulary size (default 8000)
#   OUT         output model path (default models/text/tokenizer.model)
set -eu
# Run from the repository root so the paths stored in the model are relative.
cd "$(dirname "$0")/../.."

VOCAB_SIZE=${VOCAB_SIZE:-8000}
OUT=${OUT:-models/text/tokenizer.model}
DIR=training/text
WORK=$DIR/build              # not committed
LOCK=$DIR/packages.txt       # "package<TAB>version" used for the released model

# 1. Packages: corpus sources and the trainer.
sh training/packages.sh "$LOCK" "$WORK"

# 2. Corpus: train.txt, heldout.txt (every 20th paragraph, never trained on).
python3 "$DIR/build_corpus.py" "$WORK"

# 3. Training.  input_sentence_size=0 loads every line (no sampling), so the
#    result does not depend on a random seed.
start=$(date +%s%N)
spm_train \
    --input="$WORK/train.txt" --model_prefix="$WORK/spm" \
    --vocab_size="$VOCAB_SIZE" --model_type=bpe \
    --byte_fallback=true --split_digits=true \
    --normalization_rule_name=identity --remove_extra_whitespaces=false \
    --character_coverage=1.0 \
    --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 \
    --pad_piece='<pad>' --unk_piece='<unk>' --bos_piece='<s>' --eos_piece='</s>' \
    --input_sentence_size=0 --shuffle_input_sentence=false --random_seed=1 \
    --num_threads=2 --minloglevel=1
echo "training time: $(( ($(date +%s%N) - start) / 1000000 )) ms"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/spm.model" "$OUT"   # the .vocab file stays in the work directory
echo "wrote $OUT"

# 4. Held-out quality and round-trip check (fails the script on a mismatch).
python3 "$DIR/evaluate.py" "$OUT" "$WORK/heldout.txt" "$WORK/captions.txt"
