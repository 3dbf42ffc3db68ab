#!/usr/bin/env bash
# Runs a local 3-member Coord ensemble on 127.0.0.1, 127.0.0.2 and 127.0.0.3
# (clients on port 7420, peers on 7421), data under ./coord-data/m1..m3, logs in
# ./coord-data/mN.log. Waits until every member is ready, prints the endpoints,
# and keeps running until Ctrl-C / SIGTERM, then stops the members cleanly.
# Re-running continues from the same data directories.
#   COORDD=path/to/coordd  DATA=dir  deploy/local-ensemble.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COORDD=${COORDD:-build/coord/coordd}
DATA=${DATA:-coord-data}
CLUSTER=m1=127.0.0.1:7421,m2=127.0.0.2:7421,m3=127.0.0.3:7421
[ -x "$COORDD" ] || { echo "local-ensemble: $COORDD not found (run scripts/build.sh coordd)" >&2; exit 1; }
mkdir -p "$DATA"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "local-ensemble: stopping members"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

for i in 1 2 3; do
  "$COORDD" --name "m$i" --data-dir "$DATA/m$i" \
    --listen-client "127.0.0.$i:7420" --listen-peer "127.0.0.$i:7421" \
    --initial-cluster "$CLUSTER" >>"$DATA/m$i.log" 2>&1 &
  pids+=($!)
done

# GET /readyz over bash's /dev/tcp (no curl needed); true when it answers 200.
ready() {
  local host=$1
  { exec 3<>"/dev/tcp/$host/7420"; } 2>/dev/null || return 1
  printf 'GET /readyz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
  local status
  read -r -t 2 status <&3 || status=""
  exec 3<&- 3>&-
  [[ "$status" == *" 200 "* ]]
}

deadline=$((SECONDS + 30))
for i in 1 2 3; do
  until ready "127.0.0.$i"; do
    for p in "${pids[@]}"; do
      kill -0 "$p" 2>/dev/null || { echo "local-ensemble: a member exited; see $DATA/m*.log" >&2; exit 1; }
    done
    if [ $SECONDS -ge $deadline ]; then
      echo "local-ensemble: members not ready after 30 s; see $DATA/m*.log" >&2; exit 1
    fi
    sleep 0.2
  done
done

cat <<EOT
Coord ensemble ready: 3 members (pids ${pids[*]}), data and logs in $DATA/
  WebSocket API   ws://127.0.0.1:7420/v1/ws  ws://127.0.0.2:7420/v1/ws  ws://127.0.0.3:7420/v1/ws
  Metrics         http://127.0.0.1:7420/metrics   (also /healthz, /readyz, /)
  Try (websocat): echo '{"id":"1","put":{"key":"/hello","value":"d29ybGQ="}}' | websocat ws://127.0.0.1:7420/v1/ws
Ctrl-C stops the ensemble.
EOT
wait -n "${pids[@]}" || true
echo "local-ensemble: a member exited; stopping the others" >&2
