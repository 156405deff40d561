#!/usr/bin/env bash
# Local Kubernetes API server (etcd + kube-apiserver) and the helm CLI, for dev and CI; `up` also starts
# the controllers and a simulated node of kube-nodes.sh, and `down` stops them.
#
#   scripts/infra/kube.sh up       # build (first time only), start etcd + kube-apiserver, wait for /readyz,
#                                  # then print the `export KUBECONFIG=... / export HELM_BIN=...` lines
#   scripts/infra/kube.sh status   # one line; exit 0 when running and ready, 1 otherwise
#   scripts/infra/kube.sh down     # SIGTERM kube-apiserver then etcd, SIGKILL after a while
#   scripts/infra/kube.sh logs [-f] [apiserver|etcd]
#   scripts/infra/kube.sh env      # the export lines only:  eval "$(scripts/infra/kube.sh env)"
#
# Only the export lines go to stdout (progress and errors go to stderr), so `eval "$(kube.sh up)"` works.
#
# What this is: a real kube-apiserver backed by a real etcd, with RBAC and client-certificate auth. With
# kube-nodes.sh's kube-controller-manager, kube-scheduler and kwok (one simulated node), Deployments roll
# out, Jobs and `helm test` pods complete and namespaces are cleaned up; no container ever runs, so a
# pod's fate is what the kwok stages say (see scripts/infra/kwok/pod-stages.yaml).
# State (etcd data, certificates) survives `down`/`up`; `down` then `rm -rf "$HRS_RUN_DIR/kube"` for a
# clean cluster.
#
# Why built from source: this project's machines have no Docker and reach only package registries. Both
# kube-apiserver and etcd are Go modules, so the Go module proxy serves their source. They are built from
# the small wrapper module in scripts/infra/kube/ (go.mod pins the versions; see the comment there).
# Measured on 2 cores with empty Go caches: etcd ~1.5 min, kube-apiserver ~7 min (~2.4 GB peak RSS, the
# link step), helm ~2 min; a whole cold `up` ~11 min. The binaries are cached under $HRS_CACHE_DIR and
# rebuilt only when the wrapper module (or the link flags below) change; Go's own module and build
# caches (GOMODCACHE, GOCACHE) stay where `go env` puts them. A warm `up` takes ~4 s.
#
# Environment:
#   KUBECONFIG_EXTERNAL     if set (path to a kubeconfig of a cluster of your own), `up` starts nothing and
#                           `env` exports KUBECONFIG=$KUBECONFIG_EXTERNAL; helm is still ensured
#   KUBE_APISERVER_PORT     kube-apiserver HTTPS port on 127.0.0.1, default 36443
#   KUBE_ETCD_PORT          etcd client port on 127.0.0.1, default 32379
#   KUBE_ETCD_PEER_PORT     etcd peer port on 127.0.0.1, default 32380
#   HELM_BIN                an existing helm to use instead of building one (see helm.sh)
#   HRS_CACHE_DIR           binary cache root, default ~/.cache/helm-rollback-service
#   HRS_RUN_DIR             runtime root (certs, data, logs, pids), default $HRS_CACHE_DIR/run
#   KUBE_START_TIMEOUT      seconds `up` waits for /readyz once the binaries exist, default 120
set -euo pipefail
SCRIPT=kube.sh
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="$SCRIPT_DIR/kube"
# shellcheck source=scripts/infra/kube-lib.sh
source "$SCRIPT_DIR/kube-lib.sh"
NODES_SH="$SCRIPT_DIR/kube-nodes.sh"
HELM_SH="$SCRIPT_DIR/helm.sh"

ETCD_PORT="${KUBE_ETCD_PORT:-32379}"
ETCD_PEER_PORT="${KUBE_ETCD_PEER_PORT:-32380}"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1" # first address of SERVICE_CIDR: the ClusterIP of the "kubernetes" Service
ETCD_DATA_DIR="$RUN_DIR/etcd"
ETCD_LOG="$RUN_DIR/etcd.log"
ETCD_PID_FILE="$RUN_DIR/etcd.pid"
APISERVER_LOG="$RUN_DIR/kube-apiserver.log"
APISERVER_PID_FILE="$RUN_DIR/kube-apiserver.pid"
START_TIMEOUT="${KUBE_START_TIMEOUT:-120}"

build_all() {
  check_staging_versions
  build_component etcd "$ETCD_VERSION" "$ETCD_BIN" "etcd Version: ${ETCD_VERSION#v}" 2
  build_component kube-apiserver "$KUBE_VERSION" "$APISERVER_BIN" "Kubernetes $KUBE_VERSION" 8
}

helm_bin() { # ensure helm; print its path
  local out
  out="$("$HELM_SH" ensure)" || die "could not get a helm binary (see above)"
  echo "$out" | tail -n1
}

# ---------------------------------------------------------------------------------------------------
# Certificates and kubeconfig

write_pki() {
  # Generated once per run dir; delete $PKI_DIR (or `down` + remove $RUN_DIR) to start over.
  [[ -f "$PKI_DIR/.complete" ]] && return 0
  need_tool openssl "it generates the cluster's certificates (apt-get install openssl)"
  rm -rf "$PKI_DIR"
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  log "generating a CA, serving and admin certificates and a service-account key in $PKI_DIR"
  local ossl="$PKI_DIR/openssl.log"
  (
    set -e
    cd "$PKI_DIR"
    # CA
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=hrs-local-kube-ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
    # kube-apiserver serving certificate: what clients dial (127.0.0.1, localhost) plus the in-cluster
    # names and ClusterIP the apiserver advertises for the "kubernetes" Service.
    cat >apiserver.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
    openssl req -new -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
    openssl x509 -req -sha256 -days 3650 -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile apiserver.ext -out apiserver.crt
    # Admin client certificate: O=system:masters is bound to cluster-admin by the bootstrap RBAC policy.
    cat >admin.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
    openssl req -new -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=hrs-admin"
    openssl x509 -req -sha256 -days 3650 -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile admin.ext -out admin.crt
    # Service-account token signing key pair.
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
    rm -f ./*.csr ./*.ext
    chmod 600 ./*.key
  ) >"$ossl" 2>&1 || {
    cat "$ossl" >&2
    die "openssl failed to generate the certificates (log: $ossl)"
  }
  touch "$PKI_DIR/.complete"
}

write_kubeconfig() {
  # Rewritten on every start so a KUBE_APISERVER_PORT change takes effect. Certificates are embedded, so
  # the file can be copied around on its own.
  local tmp="$KUBECONFIG_FILE.tmp"
  (
    umask 077
    cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: hrs-local
  cluster:
    server: https://$HOST:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 <"$PKI_DIR/ca.crt")
users:
- name: hrs-admin
  user:
    client-certificate-data: $(base64 -w0 <"$PKI_DIR/admin.crt")
    client-key-data: $(base64 -w0 <"$PKI_DIR/admin.key")
contexts:
- name: hrs-local
  context:
    cluster: hrs-local
    user: hrs-admin
    namespace: default
current-context: hrs-local
EOF
  )
  mv -f "$tmp" "$KUBECONFIG_FILE"
}

# ---------------------------------------------------------------------------------------------------
# Processes

# A pid file can outlive its process and the pid can be reused; only trust a pid whose command line is
# ours (this binary on this run dir).
etcd_marker() { echo "--data-dir=$ETCD_DATA_DIR"; }
apiserver_marker() { echo "--tls-cert-file=$PKI_DIR/apiserver.crt"; }

etcd_pid() { running_pid "$ETCD_PID_FILE" "$(etcd_marker)"; }
apiserver_pid() { running_pid "$APISERVER_PID_FILE" "$(apiserver_marker)"; }

etcd_healthy() {
  [[ "$(curl -sS --max-time 3 "http://$HOST:$ETCD_PORT/health" 2>/dev/null || true)" == *'"health":"true"'* ]]
}

# GET a path on the apiserver as the admin; prints the body; fails on a non-2xx answer.
api_get() { # path
  curl -sS --fail --max-time 5 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" \
    "https://$HOST:$APISERVER_PORT$1" 2>/dev/null
}

apiserver_ready() {
  # /readyz covers etcd, the RBAC bootstrap policy and every post-start hook; the default namespace is
  # created by a bootstrap controller right after, and Helm's first request may land in it.
  [[ "$(api_get /readyz || true)" == "ok" ]] && api_get /api/v1/namespaces/default >/dev/null
}

start_etcd() {
  mkdir -p "$ETCD_DATA_DIR"
  chmod 700 "$ETCD_DATA_DIR" # etcd warns (and future versions refuse) on a group/world-readable data dir
  [[ -f "$ETCD_LOG" ]] && mv -f "$ETCD_LOG" "$ETCD_LOG.prev"
  log "starting etcd $ETCD_VERSION on $HOST:$ETCD_PORT (peer $ETCD_PEER_PORT), data in $ETCD_DATA_DIR"
  # Plain HTTP on loopback only. --unsafe-no-fsync: a throwaway test cluster; skipping fsync keeps CI's
  # disks from making every apiserver write slow (data survives a clean `down`, not a power cut).
  # setsid + nohup: outlive this script and the terminal/CI step, ignore the caller's Ctrl-C.
  # 8>&- 9>&- : the server must not inherit the lock fds, or the locks would stay held while it runs.
  nohup setsid "$ETCD_BIN" \
    --name=hrs-kube \
    --data-dir="$ETCD_DATA_DIR" \
    --listen-client-urls="http://$HOST:$ETCD_PORT" \
    --advertise-client-urls="http://$HOST:$ETCD_PORT" \
    --listen-peer-urls="http://$HOST:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster="hrs-kube=http://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --unsafe-no-fsync \
    --auto-compaction-mode=periodic \
    --auto-compaction-retention=1h \
    --log-level=warn \
    </dev/null >>"$ETCD_LOG" 2>&1 8>&- 9>&- &
  local pid=$!
  echo "$pid" >"$ETCD_PID_FILE"
  await_ready etcd "$pid" "$ETCD_PID_FILE" "$ETCD_LOG" 30 etcd_healthy
}

start_apiserver() {
  [[ -f "$APISERVER_LOG" ]] && mv -f "$APISERVER_LOG" "$APISERVER_LOG.prev"
  log "starting kube-apiserver $KUBE_VERSION on https://$HOST:$APISERVER_PORT"
  # --authorization-mode=RBAC: the admin cert is in system:masters, which bypasses RBAC; anything else
  #   (e.g. a service-account token a test mints) gets real RBAC checks.
  # --service-account-*: required flags; the issuer/audience is the in-cluster default.
  # --cert-dir: only used for self-signed fallbacks, but its default is /var/run/kubernetes.
  # --endpoint-reconciler-type=none: the default "lease" reconciler publishes --advertise-address as the
  #   endpoint of the "kubernetes" Service and refuses a loopback address ("may not be in the loopback
  #   range"); with nothing running in-cluster that endpoint has no reader.
  # --enable-priority-and-fairness=false: one less set of bootstrap objects and controllers; a dev API
  #   server has no noisy neighbours to shed.
  # --profiling=false, --audit-*: none. --v=1: startup and errors, not every request.
  # setsid + nohup + 8>&- 9>&-: as for etcd.
  nohup setsid "$APISERVER_BIN" \
    --etcd-servers="http://$HOST:$ETCD_PORT" \
    --bind-address="$HOST" \
    --advertise-address="$HOST" \
    --secure-port="$APISERVER_PORT" \
    --tls-cert-file="$PKI_DIR/apiserver.crt" \
    --tls-private-key-file="$PKI_DIR/apiserver.key" \
    --client-ca-file="$PKI_DIR/ca.crt" \
    --cert-dir="$PKI_DIR" \
    --service-account-key-file="$PKI_DIR/sa.pub" \
    --service-account-signing-key-file="$PKI_DIR/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=RBAC \
    --allow-privileged=true \
    --endpoint-reconciler-type=none \
    --enable-priority-and-fairness=false \
    --profiling=false \
    --v=1 \
    </dev/null >>"$APISERVER_LOG" 2>&1 8>&- 9>&- &
  local pid=$!
  echo "$pid" >"$APISERVER_PID_FILE"
  await_ready kube-apiserver "$pid" "$APISERVER_PID_FILE" "$APISERVER_LOG" "$START_TIMEOUT" apiserver_ready "etcd is left running; '$0 down' stops it"
}

print_env() { # kubeconfig helm
  echo "export KUBECONFIG=$1"
  echo "export HELM_BIN=$2"
}

# ---------------------------------------------------------------------------------------------------
# Commands

cmd_up() {
  local helm
  if [[ -n "${KUBECONFIG_EXTERNAL:-}" ]]; then
    [[ -f "$KUBECONFIG_EXTERNAL" ]] || die "KUBECONFIG_EXTERNAL=$KUBECONFIG_EXTERNAL is not a file"
    log "KUBECONFIG_EXTERNAL is set: using that cluster, not starting etcd/kube-apiserver"
    helm="$(helm_bin)"
    print_env "$KUBECONFIG_EXTERNAL" "$helm"
    return 0
  fi
  need_tool curl "it checks the API server's /readyz (apt-get install curl)"
  mkdir -p "$RUN_DIR"
  # Two concurrent `up`s (e.g. parallel test jobs) must not both start servers on one data dir.
  take_lock 9 "$RUN_DIR/.lock" 3600
  local start=$SECONDS

  local apid epid
  if apid="$(apiserver_pid)"; then
    local i
    # Ready already, or started a moment ago by someone whose `up` failed half-way.
    for ((i = 0; i < 60; i++)); do
      if apiserver_ready; then
        log "already running on https://$HOST:$APISERVER_PORT (kube-apiserver pid $apid)"
        helm="$(helm_bin)"
        write_kubeconfig
        "$NODES_SH" up
        print_env "$KUBECONFIG_FILE" "$helm"
        return 0
      fi
      sleep 0.5
    done
    show_log_tail "$APISERVER_LOG"
    die "kube-apiserver pid $apid is running but /readyz is not ok; try: $0 down && $0 up"
  fi
  rm -f "$APISERVER_PID_FILE"
  if port_open "$HOST" "$APISERVER_PORT"; then
    die "port $APISERVER_PORT on $HOST is taken by a process this script did not start; set KUBE_APISERVER_PORT, or KUBECONFIG_EXTERNAL to use a cluster of your own"
  fi
  if epid="$(etcd_pid)"; then
    etcd_healthy || die "our etcd (pid $epid) is running but not healthy on $HOST:$ETCD_PORT; try: $0 down && $0 up"
  else
    rm -f "$ETCD_PID_FILE"
    if port_open "$HOST" "$ETCD_PORT" || port_open "$HOST" "$ETCD_PEER_PORT"; then
      die "port $ETCD_PORT or $ETCD_PEER_PORT on $HOST is taken by a process this script did not start; set KUBE_ETCD_PORT/KUBE_ETCD_PEER_PORT"
    fi
  fi

  build_all
  helm="$(helm_bin)"
  write_pki
  write_kubeconfig

  local ready_start=$SECONDS
  [[ -n "${epid:-}" ]] || start_etcd
  start_apiserver
  "$NODES_SH" up
  log "running on https://$HOST:$APISERVER_PORT (kube-apiserver $KUBE_VERSION pid $(cat "$APISERVER_PID_FILE"), etcd $ETCD_VERSION pid $(cat "$ETCD_PID_FILE")); ready in $((SECONDS - ready_start))s, up took $((SECONDS - start))s"
  print_env "$KUBECONFIG_FILE" "$helm"
}

cmd_status() {
  if [[ -n "${KUBECONFIG_EXTERNAL:-}" ]]; then
    echo "external cluster in use (KUBECONFIG_EXTERNAL=$KUBECONFIG_EXTERNAL); local kube-apiserver not managed"
    return 0
  fi
  local apid epid
  apid="$(apiserver_pid)" || apid=""
  epid="$(etcd_pid)" || epid=""
  if [[ -n "$apid" && -n "$epid" ]] && apiserver_ready; then
    local nodes
    nodes="$("$NODES_SH" status)" || {
      echo "API server running, but $nodes"
      return 1
    }
    echo "running on https://$HOST:$APISERVER_PORT (kube-apiserver $KUBE_VERSION pid $apid, etcd $ETCD_VERSION pid $epid; $nodes); KUBECONFIG=$KUBECONFIG_FILE"
    return 0
  fi
  if [[ -z "$apid" && -z "$epid" ]]; then
    echo "stopped"
  else
    echo "not ready (kube-apiserver pid ${apid:-none}, etcd pid ${epid:-none})"
  fi
  return 1
}

# Stops our own servers even when KUBECONFIG_EXTERNAL is set: it only ever touches pids this script started.
cmd_down() {
  local pid stopped=0
  # The controllers and kwok first: they would only retry against an API server going away.
  "$NODES_SH" down
  if pid="$(apiserver_pid)"; then
    # SIGTERM: the apiserver drains requests and removes its endpoint lease before exiting.
    stop_pid kube-apiserver "$pid" 30
    stopped=1
  fi
  rm -f "$APISERVER_PID_FILE"
  if pid="$(etcd_pid)"; then
    stop_pid etcd "$pid" 15
    stopped=1
  fi
  rm -f "$ETCD_PID_FILE"
  if ((stopped)); then log "stopped"; else log "not running"; fi
}

cmd_logs() {
  local follow=0 which=apiserver arg file
  for arg in "$@"; do
    case "$arg" in
    -f) follow=1 ;;
    apiserver | kube-apiserver) which=apiserver ;;
    etcd) which=etcd ;;
    *) die "usage: $0 logs [-f] [apiserver|etcd]" ;;
    esac
  done
  file="$APISERVER_LOG"
  [[ "$which" == etcd ]] && file="$ETCD_LOG"
  [[ -f "$file" ]] || die "no log yet at $file"
  ((follow)) && exec tail -n 100 -F "$file"
  cat "$file"
}

cmd_env() {
  local helm
  helm="$("$HELM_SH" path 2>/dev/null | tail -n1)" || true
  [[ -n "$helm" && -x "$helm" ]] || log "helm is not built yet ($0 up, or $HELM_SH ensure)"
  if [[ -n "${KUBECONFIG_EXTERNAL:-}" ]]; then
    print_env "$KUBECONFIG_EXTERNAL" "$helm"
  else
    [[ -f "$KUBECONFIG_FILE" ]] || log "no kubeconfig yet at $KUBECONFIG_FILE ($0 up writes it)"
    print_env "$KUBECONFIG_FILE" "$helm"
  fi
}

case "${1:-}" in
up) cmd_up ;;
status) cmd_status ;;
down) cmd_down ;;
logs)
  shift
  cmd_logs "$@"
  ;;
env) cmd_env ;;
*)
  echo "usage: $0 up|status|down|logs [-f] [apiserver|etcd]|env" >&2
  exit 2
  ;;
esac
