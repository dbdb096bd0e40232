#!/usr/bin/env bash
# Real Apache Kafka brokers (KRaft, combined broker+controller) on 127.0.0.1, without Docker.
#
#   scripts/kafka.sh fetch   download the jars from Maven Central once (deploy/kafka/pom.xml)
#   scripts/kafka.sh up      fetch, format (first time) and start; waits until the broker answers;
#                            a second `up` leaves a running broker alone (and starts a stopped
#                            node of a cluster again)
#   scripts/kafka.sh down    stop it (data is kept; `clean` deletes it)
#   scripts/kafka.sh status  exit 0 when running (every node of a cluster)
#   scripts/kafka.sh classpath   print the classpath (for the perf tools)
#
# Modes (a flag after the command, e.g. `scripts/kafka.sh up --secure`):
#   (none)     the local dev/test broker: PLAINTEXT on 127.0.0.1:9092, no auth (loopback only)
#   --secure   one broker with SASL/SCRAM-SHA-512 on 127.0.0.1:19092 and ACLs (StandardAuthorizer,
#              deny when no ACL matches). SCRAM users admin (super user), ingest, scoring and
#              ledger are created at format time with random passwords written to
#              $GREENCHAIN_KAFKA_HOME/credentials/<user>.password; the controller listener uses
#              SASL/PLAIN with a static controller user. ACLs per service principal:
#              `python -m greenchain.common.kafka_acls` (docs/security.md).
#   --cluster  three nodes (node ids 1-3, each broker+controller) on 127.0.0.1:19192-19194
#              (controllers 19292-19294): topics with replication 3 and min.insync.replicas=2.
#              PLAINTEXT unless --secure is given too.
#
# Environment (defaults in brackets):
#   GREENCHAIN_KAFKA_HOME [.cache/kafka, .cache/kafka-secure, .cache/kafka-cluster]  one instance
#                      per home: node data, logs and pid files under it
#   KAFKA_PORT [9092 | 19092 | 19192]  first broker port (a cluster's nodes take the next ones)
#   KAFKA_CONTROLLER_PORT [9093 | 19093 | 19292]  first controller port   KAFKA_HEAP [512m]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB=${GREENCHAIN_KAFKA_LIB:-$ROOT/.cache/kafka/lib}
HEAP=${KAFKA_HEAP:-512m}

COMMAND=${1:-}
[ $# -gt 0 ] && shift
SECURE=0
NODES=1
for arg in "$@"; do
  case "$arg" in
    --secure) SECURE=1 ;;
    --cluster) NODES=3 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

if [ "$NODES" = 3 ]; then
  NAME=kafka-cluster; DEFAULT_PORT=19192; DEFAULT_CPORT=19292
elif [ "$SECURE" = 1 ]; then
  NAME=kafka-secure; DEFAULT_PORT=19092; DEFAULT_CPORT=19093
else
  NAME=kafka; DEFAULT_PORT=9092; DEFAULT_CPORT=9093
fi
HOME_DIR=${GREENCHAIN_KAFKA_HOME:-$ROOT/.cache/$NAME}
PORT=${KAFKA_PORT:-$DEFAULT_PORT}
CPORT=${KAFKA_CONTROLLER_PORT:-$DEFAULT_CPORT}
CREDENTIALS=$HOME_DIR/credentials
USERS="admin ingest scoring ledger"

log() { echo "kafka: $*" >&2; }

fetch() {
  if [ -f "$LIB/.complete" ]; then return; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to fetch Kafka"; exit 1; }
  command -v java >/dev/null || { log "Java 17 is needed to run Kafka"; exit 1; }
  log "fetching Apache Kafka jars into $LIB (once)"
  mkdir -p "$LIB"
  mvn -q -B -Dstyle.color=never -f "$ROOT/deploy/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIB" -DincludeScope=runtime
  touch "$LIB/.complete"
}

classpath() { fetch; echo "$LIB/*"; }

# One node's files. The single dev broker keeps the layout it always had (files in HOME_DIR).
node_dir() { if [ "$NODES" = 1 ]; then echo "$HOME_DIR"; else echo "$HOME_DIR/node-$1"; fi; }
node_port() { echo $((PORT + $1 - 1)); }
node_cport() { echo $((CPORT + $1 - 1)); }
pidfile() { echo "$(node_dir "$1")/kafka.pid"; }
logfile() { echo "$(node_dir "$1")/kafka.log"; }

running() { local p; p=$(pidfile "$1"); [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

bootstrap() {
  local out="" n
  for n in $(seq 1 "$NODES"); do out="$out${out:+,}127.0.0.1:$(node_port "$n")"; done
  echo "$out"
}

password() { cat "$CREDENTIALS/$1.password"; }

# Random passwords, made once per home and kept with it (0600): the tests and `make` targets
# read them back from these files, nothing else knows them.
make_credentials() {
  mkdir -p "$CREDENTIALS"
  chmod 700 "$CREDENTIALS"
  local user
  for user in $USERS controller; do
    if [ ! -f "$CREDENTIALS/$user.password" ]; then
      (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$CREDENTIALS/$user.password")
    fi
  done
  # for Kafka's own command-line tools (kafka-acls, perf tools): --command-config
  (umask 077; cat >"$CREDENTIALS/admin.properties" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(password admin)";
PROPS
  )
}

write_config() {
  local n=$1 dir; dir=$(node_dir "$n")
  local port; port=$(node_port "$n")
  local voters="" i
  for i in $(seq 1 "$NODES"); do voters="$voters${voters:+,}$i@127.0.0.1:$(node_cport "$i")"; done
  local rf=$(( NODES < 3 ? NODES : 3 )) isr=$(( NODES < 3 ? 1 : 2 ))
  mkdir -p "$dir/data"
  {
    cat <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
log.dirs=$dir/data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=-1
PROPS
    if [ "$SECURE" = 1 ]; then
      cat <<PROPS
listeners=SASL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$(node_cport "$n")
advertised.listeners=SASL://127.0.0.1:$port
listener.security.protocol.map=SASL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(password admin)";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$(password controller)" user_controller="$(password controller)";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
PROPS
    else
      cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$(node_cport "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
    fi
  } >"$dir/server.properties"
  chmod 600 "$dir/server.properties"
}

java_run() {
  java -Xms"$HEAP" -Xmx"$HEAP" -Dlog4j.configuration="file:$ROOT/deploy/kafka/log4j.properties" \
    -cp "$LIB/*" "$@"
}

format() {
  local n=$1 cluster_id=$2 dir; dir=$(node_dir "$n")
  [ -f "$dir/data/meta.properties" ] && return
  local scram=()
  if [ "$SECURE" = 1 ]; then
    local user
    for user in $USERS; do
      scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(password "$user")]")
    done
  fi
  java_run kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    "${scram[@]}" >>"$(logfile "$n")" 2>&1
}

start_node() {
  local n=$1 dir; dir=$(node_dir "$n")
  nohup java -Xms"$HEAP" -Xmx"$HEAP" -Dlog4j.configuration="file:$ROOT/deploy/kafka/log4j.properties" \
    -cp "$LIB/*" kafka.Kafka "$dir/server.properties" >>"$(logfile "$n")" 2>&1 </dev/null &
  echo $! >"$(pidfile "$n")"
}

up() {
  fetch
  mkdir -p "$HOME_DIR"
  [ "$SECURE" = 1 ] && make_credentials
  local n started=() cluster_id
  for n in $(seq 1 "$NODES"); do
    if running "$n"; then continue; fi
    if port_open "$(node_port "$n")"; then
      log "port $(node_port "$n") is taken by another process; set KAFKA_PORT or stop it"; exit 1
    fi
    started+=("$n")
  done
  if [ ${#started[@]} = 0 ]; then
    log "already running (pid $(cat "$(pidfile 1)"))"
    bootstrap
    return
  fi
  if [ -f "$HOME_DIR/cluster.id" ]; then
    cluster_id=$(cat "$HOME_DIR/cluster.id")
  else
    cluster_id=$(java_run kafka.tools.StorageTool random-uuid | tail -n 1)
    echo "$cluster_id" >"$HOME_DIR/cluster.id"
  fi
  declare -A start_line
  for n in "${started[@]}"; do
    mkdir -p "$(node_dir "$n")"
    write_config "$n"
    format "$n" "$cluster_id"
    start_line[$n]=$( (wc -l <"$(logfile "$n")" 2>/dev/null || echo 0) | tr -d ' ')
    start_node "$n"
  done
  # a cluster's nodes wait for a controller quorum: start them all, then wait for each
  for _ in $(seq 1 240); do
    local waiting=0
    for n in "${started[@]}"; do
      if ! running "$n"; then
        log "node $n exited during start-up; see $(logfile "$n")"; tail -n 20 "$(logfile "$n")" >&2
        exit 1
      fi
      if ! { tail -n +"$((start_line[$n] + 1))" "$(logfile "$n")" | grep -q "Kafka Server started" \
             && port_open "$(node_port "$n")"; }; then
        waiting=1
      fi
    done
    if [ "$waiting" = 0 ]; then
      log "up on $(bootstrap) (log $(logfile 1))"
      bootstrap
      return
    fi
    sleep 0.5
  done
  log "broker did not answer within 120 s; see $(logfile 1)"; exit 1
}

# SIGTERM to every running node at once, then wait for each (SIGKILL after 30 s). All at once:
# a node stopped after the others (or after one was killed) has no controller quorum left and
# waits in vain for its controlled shutdown.
down() {
  local n pids=() nodes=()
  for n in $(seq 1 "$NODES"); do
    if running "$n"; then
      pids+=("$(cat "$(pidfile "$n")")"); nodes+=("$n")
      kill "${pids[-1]}"
    else
      rm -f "$(pidfile "$n")"
    fi
  done
  if [ ${#pids[@]} = 0 ]; then log "not running"; return; fi
  local i
  for _ in $(seq 1 60); do
    local alive=0
    for i in "${!pids[@]}"; do kill -0 "${pids[$i]}" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      log "forcing stop of node ${nodes[$i]}"; kill -9 "${pids[$i]}"
    fi
    rm -f "$(pidfile "${nodes[$i]}")"
  done
  log "stopped"
}

status() {
  local n
  for n in $(seq 1 "$NODES"); do
    running "$n" || { log "not running (node $n)"; exit 1; }
  done
  log "running (pid $(cat "$(pidfile 1)")) on $(bootstrap)"
}

clean() {
  down
  local n
  for n in $(seq 1 "$NODES"); do
    local dir; dir=$(node_dir "$n")
    rm -rf "$dir/data" "$dir/kafka.log" "$dir/server.properties"
  done
  rm -rf "$HOME_DIR/cluster.id" "$CREDENTIALS"
}

case "$COMMAND" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  status) status ;;
  clean) clean ;;
  classpath) classpath ;;
  *) echo "usage: $0 fetch|up|down|status|clean|classpath [--secure] [--cluster]" >&2; exit 2 ;;
esac
