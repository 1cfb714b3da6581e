#!/usr/bin/env bash
# Faults a 3-node ensemble while a bounded write load runs, then checks that every acknowledged
# write survived and all nodes agree. Exit 0 = pass, 1 = fail, 2 = usage.
#
#   scripts/chaos.sh --local   [--rounds N] [--pause S] [--writers N]   ensemble of scripts/cluster.sh
#   scripts/chaos.sh --compose [--rounds N] [--pause S] [--writers N]   docker/docker-compose.yml (zk1..zk3)
#
# --local kills the leader N rounds; it honours cluster.sh's CLUSTER_* variables (base dir, ports,
# tick time), starts the ensemble and stops it at the end unless --keep.
# --compose builds the base image if needed (scripts/docker-base-image.sh), brings the compose
# cluster up (--build) on 127.0.0.1:2181-2183, then: docker kill of the leader (N rounds, docker
# start), docker pause of the leader for 2 x syncLimit x tickTime, docker network disconnect of a
# member and connect --alias at a new address, a rolling restart, a check, then down/up without -v
# and the check again. It leaves the cluster up (--down removes it with its volumes at the end);
# COMPOSE_PROJECT_NAME picks the project. Needs a build (npm run build): the load runs dist/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="$ROOT/scripts/cluster.sh"
COMPOSE_FILE="$ROOT/docker/docker-compose.yml"
TARGET=""
ROUNDS=3
PAUSE=2
WRITERS=4
KEEP=0
DOWN=0
WAIT_SECONDS="${CLUSTER_WAIT_SECONDS:-30}"

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
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
    --down) DOWN=1 ;;
    -h | --help) usage ;;
    *) echo "chaos.sh: unknown argument $1" >&2; usage ;;
  esac
  shift
done
[[ -n "$TARGET" ]] || usage
[[ "$ROUNDS" =~ ^[0-9]+$ && "$PAUSE" =~ ^[0-9]+([.][0-9]+)?$ && "$WRITERS" =~ ^[0-9]+$ ]] || usage

say() { echo "chaos.sh: $*"; }

# ---- --compose: the docker-compose cluster under docker faults -------------------------------

if [[ "$TARGET" == compose ]]; then
  WORK_DIR="$(mktemp -d)"
  RESULTS="$WORK_DIR/results.json"
  STOP_FILE="$WORK_DIR/stop"
  CONNECT="127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183"
  SQUATTERS=6
  LOAD_PID=""
  if docker compose version > /dev/null 2>&1; then
    compose() { docker compose -f "$COMPOSE_FILE" "$@"; }
  else
    compose() { docker-compose -f "$COMPOSE_FILE" "$@"; }
  fi
  squatter() { echo "zabkeeper-chaos-squatter$1"; }
  cleanup_compose() {
    if [[ -n "$LOAD_PID" ]] && kill -0 "$LOAD_PID" 2>/dev/null; then kill "$LOAD_PID" 2>/dev/null || true; fi
    local i
    for ((i = 1; i <= SQUATTERS; i++)); do docker rm -f "$(squatter "$i")" > /dev/null 2>&1 || true; done
    for i in 1 2 3; do [[ -n "$(cid "$i" 2>/dev/null)" ]] && docker unpause "$(cid "$i")" > /dev/null 2>&1 || true; done
    if ((DOWN == 1)); then
      say "removing the cluster and its volumes"
      compose down -v > /dev/null 2>&1 || true
    fi
    rm -rf "$WORK_DIR"
  }
  trap cleanup_compose EXIT

  cid() { compose ps -q "zk$1"; }
  mode_of() {
    node -e '
      const s = require("node:net").connect({ host: "127.0.0.1", port: Number(process.argv[1]) }, () => s.write("srvr"));
      let t = "";
      s.setTimeout(2000, () => s.destroy());
      s.on("data", (d) => (t += d));
      s.on("error", () => {});
      s.on("close", () => console.log((/^Mode: (\w+)/m.exec(t) || [, "down"])[1]));
    ' "$((2180 + $1))"
  }
  leader_of() {
    local m
    for m in "$@"; do [[ "$(mode_of "$m")" == leader ]] && { echo "$m"; return; }; done
    return 0
  }
  # wait_quorum M...: exactly one of the members leads and the rest follow; prints the leader.
  wait_quorum() {
    local deadline=$((SECONDS + WAIT_SECONDS * 3)) m mode leaders ok lead
    while ((SECONDS < deadline)); do
      leaders=0 ok=1 lead=""
      for m in "$@"; do
        mode="$(mode_of "$m")"
        if [[ "$mode" == leader ]]; then leaders=$((leaders + 1)); lead=$m; elif [[ "$mode" != follower ]]; then ok=0; fi
      done
      if ((leaders == 1 && ok == 1)); then echo "$lead"; return 0; fi
      sleep 0.5
    done
    echo "chaos.sh: no single leader among zk$* with the rest following within $((WAIT_SECONDS * 3)) s" >&2
    return 1
  }
  ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NETWORK\").IPAddress}}" "$1"; }
  env_of() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(cid 1)" | sed -n "s/^$1=//p"; }

  "$ROOT/scripts/docker-base-image.sh"
  say "bringing the cluster up: docker-compose -f docker/docker-compose.yml up -d --build"
  compose up -d --build > "$WORK_DIR/up.log" 2>&1 || { cat "$WORK_DIR/up.log" >&2; exit 1; }
  leader="$(wait_quorum 1 2 3)"
  NETWORK="$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' "$(cid 1)")"
  TICK="$(env_of ZOO_TICK_TIME)"
  SYNC_LIMIT="$(env_of ZOO_SYNC_LIMIT)"
  say "up: leader zk$leader, network $NETWORK, tickTime ${TICK} ms, syncLimit $SYNC_LIMIT"

  say "load: $WRITERS writers against $CONNECT until the faults are done (at most 600 s)"
  node "$ROOT/scripts/chaos-load.mjs" load --connect "$CONNECT" --seconds 600 --writers "$WRITERS" --pace-ms 25 \
    --stop-file "$STOP_FILE" --out "$RESULTS" > "$WORK_DIR/load.log" 2>&1 &
  LOAD_PID=$!

  for ((round = 1; round <= ROUNDS; round++)); do
    sleep "$PAUSE"
    leader="$(wait_quorum 1 2 3)"
    others=(); for m in 1 2 3; do ((m != leader)) && others+=("$m"); done
    t0=$(date +%s%3N)
    docker kill "$(cid "$leader")" > /dev/null
    next="$(wait_quorum "${others[@]}")"
    say "kill round $round: docker kill zk$leader (leader); zk$next leads after $(($(date +%s%3N) - t0)) ms"
    sleep "$PAUSE"
    docker start "$(cid "$leader")" > /dev/null
    wait_quorum 1 2 3 > /dev/null
    say "kill round $round: docker start zk$leader; all three serve again"
  done

  leader="$(wait_quorum 1 2 3)"
  others=(); for m in 1 2 3; do ((m != leader)) && others+=("$m"); done
  pause_ms=$((2 * SYNC_LIMIT * TICK))
  docker pause "$(cid "$leader")" > /dev/null
  next="$(wait_quorum "${others[@]}")"
  say "pause: docker pause zk$leader (leader); zk$next leads; holding the pause ${pause_ms} ms (2 x syncLimit x tickTime)"
  sleep "$(node -e "console.log($pause_ms / 1000)")"
  docker unpause "$(cid "$leader")" > /dev/null
  wait_quorum 1 2 3 > /dev/null
  found="$(mode_of "$leader")"
  say "pause: docker unpause zk$leader; it is now $found"
  [[ "$found" == follower ]] || { say "FAIL: the paused leader did not step down to follower"; exit 1; }

  member="$(wait_quorum 1 2 3)"
  others=(); for m in 1 2 3; do ((m != member)) && others+=("$m"); done
  c="$(cid "$member")"
  before="$(ip_of "$c")"
  docker network disconnect "$NETWORK" "$c"
  # Squatters take freed addresses until one holds the member's old one: it must come back elsewhere.
  for ((i = 1; i <= SQUATTERS; i++)); do
    docker run -d --rm --network "$NETWORK" --name "$(squatter "$i")" --entrypoint sleep node:20-bookworm-slim 300 > /dev/null
    [[ "$(ip_of "$(squatter "$i")")" == "$before" ]] && break
  done
  next="$(wait_quorum "${others[@]}")"
  say "isolate: docker network disconnect zk$member ($before); zk$next leads the other two"
  docker network connect --alias "zk$member" "$NETWORK" "$c"
  after="$(ip_of "$c")"
  for ((i = 1; i <= SQUATTERS; i++)); do docker rm -f "$(squatter "$i")" > /dev/null 2>&1 || true; done
  t0=$(date +%s%3N)
  wait_quorum 1 2 3 > /dev/null
  say "isolate: docker network connect --alias zk$member at $after; it is $(mode_of "$member") after $(($(date +%s%3N) - t0)) ms"

  for m in 1 2 3; do
    docker restart -t 30 "$(cid "$m")" > /dev/null
    leader="$(wait_quorum 1 2 3)"
    say "rolling restart: docker restart zk$m; leader zk$leader"
  done

  touch "$STOP_FILE"
  set +e
  wait "$LOAD_PID"
  load_rc=$?
  set -e
  LOAD_PID=""
  cat "$WORK_DIR/load.log"
  if ((load_rc != 0)); then say "FAIL: the load failed (exit $load_rc)"; exit 1; fi
  wait_quorum 1 2 3 > /dev/null
  node "$ROOT/scripts/chaos-load.mjs" check --connect "$CONNECT" --in "$RESULTS" || { say "FAIL"; exit 1; }

  say "down/up: docker-compose down (volumes kept), then up -d"
  compose down > /dev/null 2>&1
  compose up -d > /dev/null 2>&1
  wait_quorum 1 2 3 > /dev/null
  node "$ROOT/scripts/chaos-load.mjs" check --connect "$CONNECT" --in "$RESULTS" || { say "FAIL after down/up"; exit 1; }
  say "PASS"
  exit 0
fi

# ---- --local: leader kills on a scripts/cluster.sh ensemble ----------------------------------

if [[ "$TARGET" == local ]]; then
  SIZE="${CLUSTER_SIZE:-3}"
  CLIENT_PORT="${CLUSTER_CLIENT_PORT:-2181}"
  mkdir -p "${CLUSTER_BASE_DIR:-./data}"
  WORK_DIR="$(cd "${CLUSTER_BASE_DIR:-./data}" && pwd)"
  target_leader() { "$CLUSTER" leader 2>/dev/null || true; }
  target_kill() { "$CLUSTER" kill-leader > /dev/null; }
  target_start() { "$CLUSTER" start "$1" > /dev/null; }
  target_wait() { "$CLUSTER" wait > /dev/null; }
fi

CONNECT=""
for ((i = 1; i <= SIZE; i++)); do CONNECT+="${CONNECT:+,}127.0.0.1:$((CLIENT_PORT + i - 1))"; done
RESULTS="$WORK_DIR/chaos-results.$$.json"
LOAD_LOG="$WORK_DIR/chaos-load.$$.log"

LOAD_PID=""
cleanup() {
  if [[ -n "$LOAD_PID" ]] && kill -0 "$LOAD_PID" 2>/dev/null; then kill "$LOAD_PID" 2>/dev/null || true; fi
  if [[ "$KEEP" == 0 ]]; then "$CLUSTER" stop > /dev/null 2>&1 || true; fi
  rm -f "$RESULTS"
}
trap cleanup EXIT

# ---- run ---------------------------------------------------------------------------------------

say "starting the local ensemble"
"$CLUSTER" start > /dev/null
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
