#!/usr/bin/env bash
# Downloads one pinned Debian source package into a directory, adding a
# deb-src entry for its suite to apt when apt has none (needs root or sudo):
#
#   scripts/debian-source.sh SUITE PACKAGE VERSION DIR
#
# e.g. `scripts/debian-source.sh trixie python3.13 3.13.5-2+deb13u5 target/x`.
# Does nothing when DIR already holds PACKAGE_VERSION.dsc. The CPython fork
# (bookworm's python3.11), the adaptor's CPython 3.13 builds (trixie's
# python3.13) and the Lua runtime (bookworm's lua5.4) fetch their sources
# through this one script. Prints the path of the .dsc file.
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: scripts/debian-source.sh SUITE PACKAGE VERSION DIR" >&2
  exit 2
fi
suite=$1 package=$2 version=$3 dir=$4
# A .dsc file's name carries the version without its epoch.
dsc=$dir/${package}_${version#*:}.dsc
log() { echo "debian-source: $*" >&2; }

if [ -f "$dsc" ]; then
  echo "$dsc"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
command -v dpkg-source >/dev/null || {
  log "installing dpkg-dev"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq dpkg-dev >/dev/null
}

# An entry in either format (one-line sources.list or deb822 .sources) whose
# suite is $suite counts; otherwise this script adds its own file.
has_entry() {
  grep -rqsE "^deb-src .* $suite( |$)" /etc/apt/sources.list /etc/apt/sources.list.d/ && return
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      /^[[:space:]]*$/ { if (src && hit) found = 1; src = hit = 0; next }
      /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb-src") src = 1 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      END { if (src && hit) found = 1; exit found ? 0 : 1 }' "$f" && return
  done
  return 1
}

if ! has_entry; then
  log "adding a deb-src entry for $suite main to apt"
  $sudo tee "/etc/apt/sources.list.d/lazy-bind-deb-src-$suite.sources" >/dev/null <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  $sudo apt-get update -qq
elif ! apt-cache showsrc "$package" 2>/dev/null | grep -qx "Version: $version"; then
  $sudo apt-get update -qq
fi

mkdir -p "$dir"
log "downloading $package=$version ($suite)"
(cd "$dir" && apt-get source --download-only -qq "$package=$version" 2>&1 |
   grep -v 'Download is performed unsandboxed' >&2 || true)
[ -f "$dsc" ] || { log "apt-get source $package=$version failed"; exit 1; }
echo "$dsc"
