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
#   KAFKA_SECURE=1          the security profile instead: a second broker of its own (run dir kafka-secure,
#                           ports KAFKA_SECURE_PORT 39094 and KAFKA_SECURE_CONTROLLER_PORT 39095) with one
#                           SASL_SSL listener (SCRAM-SHA-512 and PLAIN; TLS from a CA of its own, pki/ca.crt)
#                           and ACLs enforced (StandardAuthorizer: nothing is allowed that no ACL allows). Its
#                           users and their passwords are in users.json of its run dir; `admin` is the super
#                           user that sets the ACLs. See secure_config below.
#   One node of a cluster (scripts/infra/kafka-cluster.sh sets these for each node; see there):
#   KAFKA_RUN_DIR           the node's run dir; KAFKA_NODE_ID its node.id (default 1); KAFKA_VOTERS the
#                           controller quorum (id@host:port,…; default this node alone); KAFKA_REPLICATION
#                           the replication factor of every topic (default 1; min.insync.replicas is 2 from
#                           2 nodes on); KAFKA_CLUSTER_ID the id the nodes share; KAFKA_WAIT=none: `up` starts
#                           the node without waiting for it (a quorum needs its peers first).
#   `ready`                 waits until KAFKA_READY_BOOTSTRAP serves metadata with KAFKA_READY_BROKERS nodes
set -euo pipefail
SCRIPT=kafka.sh
LOG_FD=1
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
SECURE="${KAFKA_SECURE:-0}"
CACHE_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIB_DIR="$CACHE_DIR/lib"
TOOLS_DIR="$CACHE_DIR/tools"
if [[ "$SECURE" == 1 ]]; then
  SCRIPT="kafka.sh (secure)"
  PORT="${KAFKA_SECURE_PORT:-39094}"
  CONTROLLER_PORT="${KAFKA_SECURE_CONTROLLER_PORT:-39095}"
  RUN_DIR="${HRS_RUN_DIR:-$CACHE_ROOT/run}/kafka-secure"
else
  PORT="${KAFKA_PORT:-39092}"
  CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-39093}"
  RUN_DIR="${KAFKA_RUN_DIR:-${HRS_RUN_DIR:-$CACHE_ROOT/run}/kafka}"
fi
NODE_ID="${KAFKA_NODE_ID:-1}"
VOTERS="${KAFKA_VOTERS:-$NODE_ID@$HOST:$CONTROLLER_PORT}"
REPLICATION="${KAFKA_REPLICATION:-1}"
MIN_ISR=1
if ((REPLICATION > 1)); then MIN_ISR=2; fi
PKI_DIR="$RUN_DIR/pki"
USERS_FILE="$RUN_DIR/users.json"
CLIENT_PROPERTIES="$RUN_DIR/client.properties"
# The security profile's users: the service's apps, an outsider, and the super user.
SECURE_USERS=(admin release-service api executor remediation outsider)
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
LOG_FILE="$LOG_DIR/server.log"
PID_FILE="$RUN_DIR/kafka.pid"
CONFIG_FILE="$RUN_DIR/server.properties"
LOG4J_CONFIG="$RUN_DIR/log4j2.xml"
TOOLS_LOG4J_CONFIG="$RUN_DIR/log4j2-tools.xml"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
if [[ "$SECURE" == 1 ]]; then HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}"; fi
# 8 MiB: tests send a 5 MB poison message; the broker must accept it (message.max.bytes) and followers /
# fetchers must be able to read it back (replica.fetch.max.bytes >= message.max.bytes).
MAX_MESSAGE_BYTES=8388608

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

broker_pid() { running_pid "$PID_FILE" "kafka.Kafka $CONFIG_FILE"; }

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
  # The source is a file of its own beside this script; compiled again only when it changed.
  cp "$(dirname "${BASH_SOURCE[0]}")/kafka/KafkaReadyCheck.java" "$TOOLS_DIR/KafkaReadyCheck.java.new"
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
  java -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="$TOOLS_LOG4J_CONFIG" -Dready.brokers="${KAFKA_READY_BROKERS:-1}" \
    ${SECURE_READY:+-Dready.client.properties="$CLIENT_PROPERTIES"} -cp "$TOOLS_DIR:$(classpath)" KafkaReadyCheck "${KAFKA_READY_BOOTSTRAP:-$HOST:$PORT}" "$@"
}

write_configs() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  local listener=PLAINTEXT
  if [[ "$SECURE" == 1 ]]; then listener=SASL_SSL; fi
  # Rewritten on every start so KAFKA_PORT / KAFKA_CONTROLLER_PORT changes take effect. A static voter
  # list (not --standalone's dynamic quorum) keeps the controller address out of the formatted metadata,
  # so a later port change does not strand the data dir.
  cat >"$CONFIG_FILE" <<EOF
# Generated by scripts/infra/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$VOTERS
listeners=$listener://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=$listener://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=$listener
listener.security.protocol.map=CONTROLLER:PLAINTEXT,$listener:$listener
log.dirs=$DATA_DIR

# Internal topics replicated as the nodes allow (one node: factor 1, or groups/transactions never work).
offsets.topic.replication.factor=$REPLICATION
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$REPLICATION
transaction.state.log.min.isr=$MIN_ISR
share.coordinator.state.topic.replication.factor=$REPLICATION
share.coordinator.state.topic.min.isr=$MIN_ISR
# A write with acks=all is stored by this many replicas or refused.
min.insync.replicas=$MIN_ISR
# Tests start consumers and expect them to get partitions at once, not after the 3 s default delay.
group.initial.rebalance.delay.ms=0
num.partitions=3
default.replication.factor=$REPLICATION
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
  if [[ "$SECURE" == 1 ]]; then secure_config >>"$CONFIG_FILE"; fi
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
  local cluster_id scram=() user
  # SCRAM credentials live in the KRaft metadata: written at format time, before any user could add them.
  if [[ "$SECURE" == 1 ]]; then
    for user in "${SECURE_USERS[@]}"; do scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(password_of "$user")]"); done
  fi
  cluster_id="${KAFKA_CLUSTER_ID:-$(java -Xmx128m -Dlog4j2.configurationFile="$TOOLS_LOG4J_CONFIG" -cp "$(classpath)" kafka.tools.StorageTool random-uuid)}"
  log "formatting $DATA_DIR (cluster id $cluster_id)"
  java -Xmx256m -Dlog4j2.configurationFile="$TOOLS_LOG4J_CONFIG" -cp "$(classpath)" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG_FILE" "${scram[@]}" >"$LOG_DIR/format.log" 2>&1 || {
    cat "$LOG_DIR/format.log" >&2
    die "storage format failed"
  }
}

# The security profile's CA, broker certificate (for 127.0.0.1 and localhost) and users, made once per run dir.
secure_pki() {
  [[ -f "$PKI_DIR/broker.pem" && -f "$USERS_FILE" ]] && return 0
  need_tool openssl "the security profile makes its certificates with it"
  mkdir -p "$PKI_DIR"
  (
    cd "$PKI_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=hrs-kafka-ca" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl x509 -req -sha256 -days 3650 -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -extfile broker.ext -out broker.crt 2>/dev/null
    # Kafka's PEM key store: an unencrypted PKCS#8 key and the certificate chain, in one file.
    { openssl pkcs8 -topk8 -nocrypt -in broker.key; cat broker.crt ca.crt; } >broker.pem
    chmod 600 ca.key broker.key broker.pem
  ) || die "could not make the security profile's certificates in $PKI_DIR"
  local user entries=()
  for user in "${SECURE_USERS[@]}"; do entries+=("\"$user\": \"$(openssl rand -hex 16)\""); done
  (IFS=,; echo "{${entries[*]}}") >"$USERS_FILE"
  chmod 600 "$USERS_FILE"
  printf 'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\nssl.truststore.type=PEM\nssl.truststore.location=%s\n' \
    "$(password_of admin)" "$PKI_DIR/ca.crt" >"$CLIENT_PROPERTIES"
  chmod 600 "$CLIENT_PROPERTIES"
}

password_of() { # user
  sed -n "s/.*\"$1\": \"\([0-9a-f]*\)\".*/\1/p" "$USERS_FILE"
}

# The listener and authorizer settings of the security profile, appended to server.properties.
secure_config() {
  local user plain_users=""
  for user in "${SECURE_USERS[@]}"; do plain_users+=" user_$user=\"$(password_of "$user")\""; done
  cat <<EOF

# Security profile (KAFKA_SECURE=1): clients authenticate with SCRAM-SHA-512 or PLAIN over TLS.
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(password_of admin)";
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$(password_of admin)"$plain_users;
ssl.keystore.type=PEM
ssl.keystore.location=$PKI_DIR/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$PKI_DIR/ca.crt
# Nothing is allowed that no ACL allows. The controller listener is loopback PLAINTEXT, which the broker's
# own requests to its controller use as ANONYMOUS: a super user, like admin, who sets the ACLs.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
EOF
}

show_logs() {
  show_log_tail "$LOG_DIR/server.log"
  if [[ -s "$LOG_DIR/stdout.log" ]]; then show_log_tail "$LOG_DIR/stdout.log" 20; fi
}

cmd_up() {
  if [[ "$SECURE" != 1 && -n "${KAFKA_BROKERS:-}" ]]; then
    log "KAFKA_BROKERS=$KAFKA_BROKERS is set: using that external broker, not starting one"
    return 0
  fi
  need_java
  mkdir -p "$RUN_DIR"
  if [[ "$SECURE" == 1 ]]; then SECURE_READY=1; fi
  # Two concurrent `up`s (e.g. parallel test jobs) must not both format and start a broker.
  take_lock 9 "$RUN_DIR/.lock" 120

  local pid
  if pid="$(broker_pid)"; then
    build_ready_check
    if ready_check 30 "$pid" >/dev/null; then
      log "already running on $HOST:$PORT (pid $pid)"
      return 0
    fi
    show_logs
    die "broker pid $pid is running but not answering on $HOST:$PORT; try: $0 down && $0 up"
  fi
  rm -f "$PID_FILE"
  if port_open "$HOST" "$PORT" || port_open "$HOST" "$CONTROLLER_PORT"; then
    die "port $PORT or $CONTROLLER_PORT on $HOST is taken by a process this script did not start; set KAFKA_PORT/KAFKA_CONTROLLER_PORT or KAFKA_BROKERS"
  fi

  fetch_jars
  if [[ "$SECURE" == 1 ]]; then secure_pki; fi
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
  if [[ "${KAFKA_WAIT:-}" == none ]]; then
    log "started node $NODE_ID on $HOST:$PORT (pid $pid), not waiting for it"
    return 0
  fi

  # The port opens a moment before the broker serves metadata; poll cheaply for it first so the JVM of
  # the real check starts only once there is something to talk to.
  local start=$SECONDS
  until port_open "$HOST" "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs
      rm -f "$PID_FILE"
      die "broker exited during startup"
    fi
    if ((SECONDS - start >= START_TIMEOUT)); then
      show_logs
      die "broker did not open $HOST:$PORT within ${START_TIMEOUT}s (pid $pid still running; '$0 down' stops it)"
    fi
    sleep 0.5
  done
  local left=$((START_TIMEOUT - (SECONDS - start)))
  ((left < 5)) && left=5
  local info
  if ! info="$(ready_check "$left" "$pid" warm-groups)"; then
    show_logs
    kill -0 "$pid" 2>/dev/null || rm -f "$PID_FILE"
    die "broker did not answer metadata requests within ${START_TIMEOUT}s"
  fi
  log "running on $HOST:$PORT (pid $pid, $info, ready in $((SECONDS - start))s); export $([[ "$SECURE" == 1 ]] && echo KAFKA_SECURE_BROKERS || echo KAFKA_BROKERS)=$HOST:$PORT"
}

cmd_status() {
  if [[ "$SECURE" != 1 && -n "${KAFKA_BROKERS:-}" ]]; then
    echo "external broker $KAFKA_BROKERS (KAFKA_BROKERS is set)"
    return 0
  fi
  local pid
  if pid="$(broker_pid)"; then
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
  if [[ "$SECURE" != 1 && -n "${KAFKA_BROKERS:-}" ]]; then
    log "KAFKA_BROKERS is set: the external broker is not ours to stop"
    return 0
  fi
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  # SIGTERM runs Kafka's shutdown hook: it flushes logs and writes a clean-shutdown marker.
  stop_pid kafka "$pid" 30
  rm -f "$PID_FILE"
  log "stopped"
}

if [[ "${1:-}" == ready ]]; then
  need_java
  fetch_jars
  mkdir -p "$RUN_DIR"
  write_configs
  build_ready_check
  ready_check "${KAFKA_START_TIMEOUT:-90}" - warm-groups
  exit 0
fi
server_main "$@"
