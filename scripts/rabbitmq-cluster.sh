#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on this machine, next to the broker already on 5672 and never touching
# it: nodes <name>-1..3@localhost listening on 127.0.0.1 only, AMQP ports BASE..BASE+2 (distribution
# ports 20000 more), each with its own data and log folder under $STATE, no plugins (no management
# port to collide with).
#
#   scripts/rabbitmq-cluster.sh start          boot the nodes (in parallel) and join them into one
#                                              cluster; idempotent (a running cluster is left as is)
#   scripts/rabbitmq-cluster.sh stop           stop every node and DELETE its data (idempotent): the
#                                              cluster is test scaffolding, formed afresh by the next
#                                              start (a cluster restarted from old data must start
#                                              its nodes in the reverse order they stopped, or
#                                              together; this script does not try)
#   scripts/rabbitmq-cluster.sh status         exit 0 (prints "running") if all nodes run as one cluster
#   scripts/rabbitmq-cluster.sh urls           the AMQP URLs, comma-separated
#   scripts/rabbitmq-cluster.sh nodes          one line per node: number, node name, AMQP URL (tabs)
#   scripts/rabbitmq-cluster.sh stop-node N [--kill]
#                                              stop node N's Erlang VM (rabbitmqctl stop; --kill:
#                                              SIGKILL, a crash), keeping its data; returns once the
#                                              process is gone
#   scripts/rabbitmq-cluster.sh start-node N   boot node N again from its data; returns once it has
#                                              rejoined (every other running node lists it as running)
#
# Environment (so a test cluster and a manual one can run side by side):
#   LONGHAUL_RMQ_CLUSTER_PORT  first AMQP port (default 5701); nodes use BASE, BASE+1, BASE+2
#   LONGHAUL_RMQ_CLUSTER_NAME  node name prefix (default lh-rmq-<BASE>)
#   LONGHAUL_RMQ_CLUSTER_DIR   state folder (default /tmp/longhaul-rmq-cluster-<BASE>)
#   LONGHAUL_RMQ_CLUSTER_WAIT  seconds any wait may take before failing (default 120)
# Two clusters need bases at least 3 apart; the defaults of name and folder follow the base.
set -euo pipefail

BASE_PORT="${LONGHAUL_RMQ_CLUSTER_PORT:-5701}"
[[ "$BASE_PORT" =~ ^[0-9]+$ ]] && ((BASE_PORT >= 1024 && BASE_PORT <= 45000)) || {
  echo "rabbitmq-cluster: LONGHAUL_RMQ_CLUSTER_PORT must be a port in 1024-45000, got '$BASE_PORT'" >&2
  exit 2
}
NAME="${LONGHAUL_RMQ_CLUSTER_NAME:-lh-rmq-$BASE_PORT}"
STATE="${LONGHAUL_RMQ_CLUSTER_DIR:-/tmp/longhaul-rmq-cluster-$BASE_PORT}"
WAIT="${LONGHAUL_RMQ_CLUSTER_WAIT:-120}"
NODES=(1 2 3)

log() { echo "rabbitmq-cluster: $*" >&2; }
fail() { log "$*"; exit 1; }
node_name() { echo "$NAME-$1@localhost"; }
port_of() { echo $((BASE_PORT + $1 - 1)); }
url_of() { echo "amqp://guest:guest@127.0.0.1:$(port_of "$1")"; }
pid_of() { cat "$STATE/node-$1/pid" 2>/dev/null || true; }
check_node() { [[ "$1" =~ ^[123]$ ]] || { echo "rabbitmq-cluster: node must be 1, 2 or 3, got '$1'" >&2; exit 2; }; }

ctl() { # ctl N args...: rabbitmqctl against node N
  local n=$1
  shift
  rabbitmqctl -n "$(node_name "$n")" "$@"
}

running() { ctl "$1" status >/dev/null 2>&1; }
alive() { local pid; pid=$(pid_of "$1"); [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$1")") 2>/dev/null; }

# The nodes node N sees running (space-separated), or nothing if it does not answer.
running_seen_by() { ctl "$1" eval 'rabbit_nodes:all_running().' 2>/dev/null | tr -d '[]\n' | tr ',' ' ' || true; }

# wait_for WHAT COMMAND...: polls COMMAND every second until it succeeds, for at most $WAIT seconds.
wait_for() {
  local what=$1 deadline=$((SECONDS + WAIT))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what: not within ${WAIT}s (logs under $STATE)"
    sleep 1
  done
}

boot() { # boot N: starts node N's VM in the background (returns at once)
  local n=$1 dir="$STATE/node-$1" port
  port=$(port_of "$n")
  mkdir -p "$dir/mnesia" "$dir/log"
  printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$port" >"$dir/rabbitmq.conf"
  # Nodes 2 and 3 join node 1 by themselves on their first boot (peer discovery runs on a blank
  # node only; a restarted node rejoins the cluster its data names).
  if ((n > 1)); then
    printf 'cluster_formation.peer_discovery_backend = classic_config\ncluster_formation.classic_config.nodes.1 = %s\ncluster_formation.discovery_retry_limit = 60\ncluster_formation.discovery_retry_interval = 1000\n' \
      "$(node_name 1)" >>"$dir/rabbitmq.conf"
  fi
  echo '[].' >"$dir/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$STATE" 2>/dev/null || true
  env RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$port" \
    RABBITMQ_DIST_PORT=$((20000 + port)) \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/pid" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    rabbitmq-server -detached >>"$dir/start.log" 2>&1
}

# Started: its AMQP listener accepts connections (the last step of a boot; cheaper to poll than
# rabbitmqctl, which takes a second or two of CPU per call).
started() { alive "$1" && listening "$1"; }

joined() { # joined N: node N is a member of node 1's cluster
  [[ " $(running_seen_by "$1") " == *"'$(node_name 1)'"* ]]
}

join() {
  local n=$1
  joined "$n" && return 0
  local out="$STATE/node-$n/join.log"
  { ctl "$n" stop_app && ctl "$n" reset && ctl "$n" join_cluster "$(node_name 1)" && ctl "$n" start_app; } \
    >>"$out" 2>&1 || fail "node $n could not join the cluster (see $out)"
}

cmd_start() {
  local n
  # All three boot together; 2 and 3 look for node 1 as they boot and join it.
  for n in "${NODES[@]}"; do alive "$n" || boot "$n"; done
  for n in "${NODES[@]}"; do wait_for "node $n start" started "$n"; done
  # A node that came up on its own (node 1 was not reachable in time) is joined explicitly.
  for n in 2 3; do join "$n"; done
  wait_for "the cluster forming" cluster_up
  log "running: $(cmd_urls)"
}

cluster_up() {
  local seen n
  seen=$(running_seen_by 1)
  for n in "${NODES[@]}"; do [[ " $seen " == *"'$(node_name "$n")'"* ]] || return 1; done
}

cmd_stop() {
  local n pid
  for n in "${NODES[@]}"; do
    if alive "$n"; then ctl "$n" stop >/dev/null 2>&1 || true; fi &
  done
  wait
  # A node still waiting for its peers' tables does not answer `stop`: end it by its pid file.
  for n in "${NODES[@]}"; do
    pid=$(pid_of "$n")
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait_for "node $n to exit" gone "$n"
    fi
  done
  rm -rf "$STATE"
}

gone() { ! alive "$1"; }

cmd_stop_node() {
  local n=$1 how=${2:-} pid
  alive "$n" || { log "node $n is not running"; return 0; }
  pid=$(pid_of "$n")
  if [[ "$how" == "--kill" ]]; then
    kill -9 "$pid"
  else
    ctl "$n" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  fi
  wait_for "node $n to exit" gone "$n"
}

# Every other node that runs lists node N as running (and N itself does).
rejoined() {
  local n=$1 m
  for m in "${NODES[@]}"; do
    [[ $m == "$n" ]] || alive "$m" || continue
    [[ " $(running_seen_by "$m") " == *"'$(node_name "$n")'"* ]] || return 1
  done
}

cmd_start_node() {
  local n=$1
  [[ -d "$STATE/node-$n/mnesia" ]] || fail "node $n has no data under $STATE: run start first"
  alive "$n" || boot "$n"
  wait_for "node $n start" started "$n"
  wait_for "node $n rejoining the cluster" rejoined "$n"
}

cmd_status() {
  local n
  for n in "${NODES[@]}"; do running "$n" || { echo "node $n stopped"; exit 1; }; done
  cluster_up || { echo "not all nodes joined"; exit 1; }
  echo "running"
}

cmd_urls() {
  local urls=() n
  for n in "${NODES[@]}"; do urls+=("$(url_of "$n")"); done
  (IFS=,; echo "${urls[*]}")
}

cmd_nodes() {
  local n
  for n in "${NODES[@]}"; do printf '%s\t%s\t%s\n' "$n" "$(node_name "$n")" "$(url_of "$n")"; done
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  urls) cmd_urls ;;
  nodes) cmd_nodes ;;
  stop-node) check_node "${2:-}"; cmd_stop_node "$2" "${3:-}" ;;
  start-node) check_node "${2:-}"; cmd_start_node "$2" ;;
  *) echo "usage: $0 start|stop|status|urls|nodes|stop-node N [--kill]|start-node N" >&2; exit 2 ;;
esac
