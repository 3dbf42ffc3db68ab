#!/usr/bin/env bash
# Starts (or stops) a 3-member ZooKeeper ensemble on 127.0.0.1, .2 and .3 for
# the lock comparison (bench/lock_compare/), with ZooKeeper's durable defaults
# (forceSync=yes: the transaction log is fsynced before a write is
# acknowledged) and data in a fresh temporary directory. The counterpart of
# deploy/bench-ensemble.sh.
#
#   deploy/bench-zookeeper.sh start     # prints shell assignments, e.g.
#       BENCH_DIR=/tmp/zk-bench-XXXX
#       ENDPOINTS=127.0.0.1:27181,127.0.0.2:27181,127.0.0.3:27181
#       PIDS=101,102,103               # in the order of ENDPOINTS
#   eval "$(deploy/bench-zookeeper.sh start)"
#   deploy/bench-zookeeper.sh stop "$BENCH_DIR"   # SIGTERM (then SIGKILL) + remove
#
# Environment: ZK_CLASSPATH (default: Debian's zookeeper package,
# /usr/share/java/zookeeper.jar, whose manifest names its dependencies, plus
# slf4j-simple for the log), JAVA (default: java on PATH), BASE_PORT (client
# port; quorum and election ports are BASE_PORT+1 and +2; default 27181),
# READY_TIMEOUT (seconds to wait until every member answers "srvr" as leader or
# follower; default 60), ZK_HEAP (JVM -Xmx; default 512m).
# Exit status: 0 ok, 1 a member failed to start or join (the ensemble is stopped
# again), 2 usage.
set -euo pipefail

source "$(dirname "$0")/bench-lib.sh"
base_port=${BASE_PORT:-27181}
ready_timeout=${READY_TIMEOUT:-60}
bench_main /tmp/zk-bench- "$@"

java=${JAVA:-$(command -v java || true)}
[[ -n $java && -x $java ]] || { echo "java not found (apt-get install zookeeper); set JAVA" >&2; exit 1; }
classpath=${ZK_CLASSPATH:-/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar}
[[ -f ${classpath%%:*} ]] || { echo "${classpath%%:*} not found (apt-get install zookeeper)" >&2; exit 1; }

# The four-letter-word probe: one line over a raw TCP connection (bash /dev/tcp).
four_letter() {
  local host=$1 port=$2 word=$3
  timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port && printf '%s' $word >&3 && cat <&3" 2>/dev/null || true
}

dir=$(mktemp -d /tmp/zk-bench-XXXXXX)
quorum=$((base_port + 1))
election=$((base_port + 2))
endpoints=()
pids=()
for i in 1 2 3; do
  host=127.0.0.$i
  mkdir -p "$dir/m$i/data"
  echo "$i" >"$dir/m$i/data/myid"
  # Only what a 3-member ensemble needs; durability settings stay at their
  # defaults (forceSync=yes, the log and snapshots in dataDir on this disk).
  cat >"$dir/m$i/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/m$i/data
clientPort=$base_port
clientPortAddress=$host
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
maxClientCnxns=0
server.1=127.0.0.1:$quorum:$election
server.2=127.0.0.2:$quorum:$election
server.3=127.0.0.3:$quorum:$election
EOF
  "$java" -Xmx"${ZK_HEAP:-512m}" -Dzookeeper.log.dir="$dir/m$i" -cp "$classpath" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/m$i/zoo.cfg" \
    >"$dir/m$i.log" 2>&1 </dev/null &
  echo $! >"$dir/m$i.pid"
  pids+=("$!")
  endpoints+=("$host:$base_port")
done

zk_ready() { four_letter "127.0.0.$(($1 + 1))" "$base_port" srvr | grep -qE '^Mode: (leader|follower)'; }
bench_wait_ready "$dir" "$ready_timeout" zk_ready
bench_print "$dir"
