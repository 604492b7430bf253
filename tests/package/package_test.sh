#!/usr/bin/env bash
# make package-test: builds the .deb, installs it with dpkg on this machine, checks the
# systemd unit with systemd-analyze, starts absd the way the unit does (its User= and
# ExecStart=, on a free port written into the installed configuration), reads /health,
# the dashboard and a configuration edit written back by that user, then purges the
# package and checks that only the backups directory is left. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
UNIT=/lib/systemd/system/aerospike-backup-service.service
CONF=/etc/aerospike-backup-service/aerospike-backup-service.yml
STATE=/var/lib/aerospike-backup-service
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  sudo -n true 2>/dev/null || { echo "package-test: needs root or password-less sudo" >&2; exit 1; }
  SUDO="sudo -n"
fi
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' abs 2>/dev/null | grep -q "install ok installed"; then
  fail "the abs package is installed on this machine already; remove it first"
fi
user_existed=0; getent passwd aerospike-backup >/dev/null && user_existed=1
state_existed=0; [ -e "$STATE" ] && state_existed=1
absd_pid=""
cleanup() {
  [ -n "$absd_pid" ] && $SUDO kill "$absd_pid" 2>/dev/null || true
  $SUDO dpkg --purge abs >/dev/null 2>&1 || true
  [ "$state_existed" = 1 ] || $SUDO rm -rf "$STATE"
  if [ "$user_existed" = 0 ] && getent passwd aerospike-backup >/dev/null; then
    $SUDO userdel aerospike-backup 2>/dev/null || true
    $SUDO groupdel aerospike-backup 2>/dev/null || true
  fi
}
trap cleanup EXIT

deb=$(bash scripts/package-deb.sh "$BUILD")
echo "package-test: built $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p' | sed 's/^/  /'
contents=$(dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}')
echo "$contents" | sed 's/^/  /'
for f in ./usr/bin/absd ./usr/bin/absctl ./etc/aerospike-backup-service/aerospike-backup-service.yml \
  ./lib/systemd/system/aerospike-backup-service.service; do
  echo "$contents" | grep -q " $f\$" || fail "$f is not in the package"
done

$SUDO dpkg -i "$deb" >/dev/null || fail "dpkg -i"
[ -x /usr/bin/absd ] && [ -x /usr/bin/absctl ] || fail "binaries not installed"
/usr/bin/absctl --help >/dev/null || fail "absctl does not run"
getent passwd aerospike-backup | grep -q ":/usr/sbin/nologin$" || fail "no system user aerospike-backup with nologin"
uid=$(id -u aerospike-backup)
[ "$uid" -lt 1000 ] || fail "aerospike-backup has uid $uid, not a system user"
[ "$(stat -c %U "$STATE")" = aerospike-backup ] || fail "$STATE is not owned by aerospike-backup"

# The unit: systemd-analyze finds nothing to say, and it is sandboxed.
out=$(systemd-analyze verify "$UNIT" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
for setting in "User=aerospike-backup" "NoNewPrivileges=yes" "ProtectSystem=strict" "PrivateTmp=yes" \
  "ProtectHome=yes" "CapabilityBoundingSet=" "StateDirectory=aerospike-backup-service" \
  "ReadWritePaths=/etc/aerospike-backup-service"; do
  grep -qx "$setting" "$UNIT" || fail "the unit lacks $setting"
done
if exposure=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null | tail -n1); then
  echo "package-test: systemd-analyze security: ${exposure#→ }"
fi

# Start absd as the unit does: its user, its command line.
user=$(sed -n 's/^User=//p' "$UNIT")
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
port=""
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 30000))
  (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null || { port=$candidate; break; }
done
[ -n "$port" ] || fail "no free port"
$SUDO sed -i "s/^    port: 8080$/    port: $port/" "$CONF"
grep -q "port: $port" "$CONF" || fail "the default configuration has no 'port: 8080' line to change"
log=$(mktemp)
# shellcheck disable=SC2086
$SUDO setpriv --reuid="$user" --regid="$user" --init-groups -- $exec_start >"$log" 2>&1 &
absd_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
health=$(curl -sf "http://127.0.0.1:$port/health") || fail "no /health from absd: $(cat "$log")"
[ "$health" = Ok ] || fail "/health answered '$health'"
# (setpriv executes absd in place, unless sudo stands between.)
absd_pid=$(pgrep -P "$absd_pid" -x absd || echo "$absd_pid")
ps -o user= -p "$absd_pid" | grep -qx "$user" ||
  fail "absd does not run as aerospike-backup"
curl -sf "http://127.0.0.1:$port/ui/" | grep -q "<title>abs dashboard</title>" || fail "no dashboard"
# A configuration edit through the API is written back by the service's user.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"parallel": 2}' "http://127.0.0.1:$port/v1/config/policies/nightly")
[ "$code" = 201 ] || fail "POST /v1/config/policies/nightly answered $code"
$SUDO grep -q nightly "$CONF" || fail "the edit was not written to $CONF"
[ -f "$STATE/absd-jobs.sqlite" ] || fail "no job history in $STATE"
echo "package-test: $(/usr/bin/absd --version) served /health, /ui/ and a config edit as $user"
$SUDO kill "$absd_pid"
wait "$absd_pid" 2>/dev/null || true
absd_pid=""

[ -e "$CONF.bak" ] || fail "the edit kept no $CONF.bak to undo it with"
$SUDO dpkg --purge abs >/dev/null || fail "dpkg --purge"
for f in /usr/bin/absd /usr/bin/absctl "$UNIT" "$CONF" "$CONF.bak"; do
  [ ! -e "$f" ] || fail "$f is left after purge"
done
[ -d "$STATE" ] || fail "purge removed $STATE (backups must be kept)"
echo "package-test: installed, verified, started and purged cleanly"
