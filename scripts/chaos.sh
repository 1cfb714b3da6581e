#!/usr/bin/env bash
# Kills the leader of a 3-node ensemble repeatedly while a bounded write load runs, then checks
# that every acknowledged write survived and all nodes agree. Exit 0 = pass, 1 = fail, 2 = usage.
#
#   scripts/chaos.sh --local   [--rounds N] [--pause S] [--writers N]   ensemble of scripts/cluster.sh
#   scripts/chaos.sh --compose [--rounds N] [--pause S] [--writers N]   docker/docker-compose.yml (zk1..zk3)
#
# --local honours cluster.sh's CLUSTER_* variables (base dir, ports, tick time); it starts the
# ensemble and stops it at the end unless --keep. --compose expects the compose ensemble to be up
# (docker compose -f docker/docker-compose.yml up -d) on 127.0.0.1:2181-2183 and leaves it up.
# Needs a build (npm run build): the load runs the client from dist/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="$ROOT/scripts/cluster.sh"
COMPOSE_FILE="$ROOT/docker/docker-compose.yml"
TARGET=""
ROUNDS=3
PAUSE=2
WRITERS=4
KEEP=0
WAIT_SECONDS="${CLUSTER_WAIT_SECONDS:-30}"

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while (($# > 0)); do
  case "$1" in
    --local) TARGET=local ;;
    --compose) TARGET=compose ;;
    --rounds) ROUNDS="$2"; shift ;;
    --pause) PAUSE="$2"; shift ;;
    --writers) WRITERS="$2"; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) usage ;;
    *) echo "chaos.sh: unknown argument $1" >&2; usage ;;
  esac
  shift
done
[[ -n "$TARGET" ]] || usage
[[ "$ROUNDS" =~ ^[0-9]+$ && "$PAUSE" =~ ^[0-9]+([.][0-9]+)?$ && "$WRITERS" =~ ^[0-9]+$ ]] || usage

say() { echo "chaos.sh: $*"; }

# ---- the two targets: connect string, leader, kill, start, wait --------------------------------

if [[ "$TARGET" == local ]]; then
  SIZE="${CLUSTER_SIZE:-3}"
  CLIENT_PORT="${CLUSTER_CLIENT_PORT:-2181}"
  mkdir -p "${CLUSTER_BASE_DIR:-./data}"
  WORK_DIR="$(cd "${CLUSTER_BASE_DIR:-./data}" && pwd)"
  target_leader() { "$CLUSTER" leader 2>/dev/null || true; }
  target_kill() { "$CLUSTER" kill-leader > /dev/null; }
  target_start() { "$CLUSTER" start "$1" > /dev/null; }
  target_wait() { "$CLUSTER" wait > /dev/null; }
else
  SIZE=3
  CLIENT_PORT=2181
  WORK_DIR="$(mktemp -d)"
  # docker compose v2, or the v1 docker-compose binary.
  if docker compose version > /dev/null 2>&1; then
    compose() { docker compose -f "$COMPOSE_FILE" "$@"; }
  else
    compose() { docker-compose -f "$COMPOSE_FILE" "$@"; }
  fi
  # Published ports: zkN's client port 2181 is 127.0.0.1:(2180+N).
  mode_of() {
    node -e '
      const s = require("node:net").connect({ host: "127.0.0.1", port: Number(process.argv[1]) }, () => s.write("srvr"));
      let t = "";
      s.setTimeout(2000, () => s.destroy());
      s.on("data", (d) => (t += d));
      s.on("error", () => {});
      s.on("close", () => console.log((/^Mode: (\w+)/m.exec(t) || [, "none"])[1]));
    ' "$((CLIENT_PORT + $1 - 1))"
  }
  target_leader() {
    local i
    for ((i = 1; i <= SIZE; i++)); do
      if [[ "$(mode_of "$i")" == leader ]]; then echo "$i"; return; fi
    done
  }
  target_kill() { compose kill -s SIGKILL "zk$1" > /dev/null; }
  target_start() { compose start "zk$1" > /dev/null; }
  # One leader, and every node whose container runs follows it.
  target_wait() {
    local deadline=$((SECONDS + WAIT_SECONDS)) i m leaders bad
    while ((SECONDS < deadline)); do
      leaders=0
      bad=0
      for ((i = 1; i <= SIZE; i++)); do
        m="$(mode_of "$i")"
        if [[ "$m" == leader ]]; then
          leaders=$((leaders + 1))
        elif [[ "$m" != follower ]] && [[ -n "$(compose ps -q --status running "zk$i" 2>/dev/null)" ]]; then
          bad=$((bad + 1))
        fi
      done
      ((leaders == 1 && bad == 0)) && return 0
      sleep 0.5
    done
    echo "chaos.sh: no leader with every running node following within ${WAIT_SECONDS} s" >&2
    return 1
  }
fi

CONNECT=""
for ((i = 1; i <= SIZE; i++)); do CONNECT+="${CONNECT:+,}127.0.0.1:$((CLIENT_PORT + i - 1))"; done
RESULTS="$WORK_DIR/chaos-results.$$.json"
LOAD_LOG="$WORK_DIR/chaos-load.$$.log"

LOAD_PID=""
cleanup() {
  if [[ -n "$LOAD_PID" ]] && kill -0 "$LOAD_PID" 2>/dev/null; then kill "$LOAD_PID" 2>/dev/null || true; fi
  if [[ "$TARGET" == local && "$KEEP" == 0 ]]; then "$CLUSTER" stop > /dev/null 2>&1 || true; fi
  if [[ "$TARGET" == compose ]]; then rm -rf "$WORK_DIR"; else rm -f "$RESULTS"; fi
}
trap cleanup EXIT

# ---- run ---------------------------------------------------------------------------------------

if [[ "$TARGET" == local ]]; then
  say "starting the local ensemble"
  "$CLUSTER" start > /dev/null
fi
target_wait

# The load outlasts the kills: each round is two pauses plus an election and a restart.
LOAD_SECONDS=$(node -e "console.log(Math.ceil(${ROUNDS} * (2 * ${PAUSE} + 3) + ${PAUSE}))")
say "load: $WRITERS writers for ${LOAD_SECONDS} s against $CONNECT"
node "$ROOT/scripts/chaos-load.mjs" load --connect "$CONNECT" --seconds "$LOAD_SECONDS" --writers "$WRITERS" --out "$RESULTS" > "$LOAD_LOG" 2>&1 &
LOAD_PID=$!

for ((round = 1; round <= ROUNDS; round++)); do
  sleep "$PAUSE"
  leader="$(target_leader)"
  if [[ -z "$leader" ]]; then
    say "round $round: no leader to kill"
    exit 1
  fi
  t0=$(date +%s%3N)
  target_kill "$leader"
  target_wait
  say "round $round: killed leader $leader; new leader $(target_leader) seen serving $(($(date +%s%3N) - t0)) ms later (srvr polling)"
  sleep "$PAUSE"
  target_start "$leader"
  target_wait
done

set +e
wait "$LOAD_PID"
load_rc=$?
set -e
LOAD_PID=""
cat "$LOAD_LOG"
rm -f "$LOAD_LOG"
if ((load_rc != 0)); then
  say "FAIL: the load script failed (exit $load_rc)"
  exit 1
fi
target_wait
if node "$ROOT/scripts/chaos-load.mjs" check --connect "$CONNECT" --in "$RESULTS"; then
  say "PASS"
  exit 0
fi
say "FAIL"
exit 1
