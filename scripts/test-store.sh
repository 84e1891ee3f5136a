#!/usr/bin/env bash
# Test MongoDB-wire store for longhaul: FerretDB v1.24.2 (built from
# tools/ferretdb) behind a write gate (one write at a time per document), on PostgreSQL or SQLite.
#
#   scripts/test-store.sh start        build if needed, start, wait for ping (idempotent)
#   scripts/test-store.sh stop         stop it (idempotent)
#   scripts/test-store.sh status       exit 0 if running and answering
#   scripts/test-store.sh url          gated URL   (atomic single-document writes)
#   scripts/test-store.sh direct-url   ungated URL (raw FerretDB; loses concurrent CAS updates)
#
# Environment:
#   LONGHAUL_STORE_PORT         gated port (27018)
#   LONGHAUL_STORE_DIRECT_PORT  ungated port (port + 1)
#   LONGHAUL_STORE_DIR          state dir: pid, log, sqlite data (/tmp/longhaul-test-store on port
#                               27018, /tmp/longhaul-test-store-<port> on any other: one per port)
#   LONGHAUL_STORE_BACKEND      auto|postgresql|sqlite (auto: PostgreSQL, else SQLite)
#   LONGHAUL_STORE_PG_DB        PostgreSQL database on 127.0.0.1:5432, user postgres (ferretdb on
#                               port 27018, ferretdb_<port> on any other: one per port)
#   LONGHAUL_STORE_GATE         per-document|global (default: per-document on PostgreSQL, global on SQLite)
#   LONGHAUL_STORE_TIMEOUT      seconds to wait for the first ping (60)
#   LONGHAUL_STORE_VERBOSE=1    FerretDB logs its warnings/errors (every failed command) to the log
#   LONGHAUL_STORE_PG_SYNC=on   PostgreSQL flushes its WAL on every commit (default off, as MongoDB w:1)
#   LONGHAUL_STORE_PG_INDEXES=off  no GIN twins of FerretDB's indexes: equality finds scan (default on)
#   LONGHAUL_STORE_SLOW_WRITES=200ms  log writes that hold the write gate longer than that
#   LONGHAUL_STORE_PPROF=addr   serve Go's /debug/pprof there (e.g. 127.0.0.1:6060: where FerretDB spends its CPU)
#
# Ownership: `stop` (and the restart of a store that stopped answering) only ever ends a store this
# checkout started on this port: its launcher is this checkout's binary listening on $PORT. A store
# another checkout started is left alone: `start` uses it if it answers, `stop` says who owns it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL_DIR="$ROOT/tools/ferretdb"
BIN="$TOOL_DIR/bin/ferretdb-gated"
HOST=127.0.0.1
PORT="${LONGHAUL_STORE_PORT:-27018}"
[[ "$PORT" =~ ^[0-9]+$ ]] || { echo "test-store: LONGHAUL_STORE_PORT must be a port number, not '$PORT'" >&2; exit 2; }
DIRECT_PORT="${LONGHAUL_STORE_DIRECT_PORT:-$((PORT + 1))}"
[[ "$DIRECT_PORT" =~ ^[0-9]+$ ]] || { echo "test-store: LONGHAUL_STORE_DIRECT_PORT must be a port number, not '$DIRECT_PORT'" >&2; exit 2; }
# One state dir and one PostgreSQL database per port (port 27018 keeps the names it always had).
if [[ "$PORT" == 27018 ]]; then suffix=""; else suffix="-$PORT"; fi
STATE_DIR="${LONGHAUL_STORE_DIR:-/tmp/longhaul-test-store$suffix}"
BACKEND="${LONGHAUL_STORE_BACKEND:-auto}"
PG_DB="${LONGHAUL_STORE_PG_DB:-ferretdb${suffix/-/_}}"
GATE="${LONGHAUL_STORE_GATE:-}"
PG_URL="postgres://postgres@127.0.0.1:5432/$PG_DB"
TIMEOUT="${LONGHAUL_STORE_TIMEOUT:-60}"
PID_FILE="$STATE_DIR/ferretdb.pid"
LOG_FILE="$STATE_DIR/ferretdb.log"

log() { echo "test-store: $*" >&2; }
die() { log "$*"; exit 1; }

go_bin() {
  if command -v go >/dev/null 2>&1; then echo go
  elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go
  else die "no Go toolchain found (needed to build tools/ferretdb)"
  fi
}

build() {
  if [[ -x "$BIN" ]] && [[ -z "$(find "$TOOL_DIR" -maxdepth 1 -newer "$BIN" \
      \( -name '*.go' -o -name go.mod -o -name go.sum \) -print -quit)" ]]; then
    return 0
  fi
  log "building $BIN (the first build downloads modules and takes a while)"
  (cd "$TOOL_DIR" && "$(go_bin)" build -o bin/ferretdb-gated .) || die "build failed"
}

pid() { [[ -f "$PID_FILE" ]] && cat "$PID_FILE" 2>/dev/null || true; }

# launcher PID: the binary PID runs (argv[0]), if it is a live ferretdb-gated launcher (not a
# zombie: its cmdline is empty, and kill -0 would still succeed on it; not a reused pid).
launcher() {
  [[ -n "$1" && -r "/proc/$1/cmdline" ]] || return 1
  local argv0
  argv0="$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1)"
  [[ "$argv0" == *ferretdb-gated ]] || return 1
  echo "$argv0"
}
alive() { launcher "$1" >/dev/null; }
running() { alive "$(pid)"; }
# ours PID: PID is this checkout's launcher, listening on this port.
ours() {
  [[ "$(launcher "$1")" == "$BIN" ]] &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "-listen $HOST:$PORT "
}

# answering: the gated port answers ping, asked with this checkout's binary or, before it is built,
# with the running launcher's (so an unbuilt checkout never takes a live store for a dead one).
answering() {
  local ping="$BIN"
  [[ -x "$ping" ]] || ping="$(launcher "$(pid)")" || return 1
  "$ping" -ping "$HOST:$PORT" 2>/dev/null
}

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pg() { psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -tAq "$@"; }

# ensure_pg: PostgreSQL answers (start the local cluster if needed) and $PG_DB exists.
ensure_pg() {
  command -v psql >/dev/null 2>&1 || return 1
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$version" ]] || return 1
    log "starting PostgreSQL $version"
    # 9>&-: PostgreSQL must not inherit (and keep holding) the start/stop lock.
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 9>&- || return 1
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || return 1
  if [[ "$(pg -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]]; then
    pg -c "CREATE DATABASE \"$PG_DB\"" || return 1
  fi
  # MongoDB acknowledges a w:1 write before its journal is flushed (flushed every 100 ms); the
  # same on PostgreSQL is synchronous_commit=off (WAL flushed within 600 ms). With a flush per
  # commit, every write through the gate also waited for an fsync. LONGHAUL_STORE_PG_SYNC=on keeps it.
  pg -c "ALTER DATABASE \"$PG_DB\" SET synchronous_commit = '${LONGHAUL_STORE_PG_SYNC:-off}'" >/dev/null || return 1
  # Equality finds (by _id above all) answered from an index, as on MongoDB, instead of scanning the
  # collection: GIN twins of FerretDB's indexes, and custom plans so the planner can match them
  # (tools/ferretdb/postgresql-indexes.sql says why). LONGHAUL_STORE_PG_INDEXES=off leaves them out.
  local twins="${LONGHAUL_STORE_PG_INDEXES:-on}" plans=force_custom_plan
  [[ "$twins" == on ]] || plans=auto
  pg -c "ALTER DATABASE \"$PG_DB\" SET plan_cache_mode = $plans" >/dev/null || return 1
  PGOPTIONS='-c client_min_messages=warning' pg -d "$PG_DB" -v twins="$twins" \
    -f "$TOOL_DIR/postgresql-indexes.sql" >/dev/null || return 1
}

start() {
  local p; p="$(pid)"
  if alive "$p" && answering; then
    if ours "$p"; then
      log "already running (pid $p, $(cat "$STATE_DIR/backend" 2>/dev/null)) at $(url)"
    else
      log "using the store another checkout started (pid $p, $(launcher "$p")) at $(url); it stops it"
    fi
    return 0
  fi
  if alive "$p"; then
    ours "$p" || die "pid $p ($(launcher "$p")) does not answer at $(url), and another checkout started it: not restarting it"
    log "pid $p is not answering; restarting it"
    stop
  fi
  for p in "$PORT" "$DIRECT_PORT"; do
    if port_busy "$p"; then
      die "port $p is already in use (set LONGHAUL_STORE_PORT / LONGHAUL_STORE_DIRECT_PORT)"
    fi
  done
  build

  local backend="$BACKEND" args=()
  case "$backend" in
    auto)
      if ensure_pg; then backend=postgresql
      else log "PostgreSQL unavailable; falling back to SQLite"; backend=sqlite
      fi ;;
    postgresql) ensure_pg || die "PostgreSQL unavailable (LONGHAUL_STORE_BACKEND=postgresql)" ;;
    sqlite) ;;
    *) die "LONGHAUL_STORE_BACKEND must be auto, postgresql or sqlite" ;;
  esac
  if [[ "${LONGHAUL_STORE_VERBOSE:-}" == 1 ]]; then args+=(-v); fi
  case "$GATE" in
    "") ;;
    per-document | global) args+=(-gate "$GATE") ;;
    *) die "LONGHAUL_STORE_GATE must be per-document or global, not '$GATE'" ;;
  esac
  if [[ -n "${LONGHAUL_STORE_PPROF:-}" ]]; then args+=(-pprof "$LONGHAUL_STORE_PPROF"); fi
  if [[ -n "${LONGHAUL_STORE_SLOW_WRITES:-}" ]]; then args+=(-log-slow-writes "$LONGHAUL_STORE_SLOW_WRITES"); fi
  if [[ "$backend" == postgresql ]]; then
    args+=(-handler postgresql -postgresql-url "$PG_URL")
  else
    mkdir -p "$STATE_DIR/sqlite"
    args+=(-handler sqlite -sqlite-url "file:$STATE_DIR/sqlite/")
  fi

  # setsid: own session, so callers waiting on their process group don't hang;
  # 9>&-: the daemon must not inherit (and keep holding) the start/stop lock.
  local detach=(nohup)
  command -v setsid >/dev/null 2>&1 && detach=(setsid nohup)
  "${detach[@]}" "$BIN" -listen "$HOST:$PORT" -direct-listen "$HOST:$DIRECT_PORT" "${args[@]}" \
    >"$LOG_FILE" 2>&1 </dev/null 9>&- &
  echo $! >"$PID_FILE"
  echo "$backend" >"$STATE_DIR/backend"

  local deadline=$((SECONDS + TIMEOUT))
  until answering; do
    if ! running || ((SECONDS >= deadline)); then
      tail -n 20 "$LOG_FILE" >&2 || true
      stop
      die "FerretDB did not answer ping on $HOST:$PORT"
    fi
    sleep 0.2
  done
  log "running (pid $(pid), $backend) at $(url); ungated at $(direct_url)"
}

stop() {
  local p; p="$(pid)"
  if alive "$p" && ! ours "$p"; then
    die "not stopping pid $p on port $PORT: $(launcher "$p") started it, not $BIN (stop it from that checkout)"
  fi
  if alive "$p"; then
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$p" || break; sleep 0.1; done
    if alive "$p"; then kill -9 "$p" 2>/dev/null || true; fi
  fi
  rm -f "$PID_FILE"
}

url() { echo "mongodb://$HOST:$PORT/"; }
direct_url() { echo "mongodb://$HOST:$DIRECT_PORT/"; }

cmd="${1:-}"
case "$cmd" in
  start | stop)
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    # Serialize concurrent start/stop calls (a first build can take minutes).
    flock -w 600 9 || die "timed out waiting for $STATE_DIR/lock"
    "$cmd" ;;
  status)
    if running && answering; then
      echo "running pid=$(pid) backend=$(cat "$STATE_DIR/backend" 2>/dev/null) url=$(url) direct=$(direct_url) launcher=$(launcher "$(pid)")"
    else
      echo "stopped"; exit 1
    fi ;;
  url) url ;;
  direct-url) direct_url ;;
  *) echo "usage: $0 start|stop|status|url|direct-url" >&2; exit 2 ;;
esac
