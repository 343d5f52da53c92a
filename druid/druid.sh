#!/usr/bin/env bash
# A single-machine Apache Druid assembled from Maven Central artifacts (no tarball, no Docker).
#
#   druid/druid.sh up         fetch Druid if needed, start every service, wait until it serves
#   druid/druid.sh down       stop everything (by pid file, then by port); safe to repeat
#   druid/druid.sh stop S...  stop only the named services (e.g. `stop broker`, to test faults)
#   druid/druid.sh start S... start the named services and wait until each serves again
#   druid/druid.sh status     one line per service; exit 0 only when all are healthy
#   druid/druid.sh logs [S]   tail the logs (of service S)
#   druid/druid.sh fetch      only assemble lib/ and extensions/ (what `up` does on a first run)
#   druid/druid.sh clean      down, then delete var/ (segments, metadata, ZooKeeper, logs)
#   druid/druid.sh purge      down, then delete the whole .druid/ folder (jars too)
#
# Layout (DRUID_HOME, default <repo>/.druid, git-ignored):
#   lib/                           core jars: org.apache.druid:druid-services + runtime deps
#   extensions/druid-datasketches/ the extension's own jars (none that lib/ already has)
#   m2/                            the Maven local repository used to fetch them
#   var/{log,run,tmp,zk,druid}/    logs, pid files, temp, ZooKeeper data, Derby, segments
# Configs live in the repo, druid/conf/<service>/{runtime.properties,jvm.config}.
#
# Services (all bound to 127.0.0.1): ZooKeeper 2181, coordinator+overlord 8081 (also runs the
# Derby metadata server on 1527), broker 8082, historical 8083, indexer 8091, and the router
# 8888 only when DRUID_ROUTER=1.
#
# Environment: DRUID_HOME, DRUID_JAVA_HOME (a Java 17 home; else JAVA_HOME/known paths/PATH),
# DRUID_START_TIMEOUT (seconds, default 300), DRUID_STOP_TIMEOUT (default 30),
# DRUID_ROUTER=1, DRUID_MAVEN_REPO (default $DRUID_HOME/m2), DRUID_MVN_ARGS (extra mvn args).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
CONF="$HERE/conf"
DRUID_HOME="${DRUID_HOME:-$REPO/.druid}"
VAR="$DRUID_HOME/var"
M2="${DRUID_MAVEN_REPO:-$DRUID_HOME/m2}"
START_TIMEOUT="${DRUID_START_TIMEOUT:-300}"
STOP_TIMEOUT="${DRUID_STOP_TIMEOUT:-30}"
DRUID_VERSION="$(sed -n 's:.*<druid.version>\(.*\)</druid.version>.*:\1:p' "$HERE/pom.xml")"
# Every JVM we start carries this marker so `down` never touches someone else's process.
MARKER="-Dkeyart.druid.home=$DRUID_HOME"

SERVICES=(zk coordinator-overlord broker historical indexer)
STARTED=()
# Set by `start`: a failed start stops only these services instead of the whole cluster.
PARTIAL=()
if [[ "${DRUID_ROUTER:-0}" == 1 ]]; then SERVICES+=(router); fi

port_of() {
  case "$1" in
    zk) echo 2181 ;;
    coordinator-overlord) echo 8081 ;;
    broker) echo 8082 ;;
    historical) echo 8083 ;;
    indexer) echo 8091 ;;
    router) echo 8888 ;;
    *) return 1 ;;
  esac
}

log() { printf '[druid] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# ---------------------------------------------------------------- prerequisites

java_major() { "$1" -version 2>&1 | sed -n -E 's/.* version "([0-9]+).*/\1/p' | head -n1; }

# Druid 33 supports Java 11 and 17; prefer an explicit or installed 17 over whatever is on PATH.
find_java() {
  local c major
  for c in "${DRUID_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk* \
    /usr/lib/jvm/temurin-17* "${JAVA_HOME:-}"; do
    [[ -n "$c" && -x "$c/bin/java" ]] || continue
    major="$(java_major "$c/bin/java")"
    if [[ "$major" == 17 || "$major" == 11 ]]; then
      echo "$c/bin/java"
      return 0
    fi
  done
  if command -v java >/dev/null 2>&1; then
    major="$(java_major java)"
    if [[ "$major" == 17 || "$major" == 11 ]]; then
      command -v java
      return 0
    fi
  fi
  return 1
}

apt_install() {
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

require_java() {
  JAVA="$(find_java)" || {
    apt_install openjdk-17-jre-headless || true
    JAVA="$(find_java)" || die "no Java 17 (or 11) found; set DRUID_JAVA_HOME to a JDK 17 home"
  }
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 || apt_install maven ||
    die "Maven (mvn) is needed once to fetch Druid from Maven Central; install it"
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) still not found after apt-get install maven"
}

# ---------------------------------------------------------------- assembly

assembled_stamp() { echo "$DRUID_VERSION $(cat "$HERE/pom.xml" "$HERE/maven-settings.xml" | cksum | cut -d' ' -f1)"; }

fetch() {
  local stamp="$DRUID_HOME/.assembled" want ext jar
  want="$(assembled_stamp)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  local svc
  for svc in zk coordinator-overlord broker historical indexer router; do
    if svc_pid "$svc" >/dev/null; then
      die "druid/pom.xml changed since the jars were assembled; run \`druid/druid.sh down\` first"
    fi
  done
  require_mvn
  require_java
  mkdir -p "$DRUID_HOME"
  rm -rf "${DRUID_HOME:?}/lib" "${DRUID_HOME:?}/extensions" "${DRUID_HOME:?}/build"
  log "assembling Apache Druid $DRUID_VERSION from Maven Central into $DRUID_HOME (first run only)"
  local t0=$SECONDS profile
  for profile in lib ext-datasketches; do
    # Maven runs on the same Java as Druid; JAVA_HOME is derived from the java binary found.
    # shellcheck disable=SC2086
    if ! JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$JAVA")")")" mvn -B -q \
      -s "$HERE/maven-settings.xml" -f "$HERE/pom.xml" -Dmaven.repo.local="$M2" \
      -Ddruid.home="$DRUID_HOME" -P "$profile" ${DRUID_MVN_ARGS:-} package \
      >"$DRUID_HOME/fetch-$profile.log" 2>&1; then
      tail -n 40 "$DRUID_HOME/fetch-$profile.log" >&2
      die "mvn -P $profile failed (full log: $DRUID_HOME/fetch-$profile.log)"
    fi
  done
  # Like Druid's pull-deps: an extension folder holds only jars the core classpath lacks.
  for ext in "$DRUID_HOME"/extensions/*/; do
    for jar in "$ext"*.jar; do
      if [[ -e "$DRUID_HOME/lib/$(basename "$jar")" ]]; then rm -f "$jar"; fi
    done
  done
  rm -rf "$DRUID_HOME/build"
  [[ -e "$DRUID_HOME/lib/druid-services-$DRUID_VERSION.jar" ]] || die "lib/ lacks druid-services"
  echo "$want" >"$stamp"
  log "assembled $(find "$DRUID_HOME/lib" -name '*.jar' | wc -l) core jars in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- processes

pid_file() { echo "$VAR/run/$1.pid"; }

# True when pid $1 is alive and is one of ours.
is_ours() {
  [[ -n "$1" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$MARKER "
}

svc_pid() {
  local f pid
  f="$(pid_file "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  is_ours "$pid" && echo "$pid"
}

# Pid listening on TCP port $1 on this machine (empty when none or unknown).
port_pid() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1
  elif command -v lsof >/dev/null 2>&1; then
    lsof -t -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | head -n1
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Lines of a jvm.config file: one JVM option per line, blank lines and #comments skipped.
jvm_opts() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"; }

start_svc() {
  local svc="$1" port pid
  port="$(port_of "$svc")"
  if pid="$(svc_pid "$svc")"; then
    log "$svc already running (pid $pid)"
    STARTED+=("$svc")
    return 0
  fi
  if port_open "$port"; then
    pid="$(port_pid "$port")"
    if [[ -n "$pid" ]] && is_ours "$pid"; then
      echo "$pid" >"$(pid_file "$svc")"
      log "$svc already running (pid $pid, adopted by port $port)"
      STARTED+=("$svc")
      return 0
    fi
    die "port $port (for $svc) is taken by another process${pid:+ (pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120))}"
  fi
  local -a cmd
  mapfile -t cmd < <(jvm_opts "$CONF/$svc/jvm.config")
  if [[ "$svc" == zk ]]; then
    cmd=("$JAVA" "$MARKER" "${cmd[@]}" -cp "$DRUID_HOME/lib/*:$CONF/zk"
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$CONF/zk/zoo.cfg")
  else
    local -a common
    mapfile -t common < <(jvm_opts "$CONF/_common/common.jvm.config")
    local server="$svc"
    [[ "$svc" == coordinator-overlord ]] && server=coordinator
    cmd=("$JAVA" "$MARKER" "${common[@]}" "${cmd[@]}" -Ddruid.node.type="$svc"
      -cp "$CONF/$svc:$CONF/_common:$DRUID_HOME/lib/*" org.apache.druid.cli.Main server "$server")
  fi
  # setsid + nohup: the JVMs outlive this script and ignore the terminal's hangups. Because the
  # subshell is no process-group leader, setsid does not fork, so $! is the JVM's own pid.
  # Logs are appended (with a marker line), so a crash before a restart stays readable.
  printf '\n==== druid.sh: starting %s at %s ====\n' "$svc" "$(date -u +%FT%TZ)" >>"$VAR/log/$svc.log"
  (cd "$DRUID_HOME" && MALLOC_ARENA_MAX=2 exec setsid nohup "${cmd[@]}" \
    >>"$VAR/log/$svc.log" 2>&1 </dev/null) &
  echo "$!" >"$(pid_file "$svc")"
  STARTED+=("$svc")
  log "started $svc (pid $!, port $port, log $VAR/log/$svc.log)"
}

# Body of GET $1 (fails on connection errors and non-2xx answers).
http_get() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 5 "$1" 2>/dev/null
    return
  fi
  # Plain-bash fallback for machines without curl (a subshell, so a refused connection
  # cannot end this script).
  local rest="${1#http://}" hostport path status body
  hostport="${rest%%/*}"
  path="/${rest#*/}"
  body="$(
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
    timeout 5 cat <&3
  )" 2>/dev/null || [[ -n "$body" ]] || return 1
  status="$(head -n1 <<<"$body" | cut -d' ' -f2)"
  [[ "$status" == 2* ]] || return 1
  sed '1,/^\r\{0,1\}$/d' <<<"$body"
}

zk_ok() { [[ "$( (timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2181; printf ruok >&3; cat <&3') 2>/dev/null)" == imok ]]; }

# True when GET $1 succeeds and its body contains $2 (no pipes: under pipefail an early-exiting
# `grep -q` could fail the producer with SIGPIPE).
http_has() {
  local body
  body="$(http_get "$1")" || return 1
  [[ "$body" == *"$2"* ]]
}

# One readiness check per name; prints nothing, returns 0 when satisfied.
check() {
  case "$1" in
    zk) zk_ok ;;
    coordinator-overlord | broker | historical | indexer | router)
      [[ "$(http_get "http://127.0.0.1:$(port_of "$1")/status/health")" == true ]] ;;
    coordinator-leader) http_has http://127.0.0.1:8081/druid/coordinator/v1/isLeader '"leader":true' ;;
    overlord-leader) http_has http://127.0.0.1:8081/druid/indexer/v1/isLeader '"leader":true' ;;
    historical-registered)
      http_has 'http://127.0.0.1:8081/druid/coordinator/v1/servers?simple' '"type":"historical"' ;;
    indexer-registered) http_has http://127.0.0.1:8081/druid/indexer/v1/workers '"host":"127.0.0.1:8091"' ;;
    broker-ready) http_get http://127.0.0.1:8082/druid/broker/v1/readiness >/dev/null ;;
    *) return 1 ;;
  esac
}

# The service whose log explains a failed check.
owner_of() {
  case "$1" in
    coordinator-leader | overlord-leader) echo coordinator-overlord ;;
    historical-registered) echo historical ;;
    indexer-registered) echo indexer ;;
    broker-ready) echo broker ;;
    *) echo "$1" ;;
  esac
}

fail_with_log() {
  local svc="$1" why="$2"
  log "ERROR: $why"
  log "---- $VAR/log/$svc.log (last 60 lines of this start) ----"
  # Only what this start wrote: the log also holds earlier runs, after a marker line each.
  awk '/^==== druid.sh: starting/ { first = NR } { text[NR] = $0 }
    END { from = (NR - 60 > first) ? NR - 60 : first; for (i = from; i <= NR; i++) print text[i] }' \
    "$VAR/log/$svc.log" >&2 2>/dev/null || true
  if ((${#PARTIAL[@]})); then
    log "---- (stopping ${PARTIAL[*]}; logs stay in $VAR/log) ----"
    stop_services "${PARTIAL[@]}" >/dev/null 2>&1 || true
  else
    log "---- (stopping the cluster; logs stay in $VAR/log) ----"
    down >/dev/null 2>&1 || true
  fi
  exit 1
}

# Wait until every named check passes; fail fast when a JVM dies.
wait_for() {
  local deadline=$((SECONDS + START_TIMEOUT)) name svc pending
  while :; do
    pending=()
    for name in "$@"; do check "$name" || pending+=("$name"); done
    [[ ${#pending[@]} -eq 0 ]] && return 0
    for svc in "${STARTED[@]}"; do
      svc_pid "$svc" >/dev/null || fail_with_log "$svc" "$svc exited during startup"
    done
    if ((SECONDS >= deadline)); then
      fail_with_log "$(owner_of "${pending[0]}")" \
        "timed out after ${START_TIMEOUT}s waiting for: ${pending[*]}"
    fi
    sleep 1
  done
}

# Refuse to start anything while a port we need is held by a process we did not start.
preflight_ports() {
  local svc port pid
  for svc in "${SERVICES[@]}" derby; do
    if [[ "$svc" == derby ]]; then
      port=1527
      svc_pid coordinator-overlord >/dev/null && continue
    else
      port="$(port_of "$svc")"
      svc_pid "$svc" >/dev/null && continue
    fi
    port_open "$port" || continue
    pid="$(port_pid "$port")"
    [[ -n "$pid" ]] && is_ours "$pid" && continue
    die "port $port (for $svc) is taken by another process${pid:+ (pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120))}; nothing was started"
  done
}

up() {
  local t0=$SECONDS
  fetch
  require_java
  mkdir -p "$VAR"/{log,run,tmp,zk,druid}
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "Druid $DRUID_VERSION on $("$JAVA" -version 2>&1 | head -n1)"
  preflight_ports
  start_svc zk
  wait_for zk
  local svc
  for svc in "${SERVICES[@]:1}"; do start_svc "$svc"; done
  local -a checks=("${SERVICES[@]}" coordinator-leader overlord-leader historical-registered
    indexer-registered broker-ready)
  wait_for "${checks[@]}"
  local router=""
  [[ " ${SERVICES[*]} " == *" router "* ]] && router=", router http://127.0.0.1:8888"
  log "Druid is up in $((SECONDS - t0))s: broker http://127.0.0.1:8082," \
    "coordinator+overlord http://127.0.0.1:8081$router"
}

stop_pids() {
  local sig="$1" pid
  shift
  for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null || true; done
}

# Wait until none of the pids is alive; false on timeout.
wait_gone() {
  local deadline=$((SECONDS + STOP_TIMEOUT)) pid alive
  while :; do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive == 0)) && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.5
  done
}

# Stop a group of services: TERM, wait, KILL. Found by pid file, then by port.
stop_group() {
  local -a pids=()
  local svc pid port
  for svc in "$@"; do
    pid="$(svc_pid "$svc")" || pid=""
    if [[ -z "$pid" ]]; then
      port="$(port_of "$svc")"
      pid="$(port_pid "$port")"
      if [[ -n "$pid" ]] && ! is_ours "$pid"; then
        log "port $port is held by pid $pid, which druid.sh did not start; leaving it alone"
        pid=""
      fi
    fi
    if [[ -n "$pid" ]]; then
      pids+=("$pid")
      log "stopping $svc (pid $pid)"
    fi
  done
  ((${#pids[@]})) || return 0
  stop_pids TERM "${pids[@]}"
  if ! wait_gone "${pids[@]}"; then
    log "still running after ${STOP_TIMEOUT}s, killing: ${pids[*]}"
    stop_pids KILL "${pids[@]}"
    wait_gone "${pids[@]}" || true
  fi
}

# Stop the named services only and forget their pid files.
stop_services() {
  stop_group "$@"
  local svc
  for svc in "$@"; do rm -f "$(pid_file "$svc")"; done
}

# Die unless every argument names a service.
require_services() {
  (($#)) || die "name at least one service: zk coordinator-overlord broker historical indexer router"
  local svc
  for svc in "$@"; do
    port_of "$svc" >/dev/null ||
      die "unknown service '$svc' (known: zk coordinator-overlord broker historical indexer router)"
  done
}

# The checks a service must pass before it serves: its health, plus what `up` waits for.
checks_of() {
  case "$1" in
    coordinator-overlord) echo coordinator-overlord coordinator-leader overlord-leader ;;
    broker) echo broker broker-ready ;;
    historical) echo historical historical-registered ;;
    indexer) echo indexer indexer-registered ;;
    *) echo "$1" ;;
  esac
}

# Start the named services of a running cluster (ZooKeeper first when named) and wait until
# each passes its checks; a failed start stops only these services.
start() {
  require_services "$@"
  local t0=$SECONDS svc
  local -a checks=() more
  fetch
  require_java
  mkdir -p "$VAR"/{log,run,tmp,zk,druid}
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  PARTIAL=("$@")
  if [[ " $* " == *" zk "* ]]; then
    start_svc zk
    wait_for zk
  fi
  check zk || die "ZooKeeper is not running; start the whole cluster with \`druid/druid.sh up\`"
  for svc in "$@"; do
    [[ "$svc" == zk ]] && continue
    start_svc "$svc"
    read -ra more <<<"$(checks_of "$svc")"
    checks+=("${more[@]}")
  done
  ((${#checks[@]} == 0)) || wait_for "${checks[@]}"
  log "serving in $((SECONDS - t0))s: $*"
}

down() {
  # Druid services first (they unannounce through ZooKeeper), ZooKeeper last. The router is
  # always included so a cluster started with DRUID_ROUTER=1 stops without it.
  stop_group router indexer historical broker coordinator-overlord
  stop_group zk
  rm -f "$VAR"/run/*.pid 2>/dev/null || true
  log "stopped"
}

status() {
  local svc pid state all=0
  local -a names=("${SERVICES[@]}")
  [[ " ${names[*]} " == *" router "* ]] || { svc_pid router >/dev/null && names+=(router); }
  for svc in "${names[@]}"; do
    pid="$(svc_pid "$svc")" || pid="-"
    if check "$svc"; then state=healthy; elif [[ "$pid" != - ]]; then state=starting; else state=down; fi
    [[ "$state" == healthy ]] || all=1
    printf '%-22s pid %-8s port %-5s %s\n' "$svc" "$pid" "$(port_of "$svc")" "$state"
  done
  return "$all"
}

logs() {
  if [[ $# -gt 0 ]]; then
    tail -n 100 -F "$VAR/log/$1.log"
  else
    tail -n 20 "$VAR"/log/*.log
  fi
}

main() {
  local action="${1:-}"
  shift || true
  case "$action" in
    up) up ;;
    down) down ;;
    start) start "$@" ;;
    stop)
      require_services "$@"
      stop_services "$@"
      log "stopped $*"
      ;;
    status) status ;;
    fetch) fetch ;;
    logs) logs "$@" ;;
    clean)
      down
      rm -rf "${VAR:?}"
      log "removed $VAR"
      ;;
    purge)
      down
      rm -rf "${DRUID_HOME:?}"
      log "removed $DRUID_HOME"
      ;;
    *)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
