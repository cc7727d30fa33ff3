# shellcheck shell=sh disable=SC2086  # $TRAIN_ARGS is a word list, split on purpose
# The steps the model recipes (training/image, training/audio, training/seq2seq) share.  Each train.sh sets NAME
# and DEFAULT_STEPS, changes to the repository root and sources this file, which sets the settings every recipe
# takes from the environment:
#   SEED        seed of the data and of training (default 1)
#   WORK        data, checkpoints and logs (default: NAME-run next to the repository checkout)
#   STEPS       training steps (default DEFAULT_STEPS)
#   OUT         where the model directory is copied once it passes the checks (default models/NAME)
#   TRAIN_ARGS  more train.py options, e.g. "--checkpoint-minutes 10"
#   PYTHON      a Python 3 with torch (default /usr/bin/python3, Debian's python3-torch)
SEED=${SEED:-1}
WORK=${WORK:-$(cd .. && pwd)/$NAME-run}
STEPS=${STEPS:-$DEFAULT_STEPS}
OUT=${OUT:-models/$NAME}
TRAIN_ARGS=${TRAIN_ARGS:-}
PYTHON=${PYTHON:-/usr/bin/python3}
DIR=training/$NAME
LOCK=$DIR/packages.txt       # "package<TAB>version" used for the released model

# require_anytok WHY...: stops unless build/anytok exists; WHY says what the recipe needs it for.
require_anytok() {
    if [ ! -x build/anytok ]; then
        echo "build/anytok not found: build the project first (scripts/setup); the recipe needs $*" >&2
        exit 1
    fi
}

# install_packages: the packages of $LOCK, installed if missing; their versions go to $WORK/packages.txt.
install_packages() {
    sh training/packages.sh "$LOCK" "$WORK"
}

# train_model: $DIR/train.py, resumed from $WORK/ckpt/latest.pt when there is one.  Log: $WORK/train.log.
# It exits with status 3 when stopped early (a signal or --stop-after), which stops the recipe before the export.
train_model() {
    nice -n 19 "$PYTHON" "$DIR/train.py" "$WORK" --seed "$SEED" --steps "$STEPS" $TRAIN_ARGS
}

# export_and_check "FILES" EVALUATE_ARGS...: exports the last checkpoint to $WORK/model with $DIR/export.py, checks
# it with `$DIR/evaluate.py $WORK/model EVALUATE_ARGS... --json $WORK/eval.json` (report in $WORK/eval.txt), and
# copies FILES of the model directory to $OUT only if the checks passed.
export_and_check() {
    files=$1
    shift
    rm -rf "$WORK/model"
    "$PYTHON" "$DIR/export.py" "$WORK/ckpt/latest.pt" "$WORK/model"
    if ! nice -n 19 "$PYTHON" "$DIR/evaluate.py" "$WORK/model" "$@" --json "$WORK/eval.json" > "$WORK/eval.txt"; then
        cat "$WORK/eval.txt"
        echo "the model in $WORK/model failed its checks; not copied to $OUT" >&2
        exit 1
    fi
    cat "$WORK/eval.txt"
    mkdir -p "$OUT"
    for file in $files; do
        cp "$WORK/model/$file" "$OUT/"
    done
    echo "wrote $OUT"
}
