#!/usr/bin/env bash
# make check: the fast loop for the change at hand. Builds the release tree incrementally,
# runs the unit and concurrency tests, then the integration suites whose code the change
# touches (uncommitted changes, or the last commit when there are none; CHECK_BASE=REV to
# compare with REV instead). make test stays the full gate, with the sanitizers.
#   scripts/check.sh <build dir>
set -euo pipefail
build=${1:?usage: check.sh <build dir>}
cd "$(dirname "$0")/.."

if [ -n "${CHECK_BASE:-}" ]; then
  changed=$(git diff --name-only "$CHECK_BASE")
else
  changed=$( (git diff --name-only HEAD; git ls-files --others --exclude-standard) | sort -u)
  [ -n "$changed" ] || changed=$(git diff --name-only HEAD~1 HEAD 2>/dev/null || true)
fi

declare -A suites=()
while read -r path; do
  case "$path" in
    src/common/* | src/wire/* | CMakeLists.txt)
      suites[storage_integration_tests]=1 suites[backup_integration_tests]=1
      suites[service_integration_tests]=1 suites[client_integration_tests]=1 ;;
    src/client/* | src/devcluster/* | tests/integration/client_test.cc)
      suites[client_integration_tests]=1 suites[backup_integration_tests]=1 ;;
    src/storage/* | tests/integration/storage_test.cc | tests/emulators/*)
      suites[storage_integration_tests]=1 suites[backup_integration_tests]=1 ;;
    src/asb/* | src/backupset/* | src/backup/* | src/restore/* | tests/integration/backup_restore_test.cc)
      suites[backup_integration_tests]=1 suites[service_integration_tests]=1 ;;
    src/config/* | src/jobs/* | src/service/* | src/http/* | ui/* | tests/integration/*)
      suites[service_integration_tests]=1 ;;
  esac
done <<<"$changed"

bash scripts/check-layers.sh
targets=(unit_tests concurrency_tests "${!suites[@]}")
echo "check: building ${targets[*]}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}"
# The suites' sizes that make test's sanitized runs use; make roundtrip-test and
# make campaign run them at full size.
export ABS_ROUNDTRIP_RECORDS=${ABS_ROUNDTRIP_RECORDS:-50000}
export ABS_CAMPAIGN_RECORDS=${ABS_CAMPAIGN_RECORDS:-10000}
for t in "${targets[@]}"; do
  echo "check: $t"
  "$build/bin/$t" --gtest_brief=1
done
echo "check: passed (${targets[*]})"
