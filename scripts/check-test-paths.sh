#!/usr/bin/env bash
# The repository stands alone: its tests read nothing outside it. Fails (exit 1) when
#   1. a tracked file names the team's sibling folder (../shared), or a directory that a
#      test is compiled with (ABS_*_DIR in CMakeLists.txt) lies outside the source tree;
#   2. the unit tests, run under strace, open, stat or list a path in the folder that
#      holds the repository but outside the repository itself (what a sibling checkout
#      would be). Paths elsewhere (/usr, /proc, /tmp, the build tree) are the system's.
#   scripts/check-test-paths.sh <bin dir>
set -euo pipefail
bin=${1:?usage: check-test-paths.sh <bin dir>}
repo=$(cd "$(dirname "$0")/.." && pwd -P)
parent=$(dirname "$repo")
bin=$(cd "$bin" && pwd -P)
failed=0

cd "$repo"
if hits=$(git grep -n -e '\.\./shared' -- ':!scripts/check-test-paths.sh' ':!tests/data'); then
  echo "check-test-paths: tracked files name ../shared, outside the repository:" >&2
  echo "$hits" >&2
  failed=1
fi
while read -r line; do
  case "$line" in
    *'"${CMAKE_SOURCE_DIR}/'*'..'* | *'="/'*)
      echo "check-test-paths: a test directory outside the source tree: $line" >&2
      failed=1
      ;;
  esac
done < <(grep -o 'ABS_[A-Z_]*_DIR="[^"]*"' CMakeLists.txt)

tmp=$(realpath -m -- "${TMPDIR:-/tmp}")
if [ "$parent" = / ] || [ "$parent" = "$tmp" ]; then
  echo "check-test-paths: the repository sits in $parent, where the tests' own files go too;" \
    "only the static checks ran" >&2
elif command -v strace >/dev/null 2>&1; then
  trace=$(mktemp)
  trap 'rm -f "$trace"' EXIT
  # File-name syscalls only; the tests' own output is not what is checked here.
  if ! strace -f -qq -s 4096 -e trace=%file -o "$trace" "$bin/unit_tests" --gtest_brief=1 >/dev/null 2>&1; then
    echo "check-test-paths: unit_tests failed under strace" >&2
    failed=1
  fi
  # Quoted paths in the trace, made absolute where they are relative to the working
  # directory (the tests run from the repository's top, where this script stands).
  outside=$({ grep -o '"[^"]*"' "$trace" || true; } | tr -d '"' | sort -u | while read -r p; do
    case "$p" in /*) ;; *) p="$repo/$p" ;; esac
    p=$(realpath -m -- "$p" 2>/dev/null || echo "$p")
    case "$p" in
      "$repo" | "$repo"/* | "$bin" | "$bin"/*) continue ;;
    esac
    # Temporary files are the tests' own, unless the repository itself sits in the
    # temporary folder (then its siblings are what is looked for).
    case "$p" in "$tmp"/*) [ "$parent" != "$tmp" ] && [[ "$tmp" == "$parent"/* ]] && continue ;; esac
    case "$p" in "$parent"/*) echo "$p" ;; esac
  done)
  if [ -n "$outside" ]; then
    echo "check-test-paths: unit_tests read outside the repository:" >&2
    echo "$outside" | head -20 >&2
    failed=1
  fi
else
  echo "check-test-paths: strace is not installed; only the static checks ran" >&2
fi
[ "$failed" -eq 0 ] && echo "check-test-paths: the tests read nothing outside the repository"
exit "$failed"
