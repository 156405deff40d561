# shellcheck shell=bash
# What every script in scripts/infra shares. A script sets SCRIPT (its name, for messages) and, when its
# progress goes to stdout rather than stderr, LOG_FD=1; then it sources this file.

# Downloads, builds and run directories: outside the checkout, shared by every clone on the machine.
CACHE_ROOT="${HRS_CACHE_DIR:-$HOME/.cache/helm-rollback-service}"

log() { echo "$SCRIPT: $*" >&"${LOG_FD:-2}"; }
die() { echo "$SCRIPT: $*" >&2; exit 1; }

need_tool() { # tool why
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH; $2"
}

# A pid file can outlive its process and the pid can be reused; only trust a pid whose command line is
# ours (a marker such as this binary's data dir).
is_ours() { # pid marker
  [[ "$1" =~ ^[0-9]+$ ]] && [[ -r "/proc/$1/cmdline" ]] &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

running_pid() { # pid_file marker
  local pid_file="$1" marker="$2" pid=""
  [[ -f "$pid_file" ]] && pid="$(cat "$pid_file" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && is_ours "$pid" "$marker"; then
    echo "$pid"
    return 0
  fi
  # Pid file lost (run dir cleaned while running, or setsid had to fork): find our exact command line,
  # so a second server is never started on the same data dir.
  if command -v pgrep >/dev/null 2>&1; then
    local p
    for p in $(pgrep -f -- "$marker" 2>/dev/null || true); do
      if is_ours "$p" "$marker"; then
        echo "$p" >"$pid_file" 2>/dev/null || true
        echo "$p"
        return 0
      fi
    done
  fi
  return 1
}

port_open() { # host port
  # bash's /dev/tcp needs no extra tools; the subshell keeps the fd from leaking.
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

show_log_tail() { # log_file [lines]
  echo "---- last lines of $1 ----" >&2
  tail -n "${2:-40}" "$1" >&2 2>/dev/null || true
}

# SIGTERM first, so the server shuts down cleanly (flushed logs, a clean-shutdown marker: the next start
# skips recovery); SIGKILL only after `seconds`.
stop_pid() { # name pid seconds_before_sigkill
  local name="$1" pid="$2" secs="$3" i
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  log "$name still running after ${secs}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
}

# Holds an exclusive lock on `file` through file descriptor `fd` until the script exits (or `exec fd>&-`),
# so two concurrent runs never build or start the same thing. Without flock there is no lock.
take_lock() { # fd file seconds
  command -v flock >/dev/null 2>&1 || return 0
  eval "exec $1>\"\$2\""
  flock -w "$3" "$1" || die "another $SCRIPT is holding $2"
}

# Runs `make_fn` unless `done` exists, under the lock `lock_file` (another run may be making it: the
# second waits, then finds it made). `make_fn` creates `done` last, so an interrupted run is made again.
make_once() { # done lock_file seconds make_fn
  [[ -e "$1" ]] && return 0
  mkdir -p "$(dirname "$2")"
  take_lock 8 "$2" "$3"
  [[ -e "$1" ]] || "$4"
  exec 8>&-
}

# Waits until `ready_fn` succeeds for a server just started as `pid`; if it exits or takes longer than
# `seconds`, shows its log, stops it and dies with `hint` appended.
await_ready() { # name pid pid_file log_file seconds ready_fn [hint]
  local name="$1" pid="$2" pid_file="$3" log_file="$4" secs="$5" ready="$6" hint="${7:-}" start=$SECONDS
  until "$ready"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "$log_file"
      rm -f "$pid_file"
      die "$name exited during startup${hint:+ ($hint)}"
    fi
    if ((SECONDS - start >= secs)); then
      show_log_tail "$log_file"
      stop_pid "$name" "$pid" 15
      rm -f "$pid_file"
      die "$name was not ready within ${secs}s (stopped it again${hint:+; $hint})"
    fi
    sleep 0.2
  done
}

# Prints a log, or follows it with -f.
show_log() { # log_file [-f]
  [[ -f "$1" ]] || die "no log yet at $1"
  [[ "${2:-}" == "-f" ]] && exec tail -n 100 -F "$1"
  cat "$1"
}

# The command line of a server script: up|status|down|logs [-f], with the script's cmd_up, cmd_status
# and cmd_down, and its log in LOG_FILE.
server_main() { # "$@"
  case "${1:-}" in
  up) cmd_up ;;
  status) cmd_status ;;
  down) cmd_down ;;
  logs) show_log "$LOG_FILE" "${2:-}" ;;
  *)
    echo "usage: $0 up|status|down|logs [-f]" >&2
    exit 2
    ;;
  esac
}
