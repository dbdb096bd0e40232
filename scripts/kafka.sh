#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, combined broker+controller) on 127.0.0.1, without Docker.
#
#   scripts/kafka.sh fetch   download the jars from Maven Central once (deploy/kafka/pom.xml)
#   scripts/kafka.sh up      fetch, format (first time) and start; waits until the broker answers;
#                            a second `up` leaves the running broker alone
#   scripts/kafka.sh down    stop it (data is kept; `clean` deletes it)
#   scripts/kafka.sh status  exit 0 when running
#   scripts/kafka.sh classpath   print the classpath (for the perf tools)
#
# Environment (defaults in brackets):
#   GREENCHAIN_KAFKA_HOME [.cache/kafka]   jars in lib/, one broker instance per home
#   KAFKA_PORT [9092]  KAFKA_CONTROLLER_PORT [9093]  KAFKA_HEAP [512m]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOME_DIR=${GREENCHAIN_KAFKA_HOME:-$ROOT/.cache/kafka}
LIB=${GREENCHAIN_KAFKA_LIB:-$ROOT/.cache/kafka/lib}
PORT=${KAFKA_PORT:-9092}
CPORT=${KAFKA_CONTROLLER_PORT:-9093}
HEAP=${KAFKA_HEAP:-512m}
DATA=$HOME_DIR/data
LOG=$HOME_DIR/kafka.log
PIDFILE=$HOME_DIR/kafka.pid
CONF=$HOME_DIR/server.properties

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

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  mkdir -p "$DATA"
  cat > "$CONF" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=-1
PROPS
}

java_run() {
  java -Xms"$HEAP" -Xmx"$HEAP" -Dlog4j.configuration="file:$ROOT/deploy/kafka/log4j.properties" \
    -cp "$LIB/*" "$@"
}

up() {
  fetch
  mkdir -p "$HOME_DIR"
  if running; then
    log "already running (pid $(cat "$PIDFILE"))"
    echo "127.0.0.1:$PORT"
    return
  fi
  if port_open "$PORT"; then
    log "port $PORT is taken by another process; set KAFKA_PORT or stop it"; exit 1
  fi
  write_config
  if [ ! -f "$DATA/meta.properties" ]; then
    local id; id=$(java_run kafka.tools.StorageTool random-uuid | tail -n 1)
    java_run kafka.tools.StorageTool format -t "$id" -c "$CONF" >>"$LOG" 2>&1
  fi
  local start_line; start_line=$( (wc -l <"$LOG" 2>/dev/null || echo 0) | tr -d ' ')
  nohup java -Xms"$HEAP" -Xmx"$HEAP" -Dlog4j.configuration="file:$ROOT/deploy/kafka/log4j.properties" \
    -cp "$LIB/*" kafka.Kafka "$CONF" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 120); do
    if ! running; then log "broker exited during start-up; see $LOG"; tail -n 20 "$LOG" >&2; exit 1; fi
    if tail -n +"$((start_line + 1))" "$LOG" | grep -q "Kafka Server started" && port_open "$PORT"; then
      log "up on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), log $LOG)"
      echo "127.0.0.1:$PORT"
      return
    fi
    sleep 0.5
  done
  log "broker did not answer within 60 s; see $LOG"; exit 1
}

down() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return; fi
  local pid; pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { log "forcing stop"; kill -9 "$pid"; }
  rm -f "$PIDFILE"
  log "stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  status) running && { log "running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; exit 0; } || { log "not running"; exit 1; } ;;
  clean) down; rm -rf "$DATA" "$LOG" "$CONF" ;;
  classpath) classpath ;;
  *) echo "usage: $0 fetch|up|down|status|clean|classpath" >&2; exit 2 ;;
esac
