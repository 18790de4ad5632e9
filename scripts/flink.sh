#!/usr/bin/env bash
# A local Flink 1.20 cluster for the dataset job, on 127.0.0.1:
#   bash scripts/flink.sh start   set up (once, cached in .flink/), then start one JobManager,
#                                 two TaskManagers (separate JVMs) and a Beam worker pool per
#                                 TaskManager; print one line of job options, starting --runner
#   bash scripts/flink.sh stop    stop what start started, by the PIDs in .flink/pids/
#   bash scripts/flink.sh options print again the line of job options start printed
# Every process started has its PID in .flink/pids/<role> (jobmanager, taskmanager-N,
# worker-pool-N): kill one by its id to test a lost worker. A worker pool's SDK workers run in
# the pool's process group, so `kill -- -<pool pid>` ends them too.
#
# Flink comes from PyPI (apache-flink: bin/*.sh; apache-flink-libraries: lib/ jars), installed
# with --no-deps into .flink/dist, never into .venv (apache-flink pins apache-beam<2.49). Beam's
# Flink job server is a Maven artifact (not on PyPI), fetched into .flink/jars with `mvn`; put a
# jar there yourself (or set HACS_FLINK_JOB_SERVER_JAR) where Maven Central does not serve it.
#
# Settings (environment): HACS_FLINK_TASKMANAGERS (2), HACS_FLINK_REST_PORT (8081),
# HACS_FLINK_RPC_PORT (6123), HACS_FLINK_POOL_PORT (50000), HACS_FLINK_DIR (.flink: the cached
# installs), HACS_FLINK_RUN_DIR (HACS_FLINK_DIR: pids/, log/, conf/ of the running cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

[ "${1:-}" = start ] && [ ! -x .venv/bin/python ] && bash scripts/setup.sh  # a fresh clone
FLINK_VERSION=1.20.5
BEAM_VERSION=$(.venv/bin/python -c "import apache_beam; print(apache_beam.__version__)" 2>/dev/null)
JOB_SERVER=beam-runners-flink-1.20-job-server
FLINK_DIR=${HACS_FLINK_DIR:-$ROOT/.flink}
TASKMANAGERS=${HACS_FLINK_TASKMANAGERS:-2}
REST_PORT=${HACS_FLINK_REST_PORT:-8081}
RPC_PORT=${HACS_FLINK_RPC_PORT:-6123}
POOL_PORT=${HACS_FLINK_POOL_PORT:-50000}
# the name every TaskManager resolves (own hosts file) to its own worker pool's address
POOL_HOST=hacs-beam-worker-pool
FLINK_HOME=$FLINK_DIR/dist/pyflink
RUN_DIR=${HACS_FLINK_RUN_DIR:-$FLINK_DIR}
PIDS=$RUN_DIR/pids
LOGS=$RUN_DIR/log
JAR=${HACS_FLINK_JOB_SERVER_JAR:-$FLINK_DIR/jars/$JOB_SERVER-$BEAM_VERSION.jar}

log() { echo "[flink.sh] $*" >&2; }

setup_flink() {
  [ -x "$FLINK_HOME/bin/jobmanager.sh" ] && [ -f "$FLINK_HOME/lib/flink-dist-$FLINK_VERSION.jar" ] \
    && return
  command -v java >/dev/null || { log "no java on the PATH (Flink needs Java 11 or 17)"; exit 1; }
  log "installing Flink $FLINK_VERSION from PyPI into $FLINK_DIR/dist (once, ~260 MB)"
  rm -rf "$FLINK_DIR/dist"
  .venv/bin/python -m pip install -q --no-deps --target "$FLINK_DIR/dist" \
    "apache-flink==$FLINK_VERSION" "apache-flink-libraries==$FLINK_VERSION"
  chmod +x "$FLINK_HOME"/bin/*.sh "$FLINK_HOME/bin/flink"
}

JAR_MISSING=""
setup_job_server() {
  [ -f "$JAR" ] && return 0
  JAR_MISSING="no mvn on the PATH to fetch org.apache.beam:$JOB_SERVER:$BEAM_VERSION"
  command -v mvn >/dev/null || return 1
  log "fetching org.apache.beam:$JOB_SERVER:$BEAM_VERSION from Maven Central (once)"
  mkdir -p "$(dirname "$JAR")"
  if ! mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
      -Dartifact="org.apache.beam:$JOB_SERVER:$BEAM_VERSION" \
      -DoutputDirectory="$(dirname "$JAR")" >"$FLINK_DIR/mvn.log" 2>&1; then
    JAR_MISSING="Maven did not serve org.apache.beam:$JOB_SERVER:$BEAM_VERSION ($FLINK_DIR/mvn.log)"
    return 1
  fi
}

# the config every process reads; a TaskManager's folder adds its id and its hosts file
write_conf() {  # folder, [TaskManager id, its hosts file]
  mkdir -p "$1"
  cp "$FLINK_HOME"/conf/log4j*.properties "$1"/
  cat >"$1/config.yaml" <<EOF
env:
  java:
    opts:
      all: $(sed -n 's/^ *all: //p' "$FLINK_HOME/conf/config.yaml" | head -1)
${3:+      taskmanager: -Djdk.net.hosts.file=$3
}jobmanager:
  bind-host: 127.0.0.1
  rpc: {address: 127.0.0.1, port: $RPC_PORT}
  memory: {process: {size: 768m}}
  execution: {failover-strategy: region}
taskmanager:
  bind-host: 127.0.0.1
  host: 127.0.0.1
  # a slot per TaskManager of the cluster: the survivors of a lost TaskManager still hold
  # the job's parallelism when it restarts (evenly-spread-out-slots uses them all otherwise)
  numberOfTaskSlots: $TASKMANAGERS
  resource-id: ${2:-unused}
  memory: {process: {size: 1024m}, managed: {size: 64m}}
parallelism: {default: $TASKMANAGERS}
cluster: {evenly-spread-out-slots: true}
rest: {address: 127.0.0.1, bind-address: 127.0.0.1, port: $REST_PORT}
# a lost TaskManager or worker fails its tasks; the job restarts from its start, up to 3 times
restart-strategy:
  type: fixed-delay
  fixed-delay: {attempts: 3, delay: 2 s}
# notice a killed TaskManager in seconds rather than the default 50
heartbeat: {interval: 2000, timeout: 10000}
io: {tmp: {dirs: $RUN_DIR/tmp}}
EOF
}

wait_port() {  # host port pid role
  for _ in $(seq 120); do
    kill -0 "$3" 2>/dev/null || { log "$4 exited: $LOGS/$4.out"; tail -20 "$LOGS/$4.out" >&2; return 1; }
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.5
  done
  log "$4 does not listen on $1:$2"; return 1
}

started_at() {  # pid -> its start time (clock ticks since boot), empty when there is none
  { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; } 2>/dev/null || true
}

launch() {  # role, command... (own process group: stop ends it with its children)
  setsid "${@:2}" >"$LOGS/$1.out" 2>&1 </dev/null &
  echo $! >"$PIDS/$1"
  # with the PID, what tells the process apart from a later one given the same PID
  started_at $! >"$RUN_DIR/run/$1.started"
}

start() {
  if [ -n "$(ls "$PIDS" 2>/dev/null)" ]; then
    log "already started ($PIDS holds: $(ls "$PIDS" | tr '\n' ' ')); run stop first"; exit 1
  fi
  setup_flink
  trap 'log "start failed: stopping what it started"; stop' ERR
  local job_server=1
  setup_job_server || job_server=0
  rm -rf "$LOGS" "$RUN_DIR/conf" "$RUN_DIR/tmp" "$RUN_DIR/run" "$RUN_DIR/options"
  mkdir -p "$PIDS" "$LOGS" "$RUN_DIR/tmp" "$RUN_DIR/run"
  # Flink's own scripts keep PID files too: away from ours
  export FLINK_LOG_DIR=$LOGS FLINK_PID_DIR=$RUN_DIR/run

  write_conf "$RUN_DIR/conf/jobmanager"
  FLINK_CONF_DIR=$RUN_DIR/conf/jobmanager launch jobmanager \
    "$FLINK_HOME/bin/jobmanager.sh" start-foreground
  wait_port 127.0.0.1 "$REST_PORT" "$(cat "$PIDS/jobmanager")" jobmanager

  local venv_bin
  venv_bin=$(cd .venv/bin && pwd)
  for i in $(seq "$TASKMANAGERS"); do
    local ip=127.0.0.$((10 + i)) conf=$RUN_DIR/conf/taskmanager-$i
    # the pool's SDK workers run `python` from PATH and import the job's code from PYTHONPATH
    PATH="$venv_bin:$PATH" PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" launch "worker-pool-$i" \
      "$venv_bin/python" scripts/flink_worker_pool.py --address "$ip" --port "$POOL_PORT"
    mkdir -p "$conf"
    printf '127.0.0.1 localhost %s\n%s %s\n' "$(hostname)" "$ip" "$POOL_HOST" >"$conf/hosts"
    write_conf "$conf" "taskmanager-$i" "$conf/hosts"
    FLINK_CONF_DIR=$conf launch "taskmanager-$i" "$FLINK_HOME/bin/taskmanager.sh" start-foreground
  done
  for i in $(seq "$TASKMANAGERS"); do
    wait_port "127.0.0.$((10 + i))" "$POOL_PORT" "$(cat "$PIDS/worker-pool-$i")" "worker-pool-$i"
  done
  for _ in $(seq 120); do
    local n
    n=$(curl -s "http://127.0.0.1:$REST_PORT/taskmanagers" | grep -o '"id":' | wc -l || true)
    [ "$n" -ge "$TASKMANAGERS" ] && break
    sleep 0.5
  done
  [ "$n" -ge "$TASKMANAGERS" ] || { log "only $n of $TASKMANAGERS TaskManagers registered"; stop; exit 1; }
  log "Flink $FLINK_VERSION up: http://127.0.0.1:$REST_PORT, $TASKMANAGERS TaskManagers, logs in $LOGS"
  if [ "$job_server" = 0 ]; then
    log "the cluster runs, but Beam jobs cannot be submitted without $JAR: $JAR_MISSING"
    exit 3
  fi
  echo "--runner FlinkRunner --flink_master 127.0.0.1:$REST_PORT --flink_version 1.20" \
    "--flink_job_server_jar $JAR" \
    "--parallelism $TASKMANAGERS --environment_type EXTERNAL" \
    "--environment_config $POOL_HOST:$POOL_PORT" | tee "$RUN_DIR/options"
}

stop() {
  [ -d "$PIDS" ] || return 0
  local f pid now
  for f in "$PIDS"/*; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    now=$(started_at "$pid")
    # A process under that PID that started at another time is not ours: leave it. Without
    # one, the process group may still hold what ours started (a killed pool's SDK workers).
    if [ -n "$now" ] && [ "$now" != "$(cat "$RUN_DIR/run/$(basename "$f").started" 2>/dev/null)" ]; then
      log "$(basename "$f"): PID $pid is another process now; not stopped"
      rm -f "$f"
      continue
    fi
    # the process group the role was started in (the pool's SDK workers are in it too)
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for f in "$PIDS"/*; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    for _ in $(seq 40); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$RUN_DIR/options"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  options) cat "$RUN_DIR/options" ;;  # the line start printed, for $(bash scripts/flink.sh options)
  *) echo "usage: $0 start|stop|options" >&2; exit 2 ;;
esac
