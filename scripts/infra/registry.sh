#!/usr/bin/env bash
# An OCI registry (CNCF Distribution, the reference implementation) for the tests of charts pulled from
# oci:// with credentials, built from the Go module proxy. The tests start and stop their own instances
# (TLS, htpasswd); this script only builds the binary.
#
#   scripts/infra/registry.sh ensure   # build (first time only); the last line on stdout is the binary's path
#
# Environment: HRS_CACHE_DIR (binary cache root, default ~/.cache/helm-rollback-service).
set -euo pipefail
SCRIPT=registry.sh
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# v3.1.2: the newest Distribution on the proxy at the time of writing.
REGISTRY_MODULE="github.com/distribution/distribution/v3"
REGISTRY_VERSION="v3.1.2"

CACHE_DIR="$CACHE_ROOT/registry-$REGISTRY_VERSION"
BIN="$CACHE_DIR/bin/registry"
BUILD_LOG="$CACHE_DIR/build.log"

build_binary() {
  need_tool go "to build the OCI registry $REGISTRY_VERSION once into $CACHE_DIR"
  log "building the OCI registry $REGISTRY_VERSION from the Go module proxy into $CACHE_DIR (first run only; log: $BUILD_LOG)"
  local started gobin="$CACHE_DIR/bin.tmp"
  started=$(date +%s)
  rm -rf "$gobin"
  # Into a temp dir, renamed when done: an interrupted build never leaves the binary make_once trusts.
  if ! (cd "$CACHE_DIR" && GOWORK=off CGO_ENABLED=0 GOBIN="$gobin" GOFLAGS="-trimpath -buildvcs=false" \
    go install -ldflags "-s -w" "$REGISTRY_MODULE/cmd/registry@$REGISTRY_VERSION") >"$BUILD_LOG" 2>&1; then
    tail -n 30 "$BUILD_LOG" >&2
    rm -rf "$gobin"
    die "go install of the OCI registry $REGISTRY_VERSION failed (log: $BUILD_LOG)"
  fi
  rm -rf "$CACHE_DIR/bin"
  mv "$gobin" "$CACHE_DIR/bin"
  log "built $BIN in $(($(date +%s) - started))s"
}

case "${1:-}" in
ensure)
  make_once "$BIN" "$CACHE_DIR/.lock" 1200 build_binary
  echo "$BIN"
  ;;
*)
  echo "usage: $0 ensure" >&2
  exit 2
  ;;
esac
