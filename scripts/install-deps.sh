#!/usr/bin/env bash
# Installs everything abs needs to build and test: Debian packages, then the npm test
# peers pinned by package-lock.json. Idempotent and non-interactive; skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang clang-format libclang-rt-14-dev
  libssl-dev libzstd-dev libcrypt-dev zlib1g-dev libcurl4-openssl-dev libexpat1-dev
  libyaml-cpp-dev nlohmann-json3-dev libcpp-httplib-dev prometheus-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev libhowardhinnant-date-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev
  openssl curl strace
)
# ABS_DEPS=build: only what building absd and absctl needs (the container image's build
# stage): the Debian packages and the npm package absd embeds (swagger-ui-dist, the
# "dependencies" of package.json); demo: also the npm test peers (the demo's emulators,
# the "devDependencies"); all (the default): also chromium for the browser tests and what
# the package test runs.
ABS_DEPS=${ABS_DEPS:-all}
# The package test needs systemd-analyze (systemd) and procps; no systemd runs for it.
[ "$ABS_DEPS" != all ] || DEBIAN_PACKAGES+=(chromium systemd procps)
# Node.js may come from another packaging of the machine; only install it when absent.
command -v node >/dev/null 2>&1 || DEBIAN_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || DEBIAN_PACKAGES+=(npm)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$ABS_DEPS" = build ]; then
  # Only what the binary embeds; a full install (below) has it too.
  if [ ! -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ]; then
    echo "install-deps: npm ci --omit=dev"
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
  exit 0
fi

# npm test peers (the official Aerospike Node.js client, later s3rver and azurite).
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.abs-lock; then
  echo "install-deps: npm ci"
  # --ignore-scripts: the aerospike package ships prebuilt bindings; its install script
  # would try to download or compile them.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.abs-lock
fi
