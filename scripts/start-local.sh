#!/usr/bin/env bash
# Runs the whole service on this machine: installs dependencies, provisions Kafka and FerretDB (cached),
# builds, starts api, release-service and executor, and prints where the API is with development tokens.
# Ctrl-C stops the apps; the servers keep running (stop them with `npm run infra down`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh

cache="${HRS_CACHE_DIR:-$HOME/.cache/helm-rollback-service}"
mkdir -p "$cache"
exports="$(bash scripts/infra.sh up)"
eval "$exports"

echo "==> build"
npm run -s build

# Development tokens: generated once per machine, kept outside the checkout, printed below.
tokens_file="$cache/dev-tokens.env"
if [ ! -f "$tokens_file" ]; then
  umask 077
  node -e '
    const r = () => require("crypto").randomBytes(24).toString("base64url");
    console.log(`VIEWER_TOKEN=${r()}\nOPERATOR_TOKEN=${r()}`);' > "$tokens_file"
fi
# shellcheck disable=SC1090
source "$tokens_file"
export AUTH_TOKENS="${AUTH_TOKENS:-viewer:dev-viewer:$VIEWER_TOKEN,operator:dev-operator:$OPERATOR_TOKEN}"
export LOG_LEVEL="${LOG_LEVEL:-info}"

log_dir="$cache/run/apps"
mkdir -p "$log_dir"
pids=()
stop_apps() {
  trap - INT TERM EXIT
  echo "==> stopping apps"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop_apps INT TERM EXIT

# A chart repository with the test charts, so a rollback can be tried on the local cluster at once.
node_modules/.bin/tsx scripts/dev-chart-repo.ts "$HELM_BIN" >"$log_dir/chart-repo.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 60); do grep -q '^http' "$log_dir/chart-repo.log" 2>/dev/null && break; sleep 0.5; done
chart_repo="$(grep -m1 '^http' "$log_dir/chart-repo.log" || echo 'http://127.0.0.1:8879')"
# The only chart repository the local run allows (a loopback address written out is allowed as such).
export CHART_REPOSITORIES="${CHART_REPOSITORIES:-$chart_repo}"

for app in release-service executor remediation api; do
  node "dist/apps/$app/src/main.js" >"$log_dir/$app.log" 2>&1 &
  pids+=("$!")
  echo "==> started $app (pid $!, log $log_dir/$app.log)"
done

api="http://${HTTP_HOST:-127.0.0.1}:${API_PORT:-8080}"
for _ in $(seq 1 120); do
  if curl -fsS "$api/health/ready" >/dev/null 2>&1; then break; fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "an app exited during start; see $log_dir" >&2; tail -n 20 "$log_dir"/*.log >&2; exit 1; }
  done
  sleep 0.5
done
curl -fsS "$api/health/ready" >/dev/null || { echo "the API did not become ready; see $log_dir" >&2; exit 1; }

cat <<MSG

  Helm release rollback service is running.
    API:        $api/api/v1/helm
    Console:    $api/  (sign in with a token below)
    OpenAPI:    $api/docs
    Health:     $api/health/ready      Metrics: $api/metrics
    Kafka:      $KAFKA_BROKERS         MongoDB: $MONGODB_URI
    Cluster:    KUBECONFIG=$KUBECONFIG (a local cluster: real controllers, one kwok-simulated node)
    Charts:     $chart_repo  (chart "web": 1.0.0 and 1.1.0 deploy, 1.2.0 is rejected, 1.3.0 never gets ready)
    Logs:       $log_dir

  Development tokens (from $tokens_file):
    viewer:     $VIEWER_TOKEN
    operator:   $OPERATOR_TOKEN

  Try the seed scenario:
    auth="Authorization: Bearer $OPERATOR_TOKEN"; u=$api/api/v1/helm/releases
    curl -H "\$auth" -H 'content-type: application/json' -d '{"releaseId":"web","namespace":"demo","chart":{"name":"web","repository":"$chart_repo"},"chartVersion":"1.0.0","values":{"greeting":"v1"}}' \$u
    curl -H "\$auth" -H 'content-type: application/json' -d '{"chartVersion":"1.1.0","values":{"greeting":"v2"}}' \$u/web/upgrade
    curl -H "\$auth" -H 'content-type: application/json' -d '{"targetRevision":1}' \$u/web/rollback
    curl -H "\$auth" \$u/web/history
  Ctrl-C stops the apps.
MSG
wait
