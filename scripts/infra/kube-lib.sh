# shellcheck shell=bash
# What scripts/infra/kube.sh (etcd and the kube-apiservers of clusters "a" and "b") and
# scripts/infra/kube-nodes.sh (kube-controller-manager, kube-scheduler, kwok) share: where the local
# clusters live, and how their components are built from a wrapper module. The sourcing script sets
# MOD_DIR to scripts/infra/kube (whose go.mod names the versions) and has sourced lib.sh.

HOST="127.0.0.1"
APISERVER_PORT="${KUBE_APISERVER_PORT:-36443}"
# Cluster "b": a second API server of kube.sh on the same etcd (its own key prefix), API only.
APISERVER_B_PORT="${KUBE_APISERVER_B_PORT:-36444}"
RUN_DIR="${HRS_RUN_DIR:-$CACHE_ROOT/run}/kube"
PKI_DIR="$RUN_DIR/pki"
KUBECONFIG_FILE="$RUN_DIR/kubeconfig"
KUBECONFIG_B_FILE="$RUN_DIR/kubeconfig-b"

# ---------------------------------------------------------------------------------------------------
# Versions: the wrapper module's go.mod is the single source of truth.

gomod_version() { # module path -> version required in scripts/infra/kube/go.mod
  sed -n "s|^[[:space:]]*$1[[:space:]]\{1,\}\(v[^[:space:]]*\)\([[:space:]].*\)\{0,1\}\$|\1|p" "$MOD_DIR/go.mod" | head -n1
}

KUBE_VERSION="$(gomod_version 'k8s\.io/kubernetes')"
ETCD_VERSION="$(gomod_version 'go\.etcd\.io/etcd/server/v3')"
[[ "$KUBE_VERSION" =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || die "could not read the k8s.io/kubernetes version from $MOD_DIR/go.mod"
KUBE_MINOR="${BASH_REMATCH[1]}"
[[ "$ETCD_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || die "could not read the go.etcd.io/etcd/server/v3 version from $MOD_DIR/go.mod"
APISERVER_BIN="$CACHE_ROOT/kube-apiserver-$KUBE_VERSION/kube-apiserver"
ETCD_BIN="$CACHE_ROOT/etcd-$ETCD_VERSION/etcd"

check_staging_versions() {
  # k8s.io/kubernetes v1.X.Y must be built with the staging modules of the same release, v0.X.Y.
  local want="v0.${KUBE_VERSION#v1.}" bad
  bad="$(sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*k8s\.io/[^[:space:]]*[[:space:]]\{1,\}\(v[^[:space:]]*\).*|\1 \2|p' "$MOD_DIR/go.mod" |
    awk -v want="$want" '$2 != want { print $1 " " $2 }')"
  [[ -z "$bad" ]] || die "staging replaces in $MOD_DIR/go.mod must all be $want (k8s.io/kubernetes $KUBE_VERSION); wrong: $(echo "$bad" | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------------
# Build

need_go() {
  need_tool go "it is needed once to build the Kubernetes components ($KUBE_VERSION), etcd $ETCD_VERSION and kwok into $CACHE_ROOT (Go 1.26+), or set KUBECONFIG_EXTERNAL to use a cluster of your own"
}

# Hash of what decides a component's binary: its wrapper module's go.mod (comments left out; the module
# is $MOD_DIR, which a caller may set for one call), its main.go and the link flags.
source_stamp() { # component
  { grep -v '^[[:space:]]*//' "$MOD_DIR/go.mod"; cat "$MOD_DIR/cmd/$1/main.go"; kube_ldflags; } | sha256sum | cut -c1-16
}

# Both components: the component-base and client-go version variables are what /version and
# `kube-apiserver --version` report; `go build` of a module leaves them at v0.0.0-master, which also
# makes the apiserver's own compatibility-version logic misbehave. Same -X list as hack/lib/version.sh.
kube_ldflags() {
  local p flags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$KUBE_MINOR"
    flags+=" -X $p.gitCommit= -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

build_component() { # component version binary expected-version-output-substring minutes
  local name="$1" version="$2" bin="$3" want="$4" minutes="$5"
  local dir stamp
  dir="$(dirname "$bin")"
  stamp="$(source_stamp "$name")"
  if [[ -x "$bin" && "$(cat "$dir/.source" 2>/dev/null || true)" == "$stamp" ]]; then
    return 0
  fi
  need_go
  mkdir -p "$dir"
  # Two concurrent `up`s with different run dirs still share this cache: only one builds.
  take_lock 8 "$dir/.lock" 3600
  if [[ -x "$bin" && "$(cat "$dir/.source" 2>/dev/null || true)" == "$stamp" ]]; then
    exec 8>&-
    return 0
  fi
  local build_log="$dir/build.log" tmp="$dir/$name.tmp"
  : >"$build_log"
  log "building $name $version from the Go module proxy into $dir (first run, or after its wrapper module changed; ~$minutes min on 2 cores with a cold Go cache; log: $build_log)"
  local start=$SECONDS
  rm -f "$tmp"
  # GOWORK=off: a go.work above the repo must not pull this module into someone else's workspace.
  # -mod=readonly: go.sum in the repo must already have every checksum; nothing is edited in the repo.
  # CGO_ENABLED=0: static binaries, no C compiler needed, like the upstream release builds.
  # -trimpath: no local paths in the binaries, so identical sources give identical binaries.
  if ! (cd "$MOD_DIR" && GOWORK=off CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false -mod=readonly" \
    go build -ldflags "$(kube_ldflags)" -o "$tmp" "./cmd/$name") >>"$build_log" 2>&1; then
    tail -n 30 "$build_log" >&2
    rm -f "$tmp"
    die "go build of $name $version failed (log: $build_log)"
  fi
  local got
  got="$("$tmp" --version 2>&1 | head -n1)" || true
  if [[ "$got" != *"$want"* ]]; then
    echo "--version said: $got" >>"$build_log"
    rm -f "$tmp"
    die "built $name reports '$got', expected '$want' (log: $build_log)"
  fi
  mv -f "$tmp" "$bin"
  echo "$stamp" >"$dir/.source"
  log "built $bin in $((SECONDS - start))s"
  exec 8>&-
}

