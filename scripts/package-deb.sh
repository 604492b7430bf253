#!/usr/bin/env bash
# make package: a Debian package of absd and absctl, built from BUILD/bin (default build).
# Installs /usr/bin/{absd,absctl}, the default configuration at ABS's path
# /etc/aerospike-backup-service/aerospike-backup-service.yml (a conffile), and the
# hardened systemd unit aerospike-backup-service.service; the maintainer scripts create
# the unprivileged user aerospike-backup and the state directory /var/lib/aerospike-backup-service.
# Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
NAME=abs
UNIT=aerospike-backup-service
VERSION=$("$BUILD/bin/absd" --version | awk '{print $2}')
ARCH=$(dpkg --print-architecture)
STAGE="$BUILD/package/root"
DEB="$BUILD/package/${NAME}_${VERSION}_${ARCH}.deb"

rm -rf "$BUILD/package"
mkdir -p "$STAGE/DEBIAN"
install -D -m 0755 "$BUILD/bin/absd" "$STAGE/usr/bin/absd"
install -D -m 0755 "$BUILD/bin/absctl" "$STAGE/usr/bin/absctl"
strip --strip-unneeded "$STAGE/usr/bin/absd" "$STAGE/usr/bin/absctl"
install -D -m 0640 deploy/aerospike-backup-service.yml \
  "$STAGE/etc/aerospike-backup-service/aerospike-backup-service.yml"
install -D -m 0644 "deploy/systemd/$UNIT.service" "$STAGE/lib/systemd/system/$UNIT.service"
install -d -m 0755 "$STAGE/usr/share/doc/$NAME"
install -m 0644 README.md docs/*.md docs/openapi.yaml "$STAGE/usr/share/doc/$NAME/"
gzip -9n "$STAGE/usr/share/doc/$NAME/"*.md

# Depends: the package of every shared library the binaries link directly (their
# NEEDED entries, found where ldd resolves them), at least the version built against.
declare -A deps=()
libs=$(for bin in "$BUILD/bin/absd" "$BUILD/bin/absctl"; do
  paths=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
  objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}' | while read -r soname; do
    echo "$paths" | awk -v s="$soname" '$1 == s {print $2}'
  done
done | sort -u)
for lib in $libs; do
  owner=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true)
  pkg=${owner%%:*}
  [ -n "$pkg" ] || { echo "package-deb: no package owns $lib" >&2; exit 1; }
  pkg=${pkg%%,*}
  version=$(dpkg-query -W -f='${Version}' "$pkg" | head -n1)
  deps[$pkg]="$pkg (>= ${version%%-*})"
done
depends=$(printf '%s\n' "${deps[@]}" | sort | paste -sd, | sed 's/,/, /g')

cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: abs developers <abs@localhost>
Section: database
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $depends, passwd
Recommends: ca-certificates
Provides: aerospike-backup-service
Conflicts: aerospike-backup-service
Replaces: aerospike-backup-service
Description: Aerospike Backup Service in C++ (absd and absctl)
 Backs up Aerospike clusters to local disk, S3, GCS or Azure on a schedule and
 restores them on demand, with ABS's configuration file, REST API, storage layout
 and .asb files. Several instances, each given a slice of the cluster, together
 write one complete backup set; absctl verify proves it, and absd's dashboard
 (/ui/) draws its partition coverage.
CONTROL
echo "/etc/aerospike-backup-service/aerospike-backup-service.yml" > "$STAGE/DEBIAN/conffiles"

cat > "$STAGE/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
USER=aerospike-backup
STATE=/var/lib/aerospike-backup-service
CONF=/etc/aerospike-backup-service
if [ "$1" = configure ]; then
  getent group "$USER" >/dev/null || groupadd --system "$USER"
  getent passwd "$USER" >/dev/null || useradd --system --gid "$USER" --home-dir "$STATE" \
    --no-create-home --shell /usr/sbin/nologin --comment "Aerospike Backup Service" "$USER"
  install -d -o "$USER" -g "$USER" -m 0750 "$STATE"
  # absd writes the configuration back on the API's edits (a new file renamed over it).
  chown root:"$USER" "$CONF" "$CONF/aerospike-backup-service.yml"
  chmod 0770 "$CONF"
  chmod 0660 "$CONF/aerospike-backup-service.yml"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
    deb-systemd-helper enable aerospike-backup-service.service >/dev/null || true
    deb-systemd-invoke restart aerospike-backup-service.service >/dev/null || true
  fi
fi
exit 0
SCRIPT
cat > "$STAGE/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  deb-systemd-invoke stop aerospike-backup-service.service >/dev/null || true
fi
exit 0
SCRIPT
cat > "$STAGE/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper purge aerospike-backup-service.service >/dev/null || true
  fi
  # The previous configuration absd keeps beside the file at each edit (to undo with).
  rm -f /etc/aerospike-backup-service/aerospike-backup-service.yml.bak
  rmdir /etc/aerospike-backup-service 2>/dev/null || true
  # Backups and the job history are never removed with the package.
  if [ -d /var/lib/aerospike-backup-service ]; then
    echo "abs: /var/lib/aerospike-backup-service (backups, job history) is kept; remove it by hand"
  fi
fi
exit 0
SCRIPT
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"
dpkg-deb --build --root-owner-group -Zxz "$STAGE" "$DEB" >/dev/null
echo "$DEB"
