#!/usr/bin/env bash
# Benchmarks. Medians of repeated runs; the machines are shared and noisy.
set -euo pipefail
bin=${1:?usage: bench.sh <bin dir>}
echo "== wire (median of 5)"
"$bin/wire_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_display_aggregates_only=true 2>/dev/null | grep -E 'median|Benchmark'

echo "== client: batch writes and full scans of 1M x 1 KiB on a 3-node devcluster (BENCH_RECORDS overrides)"
ABS_ROOT="$(cd "$(dirname "$0")/.." && pwd)" "$bin/client_bench"

echo "== backup and restore: 1M x 1 KiB on a 3-node devcluster, with and without zstd and AES"
"$bin/backup_bench"

echo "== storage: raw objects and backup/restore jobs on local disk, S3, GCS and Azure emulators"
"$bin/storage_bench"
