#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on this machine, next to the broker already on 5672 and never touching
# it: nodes lh-rmq-1..3@localhost on 127.0.0.1 ports 5701-5703 (distribution 25701-25703), each with
# its own data and log folder under $STATE, no plugins (no management port to collide with).
#
#   scripts/rabbitmq-cluster.sh start    start the nodes and join them into one cluster (idempotent)
#   scripts/rabbitmq-cluster.sh stop     stop every node and delete its data (idempotent): the cluster
#                                        is test scaffolding, formed afresh by the next start (a
#                                        cluster restarted from old data must start its nodes in the
#                                        reverse order they stopped, or together)
#   scripts/rabbitmq-cluster.sh status   exit 0 if all three run as one cluster
#   scripts/rabbitmq-cluster.sh urls     the three AMQP URLs, comma-separated
#   scripts/rabbitmq-cluster.sh stop-node N / start-node N   one node (the chaos of node stops)
#
# Environment: LONGHAUL_RMQ_CLUSTER_DIR (state folder, /tmp/longhaul-rmq-cluster),
# LONGHAUL_RMQ_CLUSTER_PORT (first AMQP port, 5701).
set -euo pipefail

STATE="${LONGHAUL_RMQ_CLUSTER_DIR:-/tmp/longhaul-rmq-cluster}"
BASE_PORT="${LONGHAUL_RMQ_CLUSTER_PORT:-5701}"
NODES=(1 2 3)

log() { echo "rabbitmq-cluster: $*" >&2; }
node_name() { echo "lh-rmq-$1@localhost"; }
port_of() { echo $((BASE_PORT + $1 - 1)); }

ctl() { # ctl N args...: rabbitmqctl against node N
  local n=$1
  shift
  rabbitmqctl -n "$(node_name "$n")" "$@"
}

node_env() { # the environment of node N, as `env` arguments
  local n=$1 dir="$STATE/node-$1"
  echo "RABBITMQ_NODENAME=$(node_name "$n")" \
    "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
    "RABBITMQ_NODE_PORT=$(port_of "$n")" \
    "RABBITMQ_DIST_PORT=$((20000 + $(port_of "$n")))" \
    "RABBITMQ_MNESIA_BASE=$dir/mnesia" \
    "RABBITMQ_LOG_BASE=$dir/log" \
    "RABBITMQ_PID_FILE=$dir/pid" \
    "RABBITMQ_CONFIG_FILE=$dir/rabbitmq" \
    "RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins" \
    "ERL_EPMD_ADDRESS=127.0.0.1"
}

running() { ctl "$1" status >/dev/null 2>&1; }

start_node() {
  local n=$1 dir="$STATE/node-$1"
  if running "$n"; then return 0; fi
  mkdir -p "$dir/mnesia" "$dir/log"
  printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$(port_of "$n")" >"$dir/rabbitmq.conf"
  echo '[].' >"$dir/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$STATE" 2>/dev/null || true
  # shellcheck disable=SC2046
  env $(node_env "$n") rabbitmq-server -detached >>"$dir/start.log" 2>&1
  local deadline=$((SECONDS + 120))
  until running "$n"; do
    ((SECONDS < deadline)) || { log "node $n did not start; see $dir/log and $dir/start.log"; exit 1; }
    sleep 1
  done
  ctl "$n" await_startup >/dev/null
}

members() { ctl 1 cluster_status --formatter json 2>/dev/null | tr ',' '\n' | grep -c 'lh-rmq-' || true; }

cmd_start() {
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in 2 3; do
    if ! ctl "$n" cluster_status --formatter json 2>/dev/null | grep -q "lh-rmq-1@localhost"; then
      ctl "$n" stop_app >/dev/null 2>&1
      ctl "$n" reset >/dev/null 2>&1
      ctl "$n" join_cluster "$(node_name 1)" >/dev/null 2>&1
      ctl "$n" start_app >/dev/null 2>&1
    fi
  done
  log "running: $(cmd_urls)"
}

cmd_stop() {
  for n in "${NODES[@]}"; do
    if running "$n"; then ctl "$n" stop >/dev/null 2>&1 || true; fi
    # A node still waiting for its peers' tables does not answer `stop`: end it by its pid file.
    local pid_file="$STATE/node-$n/pid"
    if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      kill "$(cat "$pid_file")" 2>/dev/null || true
      sleep 1
    fi
  done
  rm -rf "$STATE"
}

cmd_status() {
  for n in "${NODES[@]}"; do running "$n" || { echo "node $n stopped"; exit 1; }; done
  for n in 2 3; do
    ctl "$n" cluster_status --formatter json 2>/dev/null | grep -q "lh-rmq-1@localhost" || { echo "node $n not joined"; exit 1; }
  done
  echo "running"
}

cmd_urls() {
  local urls=()
  for n in "${NODES[@]}"; do urls+=("amqp://guest:guest@127.0.0.1:$(port_of "$n")"); done
  (IFS=,; echo "${urls[*]}")
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  urls) cmd_urls ;;
  stop-node) ctl "${2:?node number}" stop_app >/dev/null ;;
  start-node) ctl "${2:?node number}" start_app >/dev/null ;;
  *) echo "usage: $0 start|stop|status|urls|stop-node N|start-node N" >&2; exit 2 ;;
esac
