#!/usr/bin/env bash
# Makes sure a Docker engine answers `docker info`: starts Debian's dockerd in the background when
# none runs (as root), then waits for it. Exit 0 = engine up, 1 = it could not be started.
#
#   scripts/docker-engine.sh            start dockerd if needed and wait (up to DOCKERD_WAIT_SECONDS, 60)
#
# dockerd's output goes to DOCKERD_LOG (default /var/log/zabkeeper-dockerd.log). An engine that is
# already running (systemd's, another user's) is used as it is and never restarted.
set -euo pipefail

WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
LOG="${DOCKERD_LOG:-/var/log/zabkeeper-dockerd.log}"

say() { echo "docker-engine.sh: $*" >&2; }

if ! command -v docker > /dev/null 2>&1; then
  say "no docker client on PATH: install Debian's docker.io (apt-get install -y docker.io)"
  exit 1
fi
if docker info > /dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd > /dev/null 2>&1; then
  say "no Docker engine answers and dockerd is not installed: apt-get install -y docker.io"
  exit 1
fi
if [[ "$(id -u)" != 0 ]]; then
  say "no Docker engine answers, and starting dockerd needs root"
  exit 1
fi

say "starting dockerd (log: $LOG)"
mkdir -p "$(dirname "$LOG")"
# setsid: the engine outlives this script and the shell that ran it (CI runs many commands after).
setsid dockerd > "$LOG" 2>&1 < /dev/null &
DOCKERD_PID=$!
deadline=$((SECONDS + WAIT_SECONDS))
until docker info > /dev/null 2>&1; do
  if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
    say "dockerd exited while starting; the end of its log:"
    tail -n 30 "$LOG" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    say "dockerd did not answer within ${WAIT_SECONDS} s; the end of its log:"
    tail -n 30 "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
say "dockerd is up (pid $DOCKERD_PID, server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
