#!/usr/bin/env bash
# The abs demo on one machine. Today it runs the devcluster part of the parallel-backup
# workflow: a 3-node cluster with racks, records loaded by the official Node.js client,
# and the per-node object counts an operator checks before and after a restore.
# The backup and restore steps join as absctl and absd land.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ABS_BIN:-build/bin}
RECORDS=${DEMO_RECORDS:-200000}
OBJECT_SIZE=${DEMO_OBJECT_SIZE:-1024}

base=$((20000 + RANDOM % 20000))
log=$(mktemp)
"$BIN/abs-devcluster" --nodes 3 --base-port "$base" --racks 1,2,3 --namespace test:rf=2 >"$log" 2>&1 &
cluster_pid=$!
trap 'kill "$cluster_pid" 2>/dev/null; wait "$cluster_pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q '^ready' "$log" && break; sleep 0.1; done
grep -q '^ready' "$log" || { cat "$log"; echo "demo: devcluster did not start"; exit 1; }
echo "== devcluster"
cat "$log"

echo "== loading $RECORDS records of $OBJECT_SIZE bytes"
node scripts/demo-load.js "$base" "$RECORDS" "$OBJECT_SIZE"
