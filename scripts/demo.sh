#!/usr/bin/env bash
# The parallel-backup workflow of ABS's parallel-backups guide, on one machine:
#   a 3-node devcluster with racks; `absctl load` 200,000 records of 1 KiB; two absd
#   instances whose configs differ only in their routine's node-list; both triggered with
#   curl at the same time; the metadata.yaml record-counts add up to the total; `absctl
#   verify` proves the two backups together cover every partition exactly once (and one
#   alone does not); truncate; both restored in parallel through POST /v1/restore/full;
#   per-node object counts equal to those before. The dashboard (/ui/) of each instance
#   draws the set's coverage; DEMO_HOLD=1 keeps everything running at the end to look at it.
# DEMO_STORAGE=s3|gcs|azure runs the same workflow on cloud storage, with the guide's
# storage block shape, against an emulator this script starts and stops (s3rver, the
# project's GCS test server, azurite); the default is local disk.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ABS_BIN:-build/bin}
RECORDS=${DEMO_RECORDS:-200000}
OBJECT_SIZE=${DEMO_OBJECT_SIZE:-1024}
STORAGE=${DEMO_STORAGE:-local}
case $STORAGE in local | s3 | gcs | azure) ;; *) echo "demo: DEMO_STORAGE must be local, s3, gcs or azure"; exit 2 ;; esac

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${DEMO_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
base=$((20000 + RANDOM % 20000))
http_a=$((base + 10))
http_b=$((base + 11))
"$BIN/abs-devcluster" --nodes 3 --base-port "$base" --racks 1,2,3 --namespace test:rf=2 \
  >"$work/cluster.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^ready' "$work/cluster.log" && break; sleep 0.1; done
grep -q '^ready' "$work/cluster.log" || { cat "$work/cluster.log"; echo "demo: devcluster did not start"; exit 1; }
host="127.0.0.1:$base"

# The storage block both instances share, and the absctl flags that reach the same place.
# `where KEY` names a backup (a listing's key) for absctl.
# Not called in $(...): the emulator's pid must reach `pids` in this shell, so that
# cleanup stops it.
emulator() {  # $1 = script, then its arguments; sets `port` to the port it listens on
  local script=$1 out="$work/$1.out"
  shift
  node "tests/emulators/$script" "$@" >"$out" 2>"$work/$script.log" &
  pids+=($!)
  for _ in $(seq 300); do grep -q port "$out" 2>/dev/null && break; sleep 0.1; done
  port=$(grep -o '"port":[0-9]*' "$out" | cut -d: -f2)
}
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
case $STORAGE in
  local)
    storage_block="    local-storage:
      path: $work/storage"
    where() { echo "$work/storage/$1"; }
    storage_flags=()
    ;;
  s3)
    mkdir -p "$work/s3"
    emulator s3.js "$work/s3" demo-bucket
    storage_block="    s3-storage:
      bucket: demo-bucket
      s3-region: us-east-1
      path: backups
      s3-endpoint-override: http://127.0.0.1:$port
      access-key-id: S3RVER
      secret-access-key: S3RVER"
    where() { echo "backups/$1"; }
    storage_flags=(--s3-bucket-name demo-bucket --s3-region us-east-1
      --s3-endpoint-override "http://127.0.0.1:$port" --s3-access-key-id S3RVER
      --s3-secret-access-key S3RVER)
    ;;
  gcs)
    emulator gcs.js "$work/gcs-key.json" demo-bucket
    storage_block="    gcp-storage:
      bucket-name: demo-bucket
      path: backups
      endpoint: http://127.0.0.1:$port
      key-file-path: $work/gcs-key.json"
    where() { echo "backups/$1"; }
    storage_flags=(--gcp-bucket-name demo-bucket --gcp-endpoint-override "http://127.0.0.1:$port"
      --gcp-key-path "$work/gcs-key.json")
    ;;
  azure)
    mkdir -p "$work/azurite"
    emulator azure.js "$work/azurite" demo-container
    storage_block="    azure-storage:
      endpoint: http://127.0.0.1:$port/devstoreaccount1
      container-name: demo-container
      path: backups
      account-name: devstoreaccount1
      account-key: $AZURITE_KEY"
    where() { echo "backups/$1"; }
    storage_flags=(--azure-container-name demo-container
      --azure-endpoint "http://127.0.0.1:$port/devstoreaccount1"
      --azure-account-name devstoreaccount1 --azure-account-key "$AZURITE_KEY")
    ;;
esac
[ -n "${port:-local}" ] || { cat "$work"/*.log; echo "demo: the $STORAGE emulator did not start"; exit 1; }

echo "== 1. a 3-node cluster with racks 1,2,3 (storage: $STORAGE)"
cat "$work/cluster.log"

echo "== 2. load $RECORDS records of $OBJECT_SIZE bytes"
"$BIN/absctl" load -h "$host" -n test -s demo -k "$RECORDS" -o "$OBJECT_SIZE"
"$BIN/absctl" info -h "$host" | tee "$work/before.txt"

echo "== 3. two absd instances; their configs differ only in the routine's node-list"
config() {  # $1 = http port, $2 = node-list entries
  cat <<YAML
service:
  http:
    address: 127.0.0.1
    port: $1
  logger:
    level: INFO
aerospike-clusters:
  demo-cluster:
    seed-nodes:
      - host-name: 127.0.0.1
        port: $base
storage:
  shared-storage:
$storage_block
backup-policies:
  parallel-policy:
    parallel: 4
    file-limit: 100
backup-routines:
  demo-routine:
    interval-cron: "@yearly"
    source-cluster: demo-cluster
    storage: shared-storage
    backup-policy: parallel-policy
    namespaces: [test]
    node-list: [$2]
YAML
}
mkdir -p "$work/a" "$work/b"
config "$http_a" "127.0.0.1:$base" >"$work/a/aerospike-backup-service.yml"
config "$http_b" "127.0.0.1:$((base + 1)), 127.0.0.1:$((base + 2))" >"$work/b/aerospike-backup-service.yml"
diff "$work/a/aerospike-backup-service.yml" "$work/b/aerospike-backup-service.yml" || true
"$BIN/absd" -c "$work/a/aerospike-backup-service.yml" >"$work/a/absd.log" 2>&1 &
pids+=($!)
"$BIN/absd" -c "$work/b/aerospike-backup-service.yml" >"$work/b/absd.log" 2>&1 &
pids+=($!)
for port in "$http_a" "$http_b"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done
  echo "instance on port $port: /ready says $(curl -s "http://127.0.0.1:$port/ready")"
done

echo "== 4. trigger both at the same time"
curl -s -X POST "http://127.0.0.1:$http_a/v1/backups/full/demo-routine" -w " <- POST /v1/backups/full/demo-routine to instance a: %{http_code}\n" &
trigger_a=$!
curl -s -X POST "http://127.0.0.1:$http_b/v1/backups/full/demo-routine" -w " <- POST /v1/backups/full/demo-routine to instance b: %{http_code}\n" &
trigger_b=$!
wait "$trigger_a" "$trigger_b"
listing() { curl -sf "http://127.0.0.1:$1/v1/backups/full/demo-routine"; }
for port in "$http_a" "$http_b"; do
  for _ in $(seq 600); do
    state=$(curl -sf "http://127.0.0.1:$port/v1/backups/currentBackup/demo-routine")
    echo "$state" | grep -q '"full"' || break
    sleep 0.2
  done
done
# Each instance reports the backups in the shared storage (key and record-count from
# metadata.yaml); on local disk, each run directory records in abs-run.json which
# instance (slice) wrote it.
mapfile -t backups < <(listing "$http_a" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    for (const b of JSON.parse(s)) console.log(`${b.key} ${b["record-count"]}`);
  });' | sort)
[ "${#backups[@]}" -eq 2 ] || { echo "demo: expected 2 backups, found ${#backups[@]}"; cat "$work"/a/absd.log "$work"/b/absd.log; exit 1; }
total=0
keys=()
dirs=()
for b in "${backups[@]}"; do
  key=${b% *}
  c=${b#* }
  keys+=("$key")
  dirs+=("$(where "$key")")
  claim=""
  if [ "$STORAGE" = local ]; then
    claim="  (claimed by $(grep -o '"slice": *"[^"]*"' "$(dirname "$(dirname "$work/storage/$key")")/abs-run.json"))"
  fi
  echo "$key: record-count $c$claim"
  total=$((total + c))
done
echo "sum of record-count: $total (loaded $RECORDS)"
[ "$total" -eq "$RECORDS" ] || { echo "demo: the counts do not add up"; exit 1; }
echo "-- GET /v1/backups/full/demo-routine on instance a:"
listing "$http_a"; echo

echo "== 5. verify: the two backups cover every partition exactly once"
"$BIN/absctl" verify "${storage_flags[@]}" "${dirs[@]}"
echo "-- and one backup alone leaves gaps (exit code 3 expected):"
set +e
"$BIN/absctl" verify "${storage_flags[@]}" "${dirs[0]}" | tail -1
set -e

echo "-- the dashboard's coverage map reads the same manifests (GET /v1/coverage/demo-routine):"
curl -sf "http://127.0.0.1:$http_a/v1/coverage/demo-routine?limit=1" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const set = JSON.parse(s).sets[0];
    for (const [ns, c] of Object.entries(set.namespaces))
      console.log(`set of ${set.runs.length} runs: ${set.verdict}; namespace ${ns}: ${c.covered} of 4096 covered, ${c.missing} missing, ${c.overlapping} twice`);
    if (set.verdict !== "complete") process.exit(1);
  });'
echo "   (open http://127.0.0.1:$http_a/ui/ to see it)"

echo "== 6. truncate, then restore both in parallel through POST /v1/restore/full"
"$BIN/absctl" truncate -h "$host" -n test
ids=()
i=0
for port in "$http_a" "$http_b"; do
  key=${keys[$i]}
  body="{\"backup-data-path\":\"$key\",\"source-name\":\"shared-storage\",\"destination-name\":\"demo-cluster\",\"policy\":{\"parallel\":4,\"batch-size\":128}}"
  id=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v1/restore/full")
  echo "restore of $key on port $port: job $id"
  ids+=("$port:$id")
  i=$((i + 1))
done
for entry in "${ids[@]}"; do
  port=${entry%%:*}
  id=${entry#*:}
  for _ in $(seq 600); do
    status=$(curl -sf "http://127.0.0.1:$port/v1/restore/status/$id")
    echo "$status" | grep -q '"status":"running"' || break
    sleep 0.2
  done
  echo "job $id: $(echo "$status" | grep -o '"status":"[a-z]*"\|"read-records":[0-9]*\|"inserted-records":[0-9]*' | tr '\n' ' ')"
  echo "$status" | grep -q '"status":"success"' || { echo "demo: restore $id did not succeed: $status"; exit 1; }
done

echo "== 7. per-node object counts, before and after"
"$BIN/absctl" info -h "$host" | tee "$work/after.txt"
if diff <(awk 'NR>1 {print $1, $5, $6}' "$work/before.txt") <(awk 'NR>1 {print $1, $5, $6}' "$work/after.txt"); then
  echo "demo: per-node master and replica counts are equal to those before the backup"
else
  echo "demo: per-node counts differ"; exit 1
fi
echo "-- /metrics excerpt (instance a):"
curl -sf "http://127.0.0.1:$http_a/metrics" | grep -E '^aerospike_backup_service_(backup_events_total|restore_events_total|backup_records_total)' || true
if [ -n "${DEMO_HOLD:-}" ]; then
  echo "== the demo keeps running: dashboards at http://127.0.0.1:$http_a/ui/ and http://127.0.0.1:$http_b/ui/ (Ctrl-C ends it)"
  wait "${pids[0]}" || true
fi
