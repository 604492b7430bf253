#!/usr/bin/env bash
# Runs every libFuzzer target for a few seconds; any crash fails. Longer runs:
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh build-asan/bin
set -euo pipefail
bin=${1:?usage: fuzz-smoke.sh <dir with fuzz_* binaries>}
seconds=${FUZZ_SECONDS:-8}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count=0
for f in "$bin"/fuzz_*; do
  name=$(basename "$f")
  mkdir -p "$work/$name"
  seeds="$(dirname "$0")/../tests/fuzz/corpus/$name"
  [ -d "$seeds" ] && cp "$seeds"/* "$work/$name/"
  if ! "$f" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 \
        -artifact_prefix="$work/$name/" "$work/$name" >"$work/$name.log" 2>&1; then
    echo "fuzz-smoke: $name FAILED"; tail -40 "$work/$name.log"; exit 1
  fi
  runs=$(grep -o 'Done [0-9]* runs' "$work/$name.log" | grep -o '[0-9]*' || echo "?")
  echo "fuzz-smoke: $name ok ($runs runs in ${seconds}s)"
  count=$((count + 1))
done
[ "$count" -gt 0 ] || { echo "fuzz-smoke: no fuzz targets in $bin"; exit 1; }
