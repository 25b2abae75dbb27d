#!/usr/bin/env bash
# The Debian packages vidgen's tests drive for real: PostgreSQL (Dagster on Postgres), Chromium (the UI
# in a browser, through Playwright; no browser is downloaded) and melt (MLT's renderer, which renders the
# exported Kdenlive project to check it against vidgen's own video). Installs the missing ones with apt-get,
# as root or through sudo; where neither is possible, says exactly what to install and exits 1.
# `make test` and `.ci/run` both run it. It does nothing when everything is there.
set -euo pipefail

POSTGRES_INITDB_GLOB="${POSTGRES_INITDB_GLOB:-/usr/lib/postgresql/*/bin/initdb}"
CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
MELT_BIN="${MELT_BIN:-/usr/bin/melt}"

missing=()
compgen -G "$POSTGRES_INITDB_GLOB" > /dev/null || missing+=(postgresql)
[ -x "$CHROMIUM_BIN" ] || missing+=(chromium)
[ -x "$MELT_BIN" ] || missing+=(melt)
[ "${#missing[@]}" -eq 0 ] && exit 0

how="apt-get install -y ${missing[*]}"
explain() {
  echo "vidgen's tests need these system packages, which are not installed: ${missing[*]}" >&2
  echo "  $1" >&2
  echo "then run \`make test\` again." >&2
  exit 1
}

command -v apt-get > /dev/null || explain "install them with your system's package manager (Debian/Ubuntu: $how)"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo > /dev/null && { sudo -n true 2> /dev/null || [ -t 0 ]; }; then
  as_root=(sudo)
else
  explain "as root (or with sudo), run: apt-get update && $how"
fi

echo "installing ${missing[*]} (apt-get)"
${as_root[@]+"${as_root[@]}"} apt-get update -qq
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
