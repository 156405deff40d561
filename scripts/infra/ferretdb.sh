#!/usr/bin/env bash
# Local FerretDB 1.x (MongoDB wire protocol on top of PostgreSQL, or SQLite) for dev and CI.
#
#   scripts/infra/ferretdb.sh up       # build (first time only), start, wait until it answers a MongoDB ping
#   scripts/infra/ferretdb.sh status   # one line; exit 0 when running and answering, 1 otherwise
#   scripts/infra/ferretdb.sh down     # SIGTERM, wait up to ~15 s, then SIGKILL
#   scripts/infra/ferretdb.sh logs [-f]
#
# Why FerretDB built from source instead of mongod: this project's machines have no Docker and reach only
# package registries. MongoDB server binaries are in none of them, but FerretDB is a Go module, so the Go
# module proxy serves its source and `go install` turns it into one static binary.
#
# Backend: PostgreSQL when its server programs are installed (Debian's postgresql package), else the
# embedded SQLite. FerretDB 1.24 as released never uses its _id index on either; the source patches in
# patch_source below make lookups by _id use it, so a read by _id no longer costs in proportion to its
# collection (figures in docs/benchmarks.md). Filters on other fields still read the whole collection on SQLite, which pushes down nothing but _id and decodes
# documents in Go; PostgreSQL evaluates simple equality filters itself. The PostgreSQL server
# is this script's own: a cluster in a run directory, on loopback, started and stopped with FerretDB.
#
# Environment:
#   MONGODB_URI             if set, an external server is used: `up` does nothing
#   FERRETDB_PORT           MongoDB wire port on 127.0.0.1, default 37017
#   FERRETDB_DEBUG_PORT     if set, FerretDB's debug/metrics HTTP listener on 127.0.0.1:<port>; off by default
#   FERRETDB_BACKEND        postgresql or sqlite; default postgresql when initdb/pg_ctl are found, else sqlite
#   FERRETDB_PG_PORT        the PostgreSQL server's port on 127.0.0.1, default 37432
#   FERRETDB_PG_DIR         its cluster directory, default /var/tmp/hrs-postgres-<uid> (a root-run PostgreSQL
#                           runs as the postgres user, which cannot enter /root)
#   HRS_CACHE_DIR           binary cache root, default ~/.cache/helm-rollback-service
#   HRS_RUN_DIR             runtime root (data, log, pid), default $HRS_CACHE_DIR/run
#   FERRETDB_START_TIMEOUT  seconds `up` waits for the server to answer, default 30
set -euo pipefail
SCRIPT=ferretdb.sh
LOG_FD=1
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 1.x, not 2.x: FerretDB 2 needs PostgreSQL with the DocumentDB extension, which no registry here ships.
# v1.24.x is the last 1.x line and still has the embedded SQLite backend.
FERRETDB_MODULE="github.com/FerretDB/FerretDB"
FERRETDB_VERSION="v1.24.2"
# Bumped whenever patch_source below changes, so that a binary cached from other patches is not reused.
FERRETDB_PATCHLEVEL="p3"

HOST="127.0.0.1"
PORT="${FERRETDB_PORT:-37017}"
DEBUG_PORT="${FERRETDB_DEBUG_PORT:-}"
CACHE_DIR="$CACHE_ROOT/ferretdb-$FERRETDB_VERSION-$FERRETDB_PATCHLEVEL"
BIN_DIR="$CACHE_DIR/bin"
BIN="$BIN_DIR/ferretdb"
BUILD_LOG="$CACHE_DIR/build.log"
RUN_DIR="${HRS_RUN_DIR:-$CACHE_ROOT/run}/ferretdb"
DATA_DIR="$RUN_DIR/data"
LOG_FILE="$RUN_DIR/ferretdb.log"
PID_FILE="$RUN_DIR/ferretdb.pid"
START_TIMEOUT="${FERRETDB_START_TIMEOUT:-30}"
PG_PORT="${FERRETDB_PG_PORT:-37432}"
PG_DIR="${FERRETDB_PG_DIR:-/var/tmp/hrs-postgres-$(id -u)}"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
PG_URL="postgres://ferretdb@$HOST:$PG_PORT/ferretdb"

# PostgreSQL's server programs: on PATH, or in Debian's versioned directory (newest first).
pg_bin_dir() {
  local d
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$d/pg_ctl" && -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  return 1
}

BACKEND="${FERRETDB_BACKEND:-}"
if [[ -z "$BACKEND" ]]; then
  if pg_bin_dir >/dev/null; then BACKEND=postgresql; else BACKEND=sqlite; fi
fi
[[ "$BACKEND" == postgresql || "$BACKEND" == sqlite ]] || die "FERRETDB_BACKEND must be postgresql or sqlite, not '$BACKEND'"

# PostgreSQL refuses to run as root: a root caller runs it as the postgres user.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run PostgreSQL as; set FERRETDB_BACKEND=sqlite"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_running() {
  local bin
  bin="$(pg_bin_dir)" || return 1
  [[ -f "$PG_DATA/PG_VERSION" ]] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_up() {
  local bin
  bin="$(pg_bin_dir)" || die "FERRETDB_BACKEND=postgresql but initdb/pg_ctl were not found (install Debian's postgresql, or set FERRETDB_BACKEND=sqlite)"
  mkdir -p "$PG_DIR"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$PG_DIR"
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    log "creating a PostgreSQL cluster in $PG_DATA (first run only)"
    # trust: the server listens on loopback only and holds nothing but this project's test data.
    as_pg "$bin/initdb" -D "$PG_DATA" -U ferretdb -A trust -E UTF8 --no-instructions >"$PG_DIR/initdb.log" 2>&1 ||
      { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! pg_running; then
    # 9>&- : the server must not inherit the flock fd (see the FerretDB start below).
    # synchronous_commit=off: a crash of the machine may lose the last few hundred ms of commits, a crash
    # of a process loses nothing (the WAL is written at commit; only its flush to disk is deferred).
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=$HOST -c synchronous_commit=off -c shared_buffers=128MB -c max_connections=200" \
      start >/dev/null 9>&- || { tail -n 30 "$PG_LOG" >&2; die "PostgreSQL did not start"; }
  fi
  as_pg "$bin/psql" -h "$HOST" -p "$PG_PORT" -U ferretdb -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1 ||
    as_pg "$bin/createdb" -h "$HOST" -p "$PG_PORT" -U ferretdb ferretdb
}

pg_down() {
  local bin
  # On the SQLite backend the cluster is not this FerretDB's: another one (its own run directory and
  # port, on PostgreSQL) may be using it.
  [[ "$BACKEND" == postgresql ]] || return 0
  bin="$(pg_bin_dir)" || return 0
  if pg_running; then
    log "stopping PostgreSQL ($PG_DATA)"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || true
  fi
}

# Only a cold start needs Go; a warm cache runs the binary alone.
need_go() {
  command -v go >/dev/null 2>&1 ||
    die "go not found on PATH; it is needed once to build FerretDB $FERRETDB_VERSION into $BIN_DIR (Go 1.24+, or 1.21+ which fetches the 1.24 toolchain via the module proxy), or set MONGODB_URI to use an existing MongoDB"
}

# In file $1, replaces the literal text $3, which must occur exactly $2 times, with $4. Fails otherwise,
# so a patch that no longer fits the source stops the build instead of being skipped or half-applied.
replace_text() {
  local file="$1" want="$2" old="$3" new="$4" text rest n=0
  text="$(<"$file")" || return 1
  rest="$text"
  while [[ "$rest" == *"$old"* ]]; do
    rest="${rest#*"$old"}"
    n=$((n + 1))
  done
  if ((n != want)); then
    echo "patch: expected $want occurrence(s) in $file, found $n: ${old%%$'\n'*}" >&2
    return 1
  fi
  # "$new" quoted: bash 5.2's patsub_replacement would otherwise expand & in it.
  printf '%s\n' "${text//"$old"/"$new"}" >"$file"
}

# Source patches for FerretDB $FERRETDB_VERSION, applied to the copy in $1 (bump FERRETDB_PATCHLEVEL when
# changing them). The first two make lookups by _id use the unique index that FerretDB creates on _id, which 1.24
# never does:
#  - PostgreSQL: the filter pushdown turns {_id: v} into `_jsonb->$1 @> $2`, but the _id_ index is a
#    btree on the expression (_jsonb->'_id'), which only serves =, <, >, ... on that very expression, so
#    every find/update/delete by _id was a sequential scan. For _id it now emits `_jsonb->'_id' = $1`
#    (metadata.IDColumn). Only scalars are pushed down (documents, arrays etc. are filtered in Go as
#    before), and for a scalar jsonb @> and = select the same rows; FerretDB filters the rows again in Go
#    anyway, so the pushdown only has to return a superset.
#  - SQLite: the _id lookups compare `_ferretdb_sjson->'$._id'`, the index is on `_ferretdb_sjson->"_id"`
#    (registry.go quotes field names with %q); SQLite matches index expressions by their text, so the
#    index was never used. Same JSON value, now spelled as in the index. And the only filter SQLite
#    pushes down, a string or ObjectId _id, was pushed down only when it was the filter's sole key, so
#    e.g. a conditional replace {_id, v} read the whole table; now _id is pushed down whatever else the
#    filter has (every handler filters the returned rows again with the whole filter, as the PostgreSQL
#    backend, which pushes down only the keys it can, relies on too).
patch_source() {
  local dir="$1"
  local pg_query="$dir/internal/backends/postgresql/query.go"
  local sqlite_meta="$dir/internal/backends/sqlite/metadata/metadata.go"
  local sqlite_coll="$dir/internal/backends/sqlite/collection.go"
  local msg_update="$dir/internal/handler/msg_update.go"

  # filterEqual's k is the top-level key (a string) or, for dot notation, a path slice (operator #>):
  # only the plain "_id" key takes the new branch.
  replace_text "$pg_query" 1 \
    $'func filterEqual(p *metadata.Placeholder, k any, v any, operator string) (filter string, args []any) {\n' \
    $'func filterEqual(p *metadata.Placeholder, k any, v any, operator string) (filter string, args []any) {\n\tif k == "_id" && operator == "->" {\n\t\treturn filterEqualID(p, v)\n\t}\n\n' ||
    return 1
  # The function the new branch calls, appended to the file: a file of its own beside this script.
  cat "$(dirname "${BASH_SOURCE[0]}")/ferretdb/filter-equal-id.go.txt" >>"$pg_query" || return 1

  replace_text "$sqlite_meta" 1 \
    $'\tIDColumn = DefaultColumn + "->\'$._id\'"\n' \
    $'\tIDColumn = DefaultColumn + "->\\"_id\\"" // as in the _id index (sqlite/metadata/registry.go indexesCreate)\n' ||
    return 1
  # Twice: in Query and in Explain.
  replace_text "$sqlite_coll" 2 \
    $'\tif params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")\n' \
    $'\tif params.Filter.Len() > 0 {\n\t\tv, _ := params.Filter.Get("_id")\n' ||
    return 1

  # The update command keeps each statement's query open (a deferred Close inside the loop over the
  # statements) until the whole command ends, and each open query holds a pooled PostgreSQL connection:
  # one update command of more statements than the pool has connections (50) waited for a connection
  # forever, and the whole server with it. Each statement's query is now closed when it is done.
  replace_text "$msg_update" 1 \
    $'\t\tcloser := iterator.NewMultiCloser()\n\t\tdefer closer.Close()\n' \
    $'\t\tcloser := iterator.NewMultiCloser()\n' ||
    return 1
  replace_text "$msg_update" 1 \
    $'\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n' \
    $'\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n\t\tcloser.Close()\n' ||
    return 1
}

build_binary() {
  [[ -x "$BIN" ]] && return 0
  need_go
  mkdir -p "$CACHE_DIR"
  : >"$BUILD_LOG"
  log "building FerretDB $FERRETDB_VERSION from the Go module proxy into $BIN_DIR (first run only, ~1 min on 2 cores)"

  # A plain `go install $FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION` compiles, but the binary panics
  # at start-up: FerretDB embeds build/version/version.txt, which its release tooling generates and the
  # module zip does not contain (see the FerretDB#4001 TODO in build/version/version.go). Go refuses
  # -overlay for files in GOMODCACHE, so the module source (still fetched from the proxy and checked
  # against go.sum) is copied, version.txt is written next to it, and `go install` runs on the copy.
  # No build tags: SQLite and PostgreSQL backends are in by default (only ferretdb_no_sqlite /
  # ferretdb_no_postgresql remove them).
  local src
  src="$(cd "$CACHE_DIR" && GOWORK=off go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" 2>>"$BUILD_LOG" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" || true
  if [[ -z "$src" || ! -f "$src/cmd/ferretdb/main.go" ]]; then
    tail -n 20 "$BUILD_LOG" >&2
    die "could not download $FERRETDB_MODULE@$FERRETDB_VERSION from the Go module proxy (log: $BUILD_LOG)"
  fi

  # Build into temp dirs and rename at the end, so an interrupted build never leaves a binary that the
  # "skip when it exists" check above would trust.
  local work="$CACHE_DIR/src.tmp" gobin="$CACHE_DIR/bin.tmp"
  rm -rf "$work" "$gobin"
  cp -R "$src/." "$work"
  chmod -R u+w "$work" # the module cache is read-only
  echo "$FERRETDB_VERSION" >"$work/build/version/version.txt"
  if ! patch_source "$work" 2>>"$BUILD_LOG"; then
    tail -n 5 "$BUILD_LOG" >&2
    rm -rf "$work" "$gobin"
    die "patching FerretDB $FERRETDB_VERSION source failed (log: $BUILD_LOG)"
  fi
  # GOWORK=off: a go.work above the cache dir must not pull FerretDB into someone else's workspace.
  # CGO_ENABLED=0: every backend in the default build is pure Go; this keeps a C compiler optional and the
  # binary static. -buildvcs=false: the copy is not a checkout, and a parent repo's VCS data is irrelevant.
  if ! (cd "$work" && GOWORK=off CGO_ENABLED=0 GOBIN="$gobin" \
    go install -trimpath -buildvcs=false ./cmd/ferretdb) >>"$BUILD_LOG" 2>&1; then
    tail -n 30 "$BUILD_LOG" >&2
    rm -rf "$work" "$gobin"
    die "go install of FerretDB $FERRETDB_VERSION failed (log: $BUILD_LOG)"
  fi
  local got
  got="$("$gobin/ferretdb" --version 2>&1 | sed -n 's/^version: //p')" || true
  if [[ "$got" != "$FERRETDB_VERSION" ]]; then
    "$gobin/ferretdb" --version >>"$BUILD_LOG" 2>&1 || true
    rm -rf "$work" "$gobin"
    die "built binary reports version '${got:-?}', expected $FERRETDB_VERSION (log: $BUILD_LOG)"
  fi
  rm -rf "$BIN_DIR"
  mv "$gobin" "$BIN_DIR"
  rm -rf "$work"
  log "built $BIN"
}

ferretdb_pid() { running_pid "$PID_FILE" "--state-dir=$RUN_DIR"; }

# A real MongoDB round trip, `{ping: 1, $db: "admin"}` as an OP_MSG, in plain bash: an open port alone
# does not prove the server speaks the protocol, and neither mongosh nor node_modules can be assumed.
mongo_ping() {
  (
    exec 3<>"/dev/tcp/$HOST/$PORT" || exit 1
    # Header: length 51, requestID 1, responseTo 0, opCode 2013 (OP_MSG); flagBits 0; section kind 0;
    # BSON document of 30 bytes: int32 "ping" = 1, string "$db" = "admin" (the $ is literal BSON).
    # shellcheck disable=SC2016
    printf '\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00' >&3
    # Read exactly the reply's declared length: the server keeps the connection open, so "read to EOF"
    # would only ever end at the timeout.
    local b0 b1 b2 b3 len body
    read -r b0 b1 b2 b3 < <(timeout 3 head -c 4 <&3 | od -An -tu1) || exit 1
    len=$((b0 | b1 << 8 | b2 << 16 | b3 << 24))
    ((len > 21 && len < 1048576)) || exit 1
    body="$(timeout 3 head -c $((len - 4)) <&3 | od -An -v -tx1 | tr -d ' \n')"
    # responseTo must be our requestID 1 and the opCode OP_MSG; then look for ok: 1 (double or int32).
    [[ "${body:8:16}" == "01000000dd070000" ]] || exit 1
    [[ "$body" == *016f6b00000000000000f03f* || "$body" == *106f6b0001000000* ]]
  ) 2>/dev/null
}

cmd_up() {
  if [[ -n "${MONGODB_URI:-}" ]]; then
    log "MONGODB_URI is set: using that external server, not starting FerretDB"
    return 0
  fi
  mkdir -p "$RUN_DIR"
  # Two concurrent `up`s (e.g. parallel test jobs) must not both build or start a server on one data dir.
  take_lock 9 "$RUN_DIR/.lock" 300

  local pid
  if pid="$(ferretdb_pid)"; then
    local i
    # Its database server may have been stopped under it (or it runs on another backend): start afresh.
    if [[ "$BACKEND" == postgresql ]] && ! pg_running; then
      log "FerretDB is running without its PostgreSQL: restarting both"
      cmd_down
      cmd_up
      return
    fi
    # A server started a moment ago by someone else may still be opening its listener.
    for ((i = 0; i < 20; i++)); do
      if mongo_ping; then
        log "already running on $HOST:$PORT (pid $pid)"
        return 0
      fi
      sleep 0.25
    done
    show_log_tail "$LOG_FILE"
    die "FerretDB pid $pid is running but does not answer a MongoDB ping on $HOST:$PORT; try: $0 down && $0 up"
  fi
  rm -f "$PID_FILE"
  if port_open "$HOST" "$PORT"; then
    die "port $PORT on $HOST is taken by a process this script did not start; set FERRETDB_PORT, or MONGODB_URI to use that server"
  fi

  build_binary
  mkdir -p "$DATA_DIR"
  # Keep the previous run's log for post-mortems, but don't let it grow across runs.
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.prev"

  local debug_addr="-"
  [[ -n "$DEBUG_PORT" ]] && debug_addr="$HOST:$DEBUG_PORT"

  local backend_args
  if [[ "$BACKEND" == postgresql ]]; then
    pg_up
    backend_args=(--handler=postgresql --postgresql-url="$PG_URL")
    log "starting FerretDB $FERRETDB_VERSION (postgresql on $HOST:$PG_PORT, $PG_DATA) on $HOST:$PORT"
  else
    backend_args=(--handler=sqlite --sqlite-url="file:$DATA_DIR/")
    log "starting FerretDB $FERRETDB_VERSION (sqlite) on $HOST:$PORT, data in $DATA_DIR"
  fi
  # Every flag is passed explicitly because FerretDB also reads FERRETDB_* variables for any flag left
  # out, and a stray FERRETDB_HANDLER or FERRETDB_LISTEN_ADDR in the caller's environment must not
  # change what this script starts.
  #  --state-dir: state.json (instance UUID, telemetry choice) defaults to the current directory, which
  #    would drop it into the repo.
  #  --telemetry=disable (+ env, + DO_NOT_TRACK): the default "undecided" state still phones home after a
  #    delay, and the network here only reaches package registries.
  #  --debug-addr=-: the default 127.0.0.1:8088 clashes with other dev servers; it serves only metrics.
  # setsid + nohup: the server must outlive this script and the terminal/CI step that ran it, and not get
  # the caller's Ctrl-C. 9>&- : the server must not inherit the flock fd, or the lock would stay held for
  # as long as it runs and every later `up` would block on it.
  FERRETDB_TELEMETRY=disable DO_NOT_TRACK=1 nohup setsid "$BIN" \
    --listen-addr="$HOST:$PORT" \
    --listen-unix="" \
    "${backend_args[@]}" \
    --state-dir="$RUN_DIR" \
    --telemetry=disable \
    --debug-addr="$debug_addr" \
    --log-level=info \
    --log-format=console \
    </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local start=$SECONDS
  until mongo_ping; do
    if ! kill -0 "$pid" 2>/dev/null && ! pid="$(ferretdb_pid)"; then
      show_log_tail "$LOG_FILE"
      rm -f "$PID_FILE"
      die "FerretDB exited during startup"
    fi
    if ((SECONDS - start >= START_TIMEOUT)); then
      show_log_tail "$LOG_FILE"
      cmd_down >/dev/null 2>&1 || true
      die "FerretDB did not answer a MongoDB ping on $HOST:$PORT within ${START_TIMEOUT}s (stopped it again)"
    fi
    sleep 0.2
  done
  log "running on $HOST:$PORT (pid $pid, ready in $((SECONDS - start))s); export MONGODB_URI=mongodb://$HOST:$PORT/"
}

cmd_status() {
  if [[ -n "${MONGODB_URI:-}" ]]; then
    echo "external server in use (MONGODB_URI is set); local FerretDB not managed"
    return 0
  fi
  local pid
  if pid="$(ferretdb_pid)"; then
    if [[ "$BACKEND" == postgresql ]] && ! pg_running; then
      echo "FerretDB running (pid $pid) but its PostgreSQL ($PG_DATA) is not"
      return 1
    fi
    if mongo_ping; then
      echo "running on $HOST:$PORT (pid $pid, FerretDB $FERRETDB_VERSION, $BACKEND)"
      return 0
    fi
    echo "process running (pid $pid) but not answering a MongoDB ping on $HOST:$PORT"
    return 1
  fi
  echo "stopped"
  return 1
}

# Stops our own server even when MONGODB_URI is set: it only ever touches the pid this script started.
cmd_down() {
  local pid
  if ! pid="$(ferretdb_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    pg_down
    return 0
  fi
  # SIGTERM makes FerretDB stop accepting, finish in-flight requests and close the SQLite databases
  # cleanly (WAL checkpoint), so the next start does not have to recover.
  stop_pid ferretdb "$pid" 15
  rm -f "$PID_FILE"
  log "stopped"
  # The database server goes with it: a restart of "the database" restarts both.
  pg_down
}

server_main "$@"
