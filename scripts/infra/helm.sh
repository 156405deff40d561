#!/usr/bin/env bash
# The `helm` CLI (v3) for dev and CI, built from the Go module proxy.
#
#   scripts/infra/helm.sh ensure   # build (first time only); the last line on stdout is the binary's absolute path
#   scripts/infra/helm.sh path     # print that path; exit 0 when it is built (or HELM_BIN is usable), 1 otherwise
#
#   HELM_BIN="$(scripts/infra/helm.sh ensure | tail -n1)"
#
# Why built from source instead of the release tarball: this project's machines have no Docker and reach
# only package registries. Helm is a Go module, so the Go module proxy serves its source and `go install`
# turns it into one static binary (~2 min cold on 2 cores, ~0.9 GB peak RSS).
#
# Environment:
#   HELM_BIN         if set to an executable, that helm is used as is: nothing is built
#   HRS_CACHE_DIR    binary cache root, default ~/.cache/helm-rollback-service
#
# Progress and errors go to stderr, so `$(scripts/infra/helm.sh ensure)` is just the path.
set -euo pipefail
SCRIPT=helm.sh
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# v3.22.0: newest Helm 3 on the proxy at the time of writing. It is built against k8s.io/client-go v0.37,
# which is why scripts/infra/kube.sh runs kube-apiserver v1.37 (Helm supports its own minor and n-3).
HELM_MODULE="helm.sh/helm/v3"
HELM_VERSION="v3.22.0"

CACHE_DIR="$CACHE_ROOT/helm-$HELM_VERSION"
BIN_DIR="$CACHE_DIR/bin"
BIN="$BIN_DIR/helm"
BUILD_LOG="$CACHE_DIR/build.log"

abs_path() { # print an absolute version of $1 (which need not exist)
  case "$1" in
  /*) echo "$1" ;;
  *) echo "$PWD/$1" ;;
  esac
}

# Prints the external helm's absolute path: exit 0; HELM_BIN unset (or ours): exit 1; unusable: exit 2.
external_bin() {
  [[ -n "${HELM_BIN:-}" ]] || return 1
  # HELM_BIN pointing at our own cache (e.g. after `eval "$(kube.sh env)"`) is not an external helm.
  [[ "$HELM_BIN" == "$(abs_path "$BIN")" ]] && return 1
  local p="$HELM_BIN"
  [[ "$p" == */* ]] || p="$(command -v "$p" 2>/dev/null || echo "$p")"
  if [[ ! -f "$p" || ! -x "$p" ]]; then
    log "HELM_BIN=$HELM_BIN is set but is not an executable file"
    return 2
  fi
  abs_path "$p"
}

need_go() {
  command -v go >/dev/null 2>&1 ||
    die "go not found on PATH; it is needed once to build helm $HELM_VERSION into $BIN_DIR (Go 1.26+), or set HELM_BIN to an existing helm"
}

# The version helm reports, e.g. v3.22.0 (without any +g<commit> suffix).
bin_version() {
  "$1" version --short 2>/dev/null | head -n1 | sed 's/+.*//'
}

build_binary() {
  [[ -x "$BIN" ]] && return 0
  need_go
  mkdir -p "$CACHE_DIR"
  # Two concurrent `ensure`s (e.g. parallel test jobs) must not both build into the same directory.
  take_lock 8 "$CACHE_DIR/.lock" 1200
  # Whoever held the lock may just have built it.
  if [[ -x "$BIN" ]]; then
    exec 8>&-
    return 0
  fi
  : >"$BUILD_LOG"
  log "building helm $HELM_VERSION from the Go module proxy into $BIN_DIR (first run only, ~2 min on 2 cores)"
  # Into a temp dir and renamed at the end, so an interrupted build never leaves a binary that the
  # "skip when it exists" check above would trust.
  local gobin="$CACHE_DIR/bin.tmp"
  rm -rf "$gobin"
  # `go install module@version` ignores any go.mod around it (so the repo's or a parent's go.work can't
  # interfere; GOWORK=off anyway). Helm's release Makefile sets the version through ldflags; without it a
  # module build reports only "v3.22" (the major.minor default in internal/version), so it is set here.
  # CGO_ENABLED=0 keeps a C compiler optional and the binary static, like Helm's release builds.
  # -s -w: no symbol tables, ~25% smaller.
  if ! (cd "$CACHE_DIR" && GOWORK=off CGO_ENABLED=0 GOBIN="$gobin" GOFLAGS="-trimpath -buildvcs=false" \
    go install -ldflags "-s -w -X $HELM_MODULE/internal/version.version=$HELM_VERSION" \
    "$HELM_MODULE/cmd/helm@$HELM_VERSION") >>"$BUILD_LOG" 2>&1; then
    tail -n 30 "$BUILD_LOG" >&2
    rm -rf "$gobin"
    die "go install of helm $HELM_VERSION failed (log: $BUILD_LOG)"
  fi
  local got
  got="$(bin_version "$gobin/helm")" || true
  if [[ "$got" != "$HELM_VERSION" ]]; then
    "$gobin/helm" version >>"$BUILD_LOG" 2>&1 || true
    rm -rf "$gobin"
    die "built helm reports version '${got:-?}', expected $HELM_VERSION (log: $BUILD_LOG)"
  fi
  rm -rf "$BIN_DIR"
  mv "$gobin" "$BIN_DIR"
  log "built $BIN"
  exec 8>&- # release the build lock (a no-op when flock is missing)
}

cmd_ensure() {
  local ext rc=0
  ext="$(external_bin)" || rc=$?
  ((rc <= 1)) || exit 1
  if ((rc == 0)); then
    log "HELM_BIN is set: using $ext ($("$ext" version --short 2>/dev/null | head -n1 || echo "version unknown"))"
    echo "$ext"
    return 0
  fi
  build_binary
  abs_path "$BIN"
}

cmd_path() {
  local ext rc=0
  ext="$(external_bin)" || rc=$?
  ((rc <= 1)) || exit 1
  if ((rc == 0)); then
    echo "$ext"
    return 0
  fi
  abs_path "$BIN"
  [[ -x "$BIN" ]] || {
    log "not built yet; run: $0 ensure"
    return 1
  }
}

case "${1:-}" in
ensure) cmd_ensure ;;
path) cmd_path ;;
*)
  echo "usage: $0 ensure|path" >&2
  exit 2
  ;;
esac
