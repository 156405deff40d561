#!/usr/bin/env bash
# Headless Chromium for the console's browser tests: Debian's `chromium` package (nothing downloads a
# browser of its own). Installed with apt-get when missing and this runs as root; otherwise it says how.
#
#   scripts/infra/chromium.sh ensure   # install if missing; the last line on stdout is the executable
#
# Environment: CHROMIUM_BIN (an executable to use instead, default /usr/bin/chromium).
set -euo pipefail
SCRIPT=chromium.sh
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"

install() {
  command -v apt-get >/dev/null 2>&1 || die "no $BIN and no apt-get: install Chromium and set CHROMIUM_BIN"
  [ "$(id -u)" = 0 ] || die "no $BIN: install Debian's chromium package (sudo apt-get install chromium) or set CHROMIUM_BIN"
  log "installing Debian's chromium package (first run only)"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists of a fresh machine may be stale: refreshed once if the first attempt fails.
  if ! apt-get install -y --no-install-recommends chromium >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends chromium >&2 || die "apt-get install chromium failed"
  fi
}

case "${1:-}" in
ensure)
  [ -x "$BIN" ] || install
  "$BIN" --version >&2
  echo "$BIN"
  ;;
*)
  echo "usage: $0 ensure" >&2
  exit 2
  ;;
esac
