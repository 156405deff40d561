#!/usr/bin/env bash
# Local Kubernetes API servers (etcd + kube-apiserver) and the helm CLI, for dev and CI: cluster "a"
# (KUBECONFIG), for which `up` also starts the controllers and a simulated node of kube-nodes.sh and `down`
# stops them, and cluster "b" (KUBECONFIG_B), a second kube-apiserver for multi-cluster tests (see below).
#
#   scripts/infra/kube.sh up       # build (first time only), start etcd + both kube-apiservers, wait for
#                                  # their /readyz, then print the `export KUBECONFIG=... / KUBECONFIG_B=...
#                                  # / HELM_BIN=...` lines
#   scripts/infra/kube.sh status   # one line; exit 0 when both clusters run and are ready, 1 otherwise
#   scripts/infra/kube.sh down     # SIGTERM the kube-apiservers then etcd, SIGKILL after a while
#   scripts/infra/kube.sh logs [-f] [apiserver|apiserver-b|etcd]
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
# Cluster "b" is API only: a second kube-apiserver (same binary, flags, CA and admin certificate) on
# KUBE_APISERVER_B_PORT, storing under the key prefix /registry-b of the same etcd (cluster "a" keeps the
# default /registry), with a serving certificate and service-account key of its own; its kubeconfig is
# $HRS_RUN_DIR/kube/kubeconfig-b (context and cluster hrs-local-b), rewritten on every start. No
# controllers, scheduler or node run for it: objects are stored and served, but nothing reconciles them,
# so Helm works with --wait=false (its default), not with --wait/--atomic on workloads, hooks that run pods
# or `helm test`; a deleted namespace stays Terminating and new namespaces get no "default" ServiceAccount.
# It adds one process and no build.
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
#   KUBECONFIG_EXTERNAL_B   with KUBECONFIG_EXTERNAL: a second cluster of your own, exported as KUBECONFIG_B;
#                           without it no KUBECONFIG_B is exported (a local cluster "a" with an external "b"
#                           is not supported: KUBECONFIG_EXTERNAL_B alone is an error)
#   KUBE_APISERVER_PORT     cluster a's kube-apiserver HTTPS port on 127.0.0.1, default 36443
#   KUBE_APISERVER_B_PORT   cluster b's kube-apiserver HTTPS port on 127.0.0.1, default 36444
#   KUBE_ETCD_PORT          etcd client port on 127.0.0.1, default 32379
#   KUBE_ETCD_PEER_PORT     etcd peer port on 127.0.0.1, default 32380
#   HELM_BIN                an existing helm to use instead of building one (see helm.sh)
#   HRS_CACHE_DIR           binary cache root, default ~/.cache/helm-rollback-service
#   HRS_RUN_DIR             runtime root (certs, data, logs, pids), default $HRS_CACHE_DIR/run
#   KUBE_START_TIMEOUT      seconds `up` waits for each /readyz once the binaries exist, default 120
#   KUBE_CONTROLLER_MANAGER_PORT, KUBE_SCHEDULER_PORT, KWOK_PORT: cluster a's controllers (kube-nodes.sh)
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
APISERVER_B_LOG="$RUN_DIR/kube-apiserver-b.log"
APISERVER_B_PID_FILE="$RUN_DIR/kube-apiserver-b.pid"
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

# A kube-apiserver serving certificate's extensions: what clients dial (127.0.0.1, localhost) plus the
# in-cluster names and ClusterIP the apiserver advertises for the "kubernetes" Service.
serving_ext() {
  cat <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
}

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
    # kube-apiserver serving certificate (cluster a's; write_pki_b adds b's).
    serving_ext >apiserver.ext
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

write_pki_b() {
  # Cluster b's serving certificate (the same names: it listens on 127.0.0.1 too) and service-account key
  # pair, signed by the same CA. Files of its own, so a token of one cluster is no good on the other and
  # the two kube-apiservers' command lines differ (their running_pid markers). Also added to a run dir
  # whose certificates predate cluster b. The admin certificate is shared.
  [[ -f "$PKI_DIR/.complete-b" ]] && return 0
  need_tool openssl "it generates the cluster's certificates (apt-get install openssl)"
  log "generating cluster b's serving certificate and service-account key in $PKI_DIR"
  local ossl="$PKI_DIR/openssl-b.log"
  (
    set -e
    cd "$PKI_DIR"
    serving_ext >apiserver-b.ext
    openssl req -new -newkey rsa:2048 -nodes -keyout apiserver-b.key -out apiserver-b.csr -subj "/CN=kube-apiserver-b"
    openssl x509 -req -sha256 -days 3650 -in apiserver-b.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile apiserver-b.ext -out apiserver-b.crt
    openssl genrsa -out sa-b.key 2048
    openssl rsa -in sa-b.key -pubout -out sa-b.pub
    rm -f apiserver-b.csr apiserver-b.ext
    chmod 600 apiserver-b.key sa-b.key
  ) >"$ossl" 2>&1 || {
    cat "$ossl" >&2
    die "openssl failed to generate cluster b's certificates (log: $ossl)"
  }
  touch "$PKI_DIR/.complete-b"
}

write_kubeconfig() { # file name user port
  # Rewritten on every start so a port change takes effect. Certificates are embedded, so the file can be
  # copied around on its own. Cluster, user and context names differ per cluster, so the two files merge
  # (KUBECONFIG=a:b).
  local file="$1" name="$2" user="$3" port="$4" tmp="$1.tmp"
  (
    umask 077
    cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: https://$HOST:$port
    certificate-authority-data: $(base64 -w0 <"$PKI_DIR/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$PKI_DIR/admin.crt")
    client-key-data: $(base64 -w0 <"$PKI_DIR/admin.key")
contexts:
- name: $name
  context:
    cluster: $name
    user: $user
    namespace: default
current-context: $name
EOF
  )
  mv -f "$tmp" "$file"
}

write_kubeconfigs() {
  write_kubeconfig "$KUBECONFIG_FILE" hrs-local hrs-admin "$APISERVER_PORT"
  write_kubeconfig "$KUBECONFIG_B_FILE" hrs-local-b hrs-admin-b "$APISERVER_B_PORT"
}

# ---------------------------------------------------------------------------------------------------
# Processes

# A pid file can outlive its process and the pid can be reused; only trust a pid whose command line is
# ours (this binary on this run dir). Cluster b's serving certificate is a file of its own, so neither
# kube-apiserver's marker matches the other's command line.
etcd_marker() { echo "--data-dir=$ETCD_DATA_DIR"; }
apiserver_marker() { echo "--tls-cert-file=$PKI_DIR/apiserver.crt"; }
apiserver_b_marker() { echo "--tls-cert-file=$PKI_DIR/apiserver-b.crt"; }

etcd_pid() { running_pid "$ETCD_PID_FILE" "$(etcd_marker)"; }
apiserver_pid() { running_pid "$APISERVER_PID_FILE" "$(apiserver_marker)"; }
apiserver_b_pid() { running_pid "$APISERVER_B_PID_FILE" "$(apiserver_b_marker)"; }

etcd_healthy() {
  [[ "$(curl -sS --max-time 3 "http://$HOST:$ETCD_PORT/health" 2>/dev/null || true)" == *'"health":"true"'* ]]
}

# GET a path on the apiserver on `port` as the admin; prints the body; fails on a non-2xx answer.
api_get() { # port path
  curl -sS --fail --max-time 5 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" \
    "https://$HOST:$1$2" 2>/dev/null
}

ready_on() { # port
  # /readyz covers etcd, the RBAC bootstrap policy and every post-start hook; the default namespace is
  # created by a bootstrap controller right after, and Helm's first request may land in it.
  [[ "$(api_get "$1" /readyz || true)" == "ok" ]] && api_get "$1" /api/v1/namespaces/default >/dev/null
}
apiserver_ready() { ready_on "$APISERVER_PORT"; }
apiserver_b_ready() { ready_on "$APISERVER_B_PORT"; }

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

# Starts the kube-apiserver of cluster a or b in the background and writes its pid file; await_apiserver
# waits for it, so that the two start side by side.
launch_apiserver() { # a|b
  local port prefix cert sa log pidf
  case "$1" in
  a) port="$APISERVER_PORT" prefix=/registry cert=apiserver sa=sa log="$APISERVER_LOG" pidf="$APISERVER_PID_FILE" ;;
  b) port="$APISERVER_B_PORT" prefix=/registry-b cert=apiserver-b sa=sa-b log="$APISERVER_B_LOG" pidf="$APISERVER_B_PID_FILE" ;;
  esac
  [[ -f "$log" ]] && mv -f "$log" "$log.prev"
  log "starting kube-apiserver $KUBE_VERSION of cluster $1 on https://$HOST:$port (etcd prefix $prefix)"
  # --etcd-prefix: where in the shared etcd the cluster keeps its objects (/registry is the default); a's
  #   keys are /registry/<resource>/..., b's /registry-b/<resource>/..., so neither sees the other's.
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
    --etcd-prefix="$prefix" \
    --bind-address="$HOST" \
    --advertise-address="$HOST" \
    --secure-port="$port" \
    --tls-cert-file="$PKI_DIR/$cert.crt" \
    --tls-private-key-file="$PKI_DIR/$cert.key" \
    --client-ca-file="$PKI_DIR/ca.crt" \
    --cert-dir="$PKI_DIR" \
    --service-account-key-file="$PKI_DIR/$sa.pub" \
    --service-account-signing-key-file="$PKI_DIR/$sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=RBAC \
    --allow-privileged=true \
    --endpoint-reconciler-type=none \
    --enable-priority-and-fairness=false \
    --profiling=false \
    --v=1 \
    </dev/null >>"$log" 2>&1 8>&- 9>&- &
  echo "$!" >"$pidf"
}

await_apiserver() { # a|b
  case "$1" in
  a) await_ready kube-apiserver "$(cat "$APISERVER_PID_FILE")" "$APISERVER_PID_FILE" "$APISERVER_LOG" "$START_TIMEOUT" \
    apiserver_ready "etcd and cluster b are left running; '$0 down' stops them" ;;
  b) await_ready kube-apiserver-b "$(cat "$APISERVER_B_PID_FILE")" "$APISERVER_B_PID_FILE" "$APISERVER_B_LOG" "$START_TIMEOUT" \
    apiserver_b_ready "etcd and cluster a are left running; '$0 down' stops them" ;;
  esac
}

# Dies when a process this script did not start holds cluster b's port.
apiserver_b_port_free() {
  if port_open "$HOST" "$APISERVER_B_PORT"; then
    die "port $APISERVER_B_PORT on $HOST (cluster b) is taken by a process this script did not start; set KUBE_APISERVER_B_PORT"
  fi
}

# Cluster b next to a running cluster a: started unless ours runs already, then waited for.
ensure_apiserver_b() {
  if ! apiserver_b_pid >/dev/null; then
    rm -f "$APISERVER_B_PID_FILE"
    apiserver_b_port_free
    launch_apiserver b
  fi
  await_apiserver b
}

print_env() { # kubeconfig kubeconfig_b helm -- no KUBECONFIG_B line when kubeconfig_b is empty
  echo "export KUBECONFIG=$1"
  [[ -z "$2" ]] || echo "export KUBECONFIG_B=$2"
  echo "export HELM_BIN=$3"
}

# KUBECONFIG_EXTERNAL_B only names a cluster b next to an external cluster a.
check_external() {
  [[ -z "${KUBECONFIG_EXTERNAL_B:-}" || -n "${KUBECONFIG_EXTERNAL:-}" ]] ||
    die "KUBECONFIG_EXTERNAL_B is set without KUBECONFIG_EXTERNAL: set both (or neither, for the local clusters a and b)"
}

# ---------------------------------------------------------------------------------------------------
# Commands

cmd_up() {
  local helm
  check_external
  if [[ -n "${KUBECONFIG_EXTERNAL:-}" ]]; then
    [[ -f "$KUBECONFIG_EXTERNAL" ]] || die "KUBECONFIG_EXTERNAL=$KUBECONFIG_EXTERNAL is not a file"
    [[ -z "${KUBECONFIG_EXTERNAL_B:-}" || -f "${KUBECONFIG_EXTERNAL_B:-}" ]] || die "KUBECONFIG_EXTERNAL_B=$KUBECONFIG_EXTERNAL_B is not a file"
    log "KUBECONFIG_EXTERNAL is set: using that cluster${KUBECONFIG_EXTERNAL_B:+ (and the one of KUBECONFIG_EXTERNAL_B as cluster b)}, not starting etcd/kube-apiserver"
    helm="$(helm_bin)"
    print_env "$KUBECONFIG_EXTERNAL" "${KUBECONFIG_EXTERNAL_B:-}" "$helm"
    return 0
  fi
  [[ "$APISERVER_B_PORT" != "$APISERVER_PORT" ]] ||
    die "KUBE_APISERVER_PORT and KUBE_APISERVER_B_PORT are both $APISERVER_PORT: cluster b needs a port of its own"
  need_tool curl "it checks the API server's /readyz (apt-get install curl)"
  mkdir -p "$RUN_DIR"
  # Two concurrent `up`s (e.g. parallel test jobs) must not both start servers on one data dir.
  take_lock 9 "$RUN_DIR/.lock" 3600
  local start=$SECONDS

  local apid bpid epid
  if apid="$(apiserver_pid)"; then
    local i
    # Ready already, or started a moment ago by someone whose `up` failed half-way.
    for ((i = 0; i < 60; i++)); do
      if apiserver_ready; then
        log "already running on https://$HOST:$APISERVER_PORT (kube-apiserver pid $apid)"
        helm="$(helm_bin)"
        write_pki_b # for a run dir from before cluster b
        write_kubeconfigs
        ensure_apiserver_b
        log "cluster b on https://$HOST:$APISERVER_B_PORT (kube-apiserver pid $(cat "$APISERVER_B_PID_FILE"))"
        "$NODES_SH" up
        print_env "$KUBECONFIG_FILE" "$KUBECONFIG_B_FILE" "$helm"
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
  # Cluster b may still run (ours) while a does not; it is then only waited for.
  if ! bpid="$(apiserver_b_pid)"; then
    bpid=""
    rm -f "$APISERVER_B_PID_FILE"
    apiserver_b_port_free
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
  write_pki_b
  write_kubeconfigs

  local ready_start=$SECONDS
  [[ -n "${epid:-}" ]] || start_etcd
  # Both API servers start side by side; b has no controllers or node to wait for.
  launch_apiserver a
  [[ -n "$bpid" ]] || launch_apiserver b
  await_apiserver a
  await_apiserver b
  "$NODES_SH" up
  log "running on https://$HOST:$APISERVER_PORT (kube-apiserver $KUBE_VERSION pid $(cat "$APISERVER_PID_FILE"), etcd $ETCD_VERSION pid $(cat "$ETCD_PID_FILE")) and, cluster b, https://$HOST:$APISERVER_B_PORT (kube-apiserver pid $(cat "$APISERVER_B_PID_FILE")); ready in $((SECONDS - ready_start))s, up took $((SECONDS - start))s"
  print_env "$KUBECONFIG_FILE" "$KUBECONFIG_B_FILE" "$helm"
}

cmd_status() {
  check_external
  if [[ -n "${KUBECONFIG_EXTERNAL:-}" ]]; then
    echo "external cluster in use (KUBECONFIG_EXTERNAL=$KUBECONFIG_EXTERNAL${KUBECONFIG_EXTERNAL_B:+, KUBECONFIG_EXTERNAL_B=$KUBECONFIG_EXTERNAL_B}); local kube-apiservers not managed"
    return 0
  fi
  local apid bpid epid
  apid="$(apiserver_pid)" || apid=""
  bpid="$(apiserver_b_pid)" || bpid=""
  epid="$(etcd_pid)" || epid=""
  if [[ -n "$apid" && -n "$bpid" && -n "$epid" ]] && apiserver_ready && apiserver_b_ready; then
    local nodes
    nodes="$("$NODES_SH" status)" || {
      echo "API servers running, but $nodes"
      return 1
    }
    echo "running on https://$HOST:$APISERVER_PORT (kube-apiserver $KUBE_VERSION pid $apid, etcd $ETCD_VERSION pid $epid; $nodes) and, cluster b, https://$HOST:$APISERVER_B_PORT (kube-apiserver pid $bpid); KUBECONFIG=$KUBECONFIG_FILE KUBECONFIG_B=$KUBECONFIG_B_FILE"
    return 0
  fi
  if [[ -z "$apid" && -z "$bpid" && -z "$epid" ]]; then
    echo "stopped"
  else
    local why=""
    [[ -z "$apid" ]] || apiserver_ready || why+="; cluster a's /readyz is not ok"
    [[ -z "$bpid" ]] || apiserver_b_ready || why+="; cluster b's /readyz is not ok"
    echo "not ready (kube-apiserver pid ${apid:-none}, kube-apiserver b pid ${bpid:-none}, etcd pid ${epid:-none}$why)"
  fi
  return 1
}

# Stops our own servers even when KUBECONFIG_EXTERNAL is set: it only ever touches pids this script started.
cmd_down() {
  local pid stopped=0 b_stopping=""
  # The controllers and kwok first: they would only retry against an API server going away.
  "$NODES_SH" down
  # SIGTERM: an apiserver drains requests and removes its endpoint lease before exiting. Cluster b's is
  # stopped in the background, so the two shut down side by side; both are gone before etcd.
  if pid="$(apiserver_b_pid)"; then
    stop_pid kube-apiserver-b "$pid" 30 &
    b_stopping=$!
    stopped=1
  fi
  if pid="$(apiserver_pid)"; then
    stop_pid kube-apiserver "$pid" 30
    stopped=1
  fi
  rm -f "$APISERVER_PID_FILE"
  [[ -z "$b_stopping" ]] || wait "$b_stopping" || true
  rm -f "$APISERVER_B_PID_FILE"
  if pid="$(etcd_pid)"; then
    stop_pid etcd "$pid" 15
    stopped=1
  fi
  rm -f "$ETCD_PID_FILE"
  if ((stopped)); then log "stopped"; else log "not running"; fi
}

cmd_logs() {
  local follow=0 file="$APISERVER_LOG" arg
  for arg in "$@"; do
    case "$arg" in
    -f) follow=1 ;;
    apiserver | kube-apiserver) file="$APISERVER_LOG" ;;
    apiserver-b | kube-apiserver-b) file="$APISERVER_B_LOG" ;;
    etcd) file="$ETCD_LOG" ;;
    *) die "usage: $0 logs [-f] [apiserver|apiserver-b|etcd]" ;;
    esac
  done
  [[ -f "$file" ]] || die "no log yet at $file"
  ((follow)) && exec tail -n 100 -F "$file"
  cat "$file"
}

cmd_env() {
  local helm
  check_external
  helm="$("$HELM_SH" path 2>/dev/null | tail -n1)" || true
  [[ -n "$helm" && -x "$helm" ]] || log "helm is not built yet ($0 up, or $HELM_SH ensure)"
  if [[ -n "${KUBECONFIG_EXTERNAL:-}" ]]; then
    print_env "$KUBECONFIG_EXTERNAL" "${KUBECONFIG_EXTERNAL_B:-}" "$helm"
  else
    [[ -f "$KUBECONFIG_FILE" ]] || log "no kubeconfig yet at $KUBECONFIG_FILE ($0 up writes it)"
    [[ -f "$KUBECONFIG_B_FILE" ]] || log "no kubeconfig of cluster b yet at $KUBECONFIG_B_FILE ($0 up writes it)"
    print_env "$KUBECONFIG_FILE" "$KUBECONFIG_B_FILE" "$helm"
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
  echo "usage: $0 up|status|down|logs [-f] [apiserver|apiserver-b|etcd]|env" >&2
  exit 2
  ;;
esac
