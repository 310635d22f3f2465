#!/usr/bin/env bash
# Starts a single-node Apache Kafka 3.9 broker+controller (KRaft) on 127.0.0.1:9092 unless one answers.
# Jars come from Maven Central through ./pom.xml and are cached outside git (OMS_KAFKA_HOME,
# default ~/.cache/oms-kafka). Idempotent: a second run reuses the running broker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
home="${OMS_KAFKA_HOME:-$HOME/.cache/oms-kafka}"
port="${OMS_KAFKA_PORT:-9092}"
ctl_port="$((port + 1))"
libs="$home/$version/libs"
data="$home/data-$port"
log="$home/kafka-$port.log"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if answers "$port"; then
  echo "kafka: a broker already answers on 127.0.0.1:$port"
  exit 0
fi

if [ ! -f "$libs/.complete" ]; then
  echo "kafka: fetching Apache Kafka $version jars with Maven into $libs (first run only)"
  mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
fi

mkdir -p "$data"
cat > "$home/server-$port.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
# Idle costs of a single-node development broker: the KRaft controller appends a no-op record every
# 500 ms by default, and the default thread pools are sized for a server.
metadata.max.idle.interval.ms=5000
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
PROPS
cat > "$home/log4j.properties" <<'PROPS'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
PROPS

cp="$libs/*"
jvm=(-Xms256m -Xmx768m -XX:+UseSerialGC -Djava.awt.headless=true "-Dlog4j.configuration=file:$home/log4j.properties")
if [ ! -f "$data/meta.properties" ]; then
  echo "kafka: formatting KRaft storage in $data"
  java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format \
    -t "$(java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid)" \
    -c "$home/server-$port.properties" --ignore-formatted >/dev/null
fi

echo "kafka: starting broker on 127.0.0.1:$port (log: $log)"
nohup setsid java "${jvm[@]}" -cp "$cp" kafka.Kafka "$home/server-$port.properties" >>"$log" 2>&1 </dev/null &
echo $! > "$home/kafka-$port.pid"

deadline=$((SECONDS + 90))
until answers "$port"; do
  if [ $SECONDS -ge $deadline ]; then
    echo "kafka: broker did not answer within 90 s; last log lines:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  if ! kill -0 "$(cat "$home/kafka-$port.pid")" 2>/dev/null; then
    echo "kafka: broker exited; last log lines:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "kafka: broker answers on 127.0.0.1:$port"
