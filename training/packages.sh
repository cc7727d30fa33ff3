#!/bin/sh
# shellcheck disable=SC2086  # $packages is a word list, split on purpose
# Installs a recipe's Debian packages and records their versions.
#
#   sh training/packages.sh LOCK WORK
#
# LOCK lists "package<TAB>version" as used for the released model. apt-get runs only if a package is missing.
# The installed versions go to WORK/packages.txt; a warning says which differ from LOCK, since the data and
# the model then differ too.
set -eu
lock=$1 work=$2
packages=$(cut -f1 "$lock")
missing=""
for p in $packages; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"
done
if [ -n "$missing" ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages
fi
mkdir -p "$work"
dpkg-query -W -f='${Package}\t${Version}\n' $packages > "$work/packages.txt"
if ! cmp -s "$lock" "$work/packages.txt"; then
    echo "warning: installed package versions differ from $lock; the data and the model will differ too:" >&2
    diff "$lock" "$work/packages.txt" >&2 || true
fi
