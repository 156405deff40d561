#!/usr/bin/env bash
# Schemathesis, the property-based tester driven by an OpenAPI document, for the API's conformance test,
# installed from PyPI into a virtualenv of its own (first run only).
#
#   scripts/infra/schemathesis.sh ensure   # install if missing; the last line on stdout is the `st` path
#
# Environment: HRS_CACHE_DIR (cache root, default ~/.cache/helm-rollback-service).
set -euo pipefail
SCRIPT=schemathesis.sh
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 4.32.5: the newest on PyPI at the time of writing.
SCHEMATHESIS_VERSION="4.32.5"
VENV="$CACHE_ROOT/schemathesis-$SCHEMATHESIS_VERSION"
BIN="$VENV/bin/st"
# Written last: an interrupted install leaves no marker, and is made again.
DONE="$VENV/.installed"

install() {
  need_tool python3 "to install Schemathesis $SCHEMATHESIS_VERSION once into $VENV"
  log "installing Schemathesis $SCHEMATHESIS_VERSION from PyPI into $VENV (first run only)"
  rm -rf "$VENV"
  if ! (python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION") >&2; then
    rm -rf "$VENV"
    die "pip install of schemathesis $SCHEMATHESIS_VERSION failed"
  fi
  touch "$DONE"
}

case "${1:-}" in
ensure)
  make_once "$DONE" "$VENV.lock" 600 install
  echo "$BIN"
  ;;
*)
  echo "usage: $0 ensure" >&2
  exit 2
  ;;
esac
