#!/usr/bin/env bash
# Dependencies point down only (README's map of the code): each folder of src/ may
# include only the folders listed for it here. Fails (exit 1) naming each include that
# reaches a folder it may not, so a layer cannot start calling the one above it unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [common]=""
  [wire]="common"
  [storage]="common"
  [jobs]="common"
  [client]="common wire"
  [asb]="common wire"
  [devcluster]="common wire"
  [backupset]="common wire storage"
  [backup]="common wire storage client asb backupset"
  [restore]="common wire storage client asb backupset"
  [config]="common wire storage client backupset"
  [service]="common wire storage client asb backupset backup restore jobs config"
  [http]="common wire storage client backupset backup restore jobs config service"
  [cli]="common wire storage client asb backupset backup restore"
)
failed=0
for dir in src/*/; do
  layer=$(basename "$dir")
  if [ -z "${allowed[$layer]+set}" ]; then
    echo "check-layers: src/$layer is not in the map of layers (scripts/check-layers.sh)" >&2
    failed=1
    continue
  fi
  while IFS=: read -r file _ include; do
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$include")
    [ "$target" = "$layer" ] && continue
    case " ${allowed[$layer]} " in
      *" $target "*) ;;
      *)
        echo "check-layers: $file includes $target/, above or beside src/$layer" >&2
        failed=1
        ;;
    esac
  done < <(grep -rnE '#include "[a-z_]+/' "$dir" || true)
done
[ "$failed" -eq 0 ] && echo "check-layers: every include points down"
exit "$failed"
