#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for dev and CI.
#
#   scripts/infra/kafka.sh up       # download (first time only), format (first time only), start, wait until it answers
#   scripts/infra/kafka.sh status   # one line; exit 0 when running, 1 when stopped
#   scripts/infra/kafka.sh down     # SIGTERM, wait up to ~30 s, then SIGKILL
#   scripts/infra/kafka.sh logs [-f]
#
# Why jars from Maven Central instead of a container or the release tarball: this project's machines have
# no Docker and reach only package registries, and Maven Central is one of them. Maven resolves the exact
# runtime classpath of kafka_2.13, which is all `kafka.Kafka` needs.
#
# Environment:
#   KAFKA_BROKERS           if set, an external broker is used: `up` does nothing
#   KAFKA_PORT              broker (PLAINTEXT) port on 127.0.0.1, default 39092
#   KAFKA_CONTROLLER_PORT   KRaft controller port on 127.0.0.1, default 39093
#   HRS_CACHE_DIR           jar cache root, default ~/.cache/helm-rollback-service
#   HRS_RUN_DIR             runtime root (config, data, logs, pid), default $HRS_CACHE_DIR/run
#   KAFKA_HEAP_OPTS         JVM heap flags, default "-Xms256m -Xmx512m" (machines have 2 cores, stay small)
#   KAFKA_START_TIMEOUT     seconds `up` waits for the broker to answer, default 90
set -euo pipefail

# Newest 4.x on Maven Central at the time of writing. kafkajs 2.2.4 (the client the service uses) was
# checked against it: admin create/delete topics, produce, consumer-group consume from beginning, and a
# 5 MB message all pass. kafkajs only speaks the "classic" group protocol and older API versions; Kafka 4
# removed some very old versions (KIP-896) but still serves the ones kafkajs negotiates via ApiVersions.
KAFKA_VERSION="4.4.0"
SCALA_BINARY_VERSION="2.13"
# kafka_2.13 4.x declares slf4j-api 1.7.x, which binds through log4j-slf4j-impl (the SLF4J 1 binding);
# log4j-slf4j2-impl would leave SLF4J 1.7 without a binding and the broker silent. Same version as the
# log4j-core that kafka-server-common pulls in, so the two never disagree.
LOG4J_VERSION="2.25.5"
SLF4J_BINDING_ARTIFACT="log4j-slf4j-impl"
MAVEN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

HOST="127.0.0.1"
PORT="${KAFKA_PORT:-39092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-39093}"
CACHE_ROOT="${HRS_CACHE_DIR:-$HOME/.cache/helm-rollback-service}"
CACHE_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIB_DIR="$CACHE_DIR/lib"
TOOLS_DIR="$CACHE_DIR/tools"
RUN_DIR="${HRS_RUN_DIR:-$CACHE_ROOT/run}/kafka"
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
PID_FILE="$RUN_DIR/kafka.pid"
CONFIG_FILE="$RUN_DIR/server.properties"
LOG4J_CONFIG="$RUN_DIR/log4j2.xml"
TOOLS_LOG4J_CONFIG="$RUN_DIR/log4j2-tools.xml"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
# 8 MiB: tests send a 5 MB poison message; the broker must accept it (message.max.bytes) and followers /
# fetchers must be able to read it back (replica.fetch.max.bytes >= message.max.bytes).
MAX_MESSAGE_BYTES=8388608

log() { echo "kafka.sh: $*"; }
die() { echo "kafka.sh: $*" >&2; exit 1; }

need_java() {
  command -v java >/dev/null 2>&1 || die "java not found on PATH; Kafka $KAFKA_VERSION needs a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
  major="${major#1.}"
  [[ "$major" =~ ^[0-9]+$ ]] || die "could not tell the Java version of $(command -v java)"
  ((major >= 17)) || die "java $major found; Kafka $KAFKA_VERSION needs Java 17+"
}

# Only the cold start needs Maven; a warm cache runs with java alone.
need_mvn() {
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH; it is needed once to fetch the Kafka $KAFKA_VERSION jars into $CACHE_DIR (e.g. apt-get install maven)"
}

is_ours() {
  # A pid file can outlive its process and the pid can be reused; only trust it while it is still our broker.
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $CONFIG_FILE"
}

running_pid() {
  local pid=""
  [[ -f "$PID_FILE" ]] && pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && is_ours "$pid"; then
    echo "$pid"
    return 0
  fi
  # Pid file lost (e.g. run dir cleaned while running): look for our exact command line, so a second
  # broker is never started onto the same data dir.
  pid="$(pgrep -f "kafka.Kafka $CONFIG_FILE" 2>/dev/null | head -n1 || true)"
  if [[ -n "$pid" ]] && is_ours "$pid"; then
    echo "$pid" >"$PID_FILE"
    echo "$pid"
    return 0
  fi
  return 1
}

port_open() {
  # bash's /dev/tcp needs no extra tools; the subshell keeps the fd from leaking.
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

classpath() { echo "$LIB_DIR/*"; }

fetch_jars() {
  [[ -f "$CACHE_DIR/.complete" ]] && return 0
  need_mvn
  mkdir -p "$CACHE_DIR"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $CACHE_DIR (first run only)"
  cat >"$CACHE_DIR/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/infra/kafka.sh: only used to resolve the broker's runtime classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.hrs</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$SCALA_BINARY_VERSION</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>$SLF4J_BINDING_ARTIFACT</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  # Copy into a temp dir and rename, so an interrupted download never looks like a complete cache.
  rm -rf "$CACHE_DIR/lib.tmp"
  if ! mvn -q -B -f "$CACHE_DIR/pom.xml" "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$CACHE_DIR/lib.tmp" >"$CACHE_DIR/mvn.log" 2>&1; then
    tail -n 30 "$CACHE_DIR/mvn.log" >&2
    die "maven could not fetch the Kafka jars (full output: $CACHE_DIR/mvn.log)"
  fi
  [[ -f "$CACHE_DIR/lib.tmp/kafka_$SCALA_BINARY_VERSION-$KAFKA_VERSION.jar" ]] ||
    die "maven finished but kafka_$SCALA_BINARY_VERSION-$KAFKA_VERSION.jar is missing in $CACHE_DIR/lib.tmp"
  # A mismatched binding makes the broker log nothing at all; fail loudly instead if a version bump
  # moved Kafka to SLF4J 2 (then use log4j-slf4j2-impl above).
  if ls "$CACHE_DIR/lib.tmp"/slf4j-api-2.* >/dev/null 2>&1 && [[ "$SLF4J_BINDING_ARTIFACT" == "log4j-slf4j-impl" ]]; then
    die "Kafka $KAFKA_VERSION resolves slf4j-api 2.x: set SLF4J_BINDING_ARTIFACT=log4j-slf4j2-impl in this script"
  fi
  rm -rf "$LIB_DIR"
  mv "$CACHE_DIR/lib.tmp" "$LIB_DIR"
  touch "$CACHE_DIR/.complete"
}

# A real metadata round trip (AdminClient describeCluster + listTopics) rather than just an open port:
# the port opens before the broker has caught up with the KRaft metadata log and can serve clients.
# Compiled once into the cache (again only when this source changes) so a check costs one JVM start.
build_ready_check() {
  mkdir -p "$TOOLS_DIR"
  cat >"$TOOLS_DIR/KafkaReadyCheck.java.new" <<'EOF'
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;

/**
 * Usage: KafkaReadyCheck bootstrap timeoutSeconds pidToWatch|- [warm-groups].
 * Exit 0 once the broker serves metadata; 1 on timeout; 2 if the watched process died.
 */
public class KafkaReadyCheck {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
    Long pid = args.length > 2 && !args[2].equals("-") ? Long.valueOf(args[2]) : null;
    boolean warmGroups = args.length > 3 && args[3].equals("warm-groups");
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("client.id", "kafka-sh-ready-check");
    props.put("request.timeout.ms", "3000");
    props.put("default.api.timeout.ms", "5000");
    props.put("reconnect.backoff.max.ms", "500");
    String last = "no attempt";
    try (Admin admin = Admin.create(props)) {
      while (System.nanoTime() < deadline) {
        if (pid != null && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          System.err.println("broker process " + pid + " exited");
          System.exit(2);
        }
        try {
          DescribeClusterResult cluster = admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000));
          String clusterId = cluster.clusterId().get(4, TimeUnit.SECONDS);
          int brokers = cluster.nodes().get(4, TimeUnit.SECONDS).size();
          admin.listTopics(new ListTopicsOptions().timeoutMs(3000)).names().get(4, TimeUnit.SECONDS);
          if (brokers > 0) {
            String groups = "";
            if (warmGroups) {
              // FindCoordinator makes the broker create __consumer_offsets now rather than while the
              // first test's consumer waits (kafkajs logs "group coordinator is not available" meanwhile).
              int ms = (int) Math.max(2000, Math.min(30000, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
              admin.listConsumerGroupOffsets("kafka-sh-warmup", new ListConsumerGroupOffsetsOptions().timeoutMs(ms))
                  .partitionsToOffsetAndMetadata().get(ms + 1000L, TimeUnit.MILLISECONDS);
              groups = ", group coordinator ready";
            }
            System.out.println("cluster " + clusterId + ", " + brokers + " broker(s)" + groups);
            return;
          }
          last = "no brokers registered yet";
        } catch (Exception e) {
          last = String.valueOf(e.getCause() != null ? e.getCause() : e);
        }
        Thread.sleep(500);
      }
    }
    System.err.println("broker at " + bootstrap + " did not answer metadata requests: " + last);
    System.exit(1);
  }
}
EOF
  if [[ -f "$TOOLS_DIR/KafkaReadyCheck.class" ]] && cmp -s "$TOOLS_DIR/KafkaReadyCheck.java.new" "$TOOLS_DIR/KafkaReadyCheck.java"; then
    rm -f "$TOOLS_DIR/KafkaReadyCheck.java.new"
    return 0
  fi
  mv "$TOOLS_DIR/KafkaReadyCheck.java.new" "$TOOLS_DIR/KafkaReadyCheck.java"
  command -v javac >/dev/null 2>&1 ||
    die "javac not found; the readiness check needs a full JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless)"
  javac -nowarn -cp "$(classpath)" -d "$TOOLS_DIR" "$TOOLS_DIR/KafkaReadyCheck.java" >/dev/null ||
    die "could not compile the readiness check in $TOOLS_DIR"
}

ready_check() { # timeout_seconds pid|- [warm-groups]
  java -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="$TOOLS_LOG4J_CONFIG" \
    -cp "$TOOLS_DIR:$(classpath)" KafkaReadyCheck "$HOST:$PORT" "$@"
}

write_configs() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  # Rewritten on every start so KAFKA_PORT / KAFKA_CONTROLLER_PORT changes take effect. A static voter
  # list (not --standalone's dynamic quorum) keeps the controller address out of the formatted metadata,
  # so a later port change does not strand the data dir.
  cat >"$CONFIG_FILE" <<EOF
# Generated by scripts/infra/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

# One node: every internal topic must accept replication factor 1 or groups/transactions never work.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests start consumers and expect them to get partitions at once, not after the 3 s default delay.
group.initial.rebalance.delay.ms=0
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true

message.max.bytes=$MAX_MESSAGE_BYTES
replica.fetch.max.bytes=$MAX_MESSAGE_BYTES
replica.fetch.response.max.bytes=$((MAX_MESSAGE_BYTES * 2))

# Two cores on the dev/CI machines: fewer threads, and a dev broker has no business keeping data long.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=104857600
EOF
  cat >"$LOG4J_CONFIG" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/infra/kafka.sh. INFO to a size-capped file so a long-lived dev broker cannot fill the disk. -->
<Configuration status="WARN">
  <Appenders>
    <RollingFile name="server" fileName="$LOG_DIR/server.log" filePattern="$LOG_DIR/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="20 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <!-- Chatty at INFO and bury the lines that matter. -->
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
EOF
  # The readiness check's AdminClient warns on every refused connection while the broker boots.
  cat >"$TOOLS_LOG4J_CONFIG" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="ERROR">
  <Appenders><Console name="err" target="SYSTEM_ERR"><PatternLayout pattern="%p %m%n"/></Console></Appenders>
  <Loggers><Root level="ERROR"><AppenderRef ref="err"/></Root></Loggers>
</Configuration>
EOF
}

format_storage() {
  # Formatting twice would fail (or, with --ignore-formatted, hide a wrong data dir); meta.properties
  # is what StorageTool writes, so its presence means "already formatted".
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$(java -Xmx128m -Dlog4j2.configurationFile="$TOOLS_LOG4J_CONFIG" -cp "$(classpath)" kafka.tools.StorageTool random-uuid)"
  log "formatting $DATA_DIR (cluster id $cluster_id)"
  java -Xmx256m -Dlog4j2.configurationFile="$TOOLS_LOG4J_CONFIG" -cp "$(classpath)" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG_FILE" >"$LOG_DIR/format.log" 2>&1 || {
    cat "$LOG_DIR/format.log" >&2
    die "storage format failed"
  }
}

show_log_tail() {
  echo "---- last lines of $LOG_DIR/server.log ----" >&2
  tail -n 40 "$LOG_DIR/server.log" >&2 2>/dev/null || true
  if [[ -s "$LOG_DIR/stdout.log" ]]; then
    echo "---- last lines of $LOG_DIR/stdout.log ----" >&2
    tail -n 20 "$LOG_DIR/stdout.log" >&2 || true
  fi
}

cmd_up() {
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then
    log "KAFKA_BROKERS=$KAFKA_BROKERS is set: using that external broker, not starting one"
    return 0
  fi
  need_java
  mkdir -p "$RUN_DIR"
  # Two concurrent `up`s (e.g. parallel test jobs) must not both format and start a broker.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$RUN_DIR/.lock"
    flock -w 120 9 || die "another kafka.sh is holding $RUN_DIR/.lock"
  fi

  local pid
  if pid="$(running_pid)"; then
    build_ready_check
    if ready_check 30 "$pid" >/dev/null; then
      log "already running on $HOST:$PORT (pid $pid)"
      return 0
    fi
    show_log_tail
    die "broker pid $pid is running but not answering on $HOST:$PORT; try: $0 down && $0 up"
  fi
  rm -f "$PID_FILE"
  if port_open "$HOST" "$PORT" || port_open "$HOST" "$CONTROLLER_PORT"; then
    die "port $PORT or $CONTROLLER_PORT on $HOST is taken by a process this script did not start; set KAFKA_PORT/KAFKA_CONTROLLER_PORT or KAFKA_BROKERS"
  fi

  fetch_jars
  write_configs
  build_ready_check
  format_storage

  log "starting Kafka $KAFKA_VERSION on $HOST:$PORT (controller $CONTROLLER_PORT), data in $RUN_DIR"
  # setsid + nohup: the broker must outlive this script and the terminal/CI step that ran it, and not
  # get the caller's Ctrl-C. stdout.log catches what happens before log4j is up (JVM errors, OOM).
  # 9>&- : the broker must not inherit the flock fd, or it would hold the lock for its whole life and
  # block every later `up`. log4j2's own shutdown hook would race Kafka's and cut off the shutdown log.
  # shellcheck disable=SC2086 # HEAP_OPTS is a list of flags
  nohup setsid java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j2.shutdownHookEnabled=false -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$(classpath)" kafka.Kafka "$CONFIG_FILE" </dev/null >"$LOG_DIR/stdout.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  # The port opens a moment before the broker serves metadata; poll cheaply for it first so the JVM of
  # the real check starts only once there is something to talk to.
  local start=$SECONDS
  until port_open "$HOST" "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail
      rm -f "$PID_FILE"
      die "broker exited during startup"
    fi
    if ((SECONDS - start >= START_TIMEOUT)); then
      show_log_tail
      die "broker did not open $HOST:$PORT within ${START_TIMEOUT}s (pid $pid still running; '$0 down' stops it)"
    fi
    sleep 0.5
  done
  local left=$((START_TIMEOUT - (SECONDS - start)))
  ((left < 5)) && left=5
  local info
  if ! info="$(ready_check "$left" "$pid" warm-groups)"; then
    show_log_tail
    kill -0 "$pid" 2>/dev/null || rm -f "$PID_FILE"
    die "broker did not answer metadata requests within ${START_TIMEOUT}s"
  fi
  log "running on $HOST:$PORT (pid $pid, $info, ready in $((SECONDS - start))s); export KAFKA_BROKERS=$HOST:$PORT"
}

cmd_status() {
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then
    echo "external broker $KAFKA_BROKERS (KAFKA_BROKERS is set)"
    return 0
  fi
  local pid
  if pid="$(running_pid)"; then
    if port_open "$HOST" "$PORT"; then
      echo "running on $HOST:$PORT (pid $pid)"
      return 0
    fi
    echo "starting (pid $pid), not yet listening on $HOST:$PORT"
    return 1
  fi
  echo "stopped"
  return 1
}

cmd_down() {
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then
    log "KAFKA_BROKERS is set: the external broker is not ours to stop"
    return 0
  fi
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping pid $pid"
  # SIGTERM runs Kafka's shutdown hook: it flushes logs and writes a clean-shutdown marker, which makes
  # the next start skip log recovery.
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_logs() {
  [[ -f "$LOG_DIR/server.log" ]] || die "no log yet at $LOG_DIR/server.log"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 100 -F "$LOG_DIR/server.log"
  fi
  cat "$LOG_DIR/server.log"
}

case "${1:-}" in
up) cmd_up ;;
status) cmd_status ;;
down) cmd_down ;;
logs) cmd_logs "${2:-}" ;;
*)
  echo "usage: $0 up|status|down|logs [-f]" >&2
  exit 2
  ;;
esac
