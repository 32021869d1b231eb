#!/usr/bin/env bash
# kafka.sh — real Apache Kafka (KRaft) on loopback for commitbench's `local`
# broker, from jars resolved out of Maven Central (no tarball download).
#
#   scripts/kafka.sh fetch                        resolve the pinned Kafka jars into the cache
#   scripts/kafka.sh start [--nodes 1|3] [--dir DIR]
#                                                 format, start, wait for the broker, print bootstrap
#   scripts/kafka.sh stop [--dir DIR]             stop what `start` started (by PID)
#   scripts/kafka.sh libs                         print the jar directory (for tools)
#
# Environment: KAFKA_VERSION (pinned below), KAFKA_CACHE (default
# <repo>/.cache/kafka; jars land in $KAFKA_CACHE/<version>/libs),
# KAFKA_READY_TIMEOUT seconds (default 90), KAFKA_HEAP (default 512m).
#
# The Go provider (bench/broker/local.go) starts Kafka itself from the same
# cache and the same settings; keep the two in step.
set -euo pipefail

# Pinned: the newest 4.x that Maven Central served when this was written.
# bench/broker/local.go's DefaultKafkaVersion must name the same version.
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA_VERSION=2.13
# Kafka 4 logs through slf4j 1.7 (its poms pin slf4j-api 1.7.36), so the
# log4j2 binding is log4j-slf4j-impl, not log4j-slf4j2-impl.
LOG4J_VERSION=2.25.2
DEP_PLUGIN_VERSION=3.8.1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_CACHE="${KAFKA_CACHE:-$ROOT/.cache/kafka}"
LIBS="$KAFKA_CACHE/$KAFKA_VERSION/libs"
READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-90}"
HEAP="${KAFKA_HEAP:-512m}"

die() { echo "kafka.sh: $*" >&2; exit 1; }

need_java() {
  command -v java >/dev/null 2>&1 ||
    die "Java is not installed; install openjdk-17-jre-headless (apt-get install -y openjdk-17-jre-headless)"
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [[ -n "$v" && "$v" -ge 17 ]] ||
    die "Java ${v:-?} is too old for Kafka 4; install openjdk-17-jre-headless"
}

need_libs() {
  [[ -f "$LIBS/.complete" ]] ||
    die "Kafka $KAFKA_VERSION jars are not in $LIBS; run scripts/kafka.sh fetch (or make kafka)"
}

# ---------------------------------------------------------------- fetch

cmd_fetch() {
  need_java
  if [[ -f "$LIBS/.complete" ]]; then
    echo "Kafka $KAFKA_VERSION jars already in $LIBS"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 ||
    die "Maven is not installed; install maven (apt-get install -y maven) to resolve Kafka's jars"
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/kafka-fetch.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>commitbench</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  echo "resolving Kafka $KAFKA_VERSION from Maven Central into $LIBS ..."
  mkdir -p "$(dirname "$LIBS")"
  rm -rf "$LIBS.partial"
  if ! mvn -B -q -f "$work/pom.xml" "org.apache.maven.plugins:maven-dependency-plugin:$DEP_PLUGIN_VERSION:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$LIBS.partial" >"$work/mvn.log" 2>&1; then
    if grep -qiE 'No plugin found|Unknown ?host|UnknownHostException|Connection (refused|timed out)|Network is unreachable|Could not transfer|transfer failed|No route to host' "$work/mvn.log"; then
      die "Maven Central is unreachable ($(grep -m1 -oiE '(Unknown ?host|Connection (refused|timed out)|Network is unreachable|No route to host|Could not transfer)[^]]{0,80}' "$work/mvn.log" | head -n1)); check the network or point ~/.m2/settings.xml at a reachable mirror, then rerun scripts/kafka.sh fetch"
    fi
    tail -n 20 "$work/mvn.log" >&2
    die "mvn could not resolve Kafka $KAFKA_VERSION (log above); check the version exists on Maven Central"
  fi
  ls "$LIBS.partial"/kafka_"$SCALA_VERSION"-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
    die "mvn finished but kafka_$SCALA_VERSION-$KAFKA_VERSION.jar is missing from $LIBS.partial"
  echo "$KAFKA_VERSION" >"$LIBS.partial/.complete"
  rm -rf "$LIBS"
  mv "$LIBS.partial" "$LIBS"
  echo "Kafka $KAFKA_VERSION: $(find "$LIBS" -name '*.jar' | wc -l) jars in $LIBS"
}

# ---------------------------------------------------------------- start / stop

# is_port_free PORT: nothing on 127.0.0.1 accepts connections there.
is_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port: a port nothing listens on, not yet handed out by this run,
# below the kernel's ephemeral range: the nodes' own outgoing connections take
# ephemeral ports and would otherwise steal a listener port before its bind.
# (A port can still be taken between this check and Kafka's bind; the start
# then fails with "Address already in use" in the node's log.)
CHOSEN=" "
free_port() {
  local p i lo=32768 span
  [[ -r /proc/sys/net/ipv4/ip_local_port_range ]] && read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  span=$((lo - 10000))
  ((span >= 1000)) || die "the ephemeral port range starts at $lo; free ports below it are too few (use --port)"
  for ((i = 0; i < 200; i++)); do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
    if [[ "$CHOSEN" != *" $p "* ]] && is_port_free "$p"; then
      CHOSEN+="$p "
      echo "$p"
      return 0
    fi
  done
  die "found no free port on 127.0.0.1 after 200 tries"
}

# probe PORT: the node answers an ApiVersions request (Kafka enables request
# processing only when its start-up is complete). The request is hand-encoded:
# size 13, api key 18, version 0, correlation id 1, client id "cbp".
probe() {
  local out
  out="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "\x00\x00\x00\x0d\x00\x12\x00\x00\x00\x00\x00\x01\x00\x03cbp" >&3
    head -c 10 <&3 | od -An -tx1' "$1" 2>/dev/null)" || return 1
  # response: size (4 bytes), correlation id 1, error code 0
  [[ "$(echo $out | cut -d' ' -f5-10)" == "00 00 00 01 00 00" ]]
}

# alive PID: PID is a running (not zombie) Kafka node, not a recycled PID.
alive() {
  [[ -n "$1" && "$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" == *kafka.Kafka* ]] &&
    ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# stop_pids PIDFILE: SIGTERM every Kafka process listed, SIGKILL after 30 s.
stop_pids() {
  local pidfile="$1" pid left i
  [[ -f "$pidfile" ]] || return 0
  local pids=()
  while read -r _ pid; do
    [[ -n "$pid" ]] && alive "$pid" && pids+=("$pid")
  done <"$pidfile"
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    left=()
    for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
    ((${#left[@]})) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if alive "$pid"; then
      echo "kafka.sh: pid $pid did not stop within 30 s of SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$pidfile"
}

cmd_start() {
  local nodes=1 dir="$KAFKA_CACHE/run" port=0
  while (($#)); do
    case "$1" in
      --nodes) nodes="${2:?--nodes needs 1 or 3}"; shift 2 ;;
      --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
      --port) port="${2:?--port needs a port}"; shift 2 ;;
      *) die "start: unknown argument $1 (use --nodes 1|3, --dir DIR, --port FIRST_CLIENT_PORT)" ;;
    esac
  done
  [[ "$nodes" == 1 || "$nodes" == 3 ]] || die "start: --nodes must be 1 or 3, not $nodes"
  need_java
  need_libs
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [[ -f "$dir/pids" ]]; then
    while read -r _ pid; do
      alive "$pid" && die "Kafka already runs from $dir (pid $pid); run scripts/kafka.sh stop --dir $dir first"
    done <"$dir/pids"
    rm -f "$dir/pids"
  fi
  rm -rf "$dir"/node* "$dir/logs"
  mkdir -p "$dir/logs"

  # Ports: client and controller listener per node, all on 127.0.0.1.
  local -a cport kport
  local i
  for ((i = 1; i <= nodes; i++)); do
    if ((port)); then
      cport[i]=$((port + 2 * (i - 1)))
      kport[i]=$((port + 2 * (i - 1) + 1))
      is_port_free "${cport[i]}" || die "port 127.0.0.1:${cport[i]} is taken; choose another --port or omit it for free ports"
      is_port_free "${kport[i]}" || die "port 127.0.0.1:${kport[i]} is taken; choose another --port or omit it for free ports"
    else
      cport[i]="$(free_port)"
      CHOSEN+="${cport[i]} "
      kport[i]="$(free_port)"
      CHOSEN+="${kport[i]} "
    fi
  done
  local voters="" bootstrap=""
  for ((i = 1; i <= nodes; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:${kport[i]}"
    bootstrap+="${bootstrap:+,}127.0.0.1:${cport[i]}"
  done
  local rf=1 isr=1
  ((nodes == 3)) && rf=3 isr=2

  # Cluster id: 16 random bytes, URL-safe base64 without padding (22 chars),
  # not starting with '-' (the storage tool would take it for an option).
  local cluster=-
  while [[ "$cluster" == -* ]]; do
    cluster="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done

  # The same logging as the container image: Kafka's log to stdout, which
  # goes to the node's log file.
  cp "$ROOT/scripts/kafka-image/log4j2.properties" "$dir/log4j2.properties"
  cleanup_failed() { stop_pids "$dir/pids"; }
  for ((i = 1; i <= nodes; i++)); do
    mkdir -p "$dir/node$i/data"
    cat >"$dir/node$i/server.properties" <<PROPS
# commitbench local broker: node $i of $nodes, KRaft combined broker+controller, loopback only.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${cport[i]},CONTROLLER://127.0.0.1:${kport[i]}
advertised.listeners=PLAINTEXT://127.0.0.1:${cport[i]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node$i/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
group.consumer.min.session.timeout.ms=1000
group.consumer.min.heartbeat.interval.ms=100
PROPS
    java -cp "$LIBS/*" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      -Dlog4j2.configurationFile="$dir/log4j2.properties" \
      kafka.tools.StorageTool format --config "$dir/node$i/server.properties" \
      --cluster-id "$cluster" >"$dir/logs/format$i.log" 2>&1 ||
      { cat "$dir/logs/format$i.log" >&2; die "formatting node $i's storage failed (log above, $dir/logs/format$i.log)"; }
  done

  local t0=$SECONDS
  trap cleanup_failed EXIT
  for ((i = 1; i <= nodes; i++)); do
    # Kafka's own default collector, with one GC thread each for 2 cores
    # (the same flags as bench/broker/local.go).
    nohup java -Xms${HEAP} -Xmx${HEAP} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:ParallelGCThreads=1 -XX:ConcGCThreads=1 \
      -XX:CICompilerCount=2 -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.properties" \
      -cp "$LIBS/*" kafka.Kafka "$dir/node$i/server.properties" \
      >"$dir/logs/node$i.log" 2>&1 </dev/null &
    echo "$i $!" >>"$dir/pids"
    echo "node $i: pid $!, log $dir/logs/node$i.log" >&2
  done

  local ready
  while :; do
    ready=0
    for ((i = 1; i <= nodes; i++)); do
      local pid
      pid="$(awk -v n="$i" '$1 == n { print $2 }' "$dir/pids")"
      if ! alive "$pid"; then
        tail -n 30 "$dir/logs/node$i.log" >&2
        grep -q 'Address already in use' "$dir/logs/node$i.log" &&
          die "node $i could not bind its port (taken since it was chosen); run start again"
        die "node $i (pid $pid) exited during start-up; log tail above, full log $dir/logs/node$i.log"
      fi
      probe "${cport[i]}" && ready=$((ready + 1))
    done
    ((ready == nodes)) && break
    if ((SECONDS - t0 >= READY_TIMEOUT)); then
      for ((i = 1; i <= nodes; i++)); do
        echo "--- node $i: $dir/logs/node$i.log" >&2
        tail -n 15 "$dir/logs/node$i.log" >&2
      done
      die "Kafka did not answer on $bootstrap within ${READY_TIMEOUT}s; stopped what was started (logs above)"
    fi
    sleep 0.5
  done
  trap - EXIT
  echo "$bootstrap" >"$dir/bootstrap"
  echo "Kafka $KAFKA_VERSION: $nodes node(s) ready in $((SECONDS - t0))s; logs in $dir/logs/" >&2
  echo "stop with: scripts/kafka.sh stop --dir $dir" >&2
  echo "$bootstrap"
}

cmd_stop() {
  local dir="$KAFKA_CACHE/run"
  while (($#)); do
    case "$1" in
      --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
      *) die "stop: unknown argument $1 (use --dir DIR)" ;;
    esac
  done
  [[ -f "$dir/pids" ]] || { echo "kafka.sh: no pid file in $dir; nothing to stop" >&2; return 0; }
  stop_pids "$dir/pids"
  echo "stopped Kafka in $dir" >&2
}

case "${1:-}" in
  fetch) shift; cmd_fetch "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  libs) need_libs; echo "$LIBS" ;;
  version) echo "$KAFKA_VERSION" ;;
  *) die "usage: scripts/kafka.sh fetch | start [--nodes 1|3] [--dir DIR] [--port P] | stop [--dir DIR] | libs | version" ;;
esac
