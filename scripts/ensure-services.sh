#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and Kafka answer where the configuration points (DATABASE_URL, REDIS_URL,
# KAFKA_BROKERS, defaults on 127.0.0.1). A local service that does not answer is started with this
# machine's own command; Kafka is fetched and started by scripts/kafka/start.sh. Idempotent: what
# already answers is reused. Remote services are only checked, never started.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

database_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/oms}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
kafka_brokers="${KAFKA_BROKERS:-127.0.0.1:9092}"

# host and port out of a URL like scheme://user@host:port/db
url_host() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
is_local() { [[ "$1" == 127.* || "$1" == localhost || "$1" == "::1" ]]; }
wait_for() { # name host port seconds
  local deadline=$((SECONDS + $4))
  until answers "$2" "$3"; do
    if [ $SECONDS -ge $deadline ]; then echo "$1: no answer on $2:$3 within $4 s" >&2; return 1; fi
    sleep 0.2
  done
}

pg_host="$(url_host "$database_url")"; pg_port="$(url_port "$database_url" 5432)"
if answers "$pg_host" "$pg_port"; then
  echo "postgres: answers on $pg_host:$pg_port"
elif is_local "$pg_host" && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "postgres: starting the local cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  wait_for postgres "$pg_host" "$pg_port" 60
  echo "postgres: answers on $pg_host:$pg_port"
else
  echo "postgres: nothing answers on $pg_host:$pg_port and it cannot be started here; set DATABASE_URL" >&2
  exit 1
fi

redis_host="$(url_host "$redis_url")"; redis_port="$(url_port "$redis_url" 6379)"
if answers "$redis_host" "$redis_port"; then
  echo "redis: answers on $redis_host:$redis_port"
elif is_local "$redis_host" && command -v redis-server >/dev/null; then
  echo "redis: starting redis-server on port $redis_port"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis "$redis_host" "$redis_port" 30
  echo "redis: answers on $redis_host:$redis_port"
else
  echo "redis: nothing answers on $redis_host:$redis_port and it cannot be started here; set REDIS_URL" >&2
  exit 1
fi

first_broker="${kafka_brokers%%,*}"
kafka_host="${first_broker%:*}"; kafka_port="${first_broker##*:}"
if answers "$kafka_host" "$kafka_port"; then
  echo "kafka: answers on $kafka_host:$kafka_port"
elif is_local "$kafka_host"; then
  OMS_KAFKA_PORT="$kafka_port" "$here/kafka/start.sh"
else
  echo "kafka: nothing answers on $first_broker and it is not local; set KAFKA_BROKERS" >&2
  exit 1
fi
