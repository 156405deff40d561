#!/usr/bin/env bash
# Runs the whole service on this machine: installs dependencies, provisions Kafka and FerretDB (cached),
# builds, starts api, release-service and executor, and prints where the API is with development tokens.
# Ctrl-C stops the apps; the servers keep running (stop them with `npm run infra down`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh

cache="${HRS_CACHE_DIR:-$HOME/.cache/helm-rollback-service}"
mkdir -p "$cache"
exports="$(bash scripts/infra.sh up | tee /dev/stderr | grep '^export ')"
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
    OpenAPI:    $api/docs
    Health:     $api/health/ready      Metrics: $api/metrics
    Kafka:      $KAFKA_BROKERS         MongoDB: $MONGODB_URI
    Logs:       $log_dir

  Development tokens (from $tokens_file):
    viewer:     $VIEWER_TOKEN
    operator:   $OPERATOR_TOKEN

  Try:  curl -H "Authorization: Bearer $VIEWER_TOKEN" $api/api/v1/helm/releases
  Ctrl-C stops the apps.
MSG
wait
