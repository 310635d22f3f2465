#!/usr/bin/env bash
# Stops the local Kafka broker that scripts/kafka/start.sh started (its pid file), politely first:
# SIGTERM lets it close its logs cleanly; after 30 s it is killed. Does nothing when none runs.
set -euo pipefail
home="${OMS_KAFKA_HOME:-$HOME/.cache/oms-kafka}"
port="${OMS_KAFKA_PORT:-9092}"
pidfile="$home/kafka-$port.pid"
if [ ! -f "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "kafka: no local broker of ours runs on 127.0.0.1:$port"
  rm -f "$pidfile"
  exit 0
fi
pid="$(cat "$pidfile")"
echo "kafka: stopping the local broker on 127.0.0.1:$port (pid $pid)"
kill -TERM "$pid"
deadline=$((SECONDS + 30))
while kill -0 "$pid" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ]; then
    echo "kafka: still running after 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$pidfile"
echo "kafka: stopped"
