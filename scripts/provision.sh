#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond npm packages, printing what it does:
# Debian packages (Apache ZooKeeper 3.8 for zkCli.sh, kazoo, Apache Curator and a JDK, the C client, Docker engine, docker-compose,
# mmdebstrap), a running dockerd, and the local node:20-bookworm-slim base image that
# docker/Dockerfile builds on. Idempotent: what is already there is only reported.
#
#   scripts/provision.sh          as root (or with passwordless sudo) on Debian bookworm
#
# Exit 0 = everything in place; 1 = something is missing and could not be installed (says what).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { echo "provision.sh: $*" >&2; }

# package -> why the tests need it
PACKAGES=(
  "zookeeper:Apache ZooKeeper 3.8's zkCli.sh and server, for interop tests"
  "python3-kazoo:kazoo, the Python client, for interop tests"
  "libcurator-recipes-java:Apache Curator's framework and recipes, for interop tests"
  "libcurator-discovery-java:Apache Curator's service discovery, for interop tests"
  "openjdk-17-jdk-headless:javac, which compiles the Curator interop scenarios"
  "zookeeper-bin:cli_mt, Apache ZooKeeper's C client, for interop tests"
  "docker.io:the Docker engine (dockerd), for the docker-compose cluster tests"
  "docker-compose:docker-compose, which runs docker/docker-compose.yml"
  "mmdebstrap:builds the local Debian base image (no container registry is reachable)"
)

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for entry in "${PACKAGES[@]}"; do
  pkg="${entry%%:*}"
  if installed "$pkg"; then
    say "have $pkg"
  else
    say "installing $pkg: ${entry#*:}"
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get update -qq || ! as_root apt-get install -y -qq "${missing[@]}" > /dev/null; then
    say "could not install ${missing[*]}: run as root, or: apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installed ${missing[*]}"
fi

if [[ "$(id -u)" != 0 ]] && ! docker info > /dev/null 2>&1; then
  say "no Docker engine answers and starting one needs root: sudo $ROOT/scripts/docker-engine.sh"
  exit 1
fi
"$ROOT/scripts/docker-engine.sh"
say "dockerd answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
"$ROOT/scripts/docker-base-image.sh"
