#!/usr/bin/env bash
# Builds a local Docker image named node:20-bookworm-slim, for machines that reach Debian's
# mirror and the npm registry but no container registry: docker/Dockerfile then builds unchanged.
#
#   scripts/docker-base-image.sh           build it unless an image of that name exists (idempotent)
#   scripts/docker-base-image.sh --force   rebuild and replace it
#
# The image is a Debian bookworm root filesystem from `mmdebstrap --variant=minbase` (plus
# libstdc++6, which node links against), the host's own node and npm (which must be Node.js 20),
# the host's system CA bundle at /etc/ssl/certs/ca-certificates.crt with NODE_EXTRA_CA_CERTS
# pointing at it (so npm inside a build trusts what npm on the host trusts), and the `node` user
# (uid/gid 1000) and layout of the official image (/usr/local/bin/node, CMD ["node"]).
# Debian sources: the host's apt sources for bookworm, bookworm-updates and bookworm-security
# (override with DEBIAN_MIRROR=http://.../debian). Starts dockerd when needed (scripts/docker-engine.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="node:20-bookworm-slim"
SUITE=bookworm
CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
FORCE=0

say() { echo "docker-base-image.sh: $*" >&2; }
die() { say "$*"; exit 1; }

case "${1:-}" in
  '') ;;
  --force) FORCE=1 ;;
  -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) say "unknown argument $1"; sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

"$ROOT/scripts/docker-engine.sh"

if ((FORCE == 0)) && docker image inspect "$IMAGE" > /dev/null 2>&1; then
  say "$IMAGE exists ($(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-19)); nothing to do (--force rebuilds it)"
  exit 0
fi

command -v mmdebstrap > /dev/null 2>&1 || die "mmdebstrap is not installed: apt-get install -y mmdebstrap"
[[ "$(id -u)" == 0 ]] || die "mmdebstrap's root mode needs root"
NODE_BIN="$(command -v node)" || die "no node on PATH"
NODE_VERSION="$("$NODE_BIN" --version)"
[[ "$NODE_VERSION" == v20.* ]] || die "the host's node is $NODE_VERSION; the image is named for Node.js 20"
# npm's package directory, found from npm itself (Debian's nodejs and NodeSource put it in different places).
NPM_DIR="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
[[ -f "$NPM_DIR/package.json" && "$(basename "$NPM_DIR")" == npm ]] || die "cannot find npm's package directory (looked at $NPM_DIR)"
NODE_MODULES_DIR="$(dirname "$NPM_DIR")"
[[ -s "$CA_BUNDLE" ]] || die "no CA bundle at $CA_BUNDLE (set HOST_CA_BUNDLE)"

# The host's bookworm sources, one `deb URI SUITE main` line each; deb.debian.org when apt names none.
SOURCES=()
if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
  SOURCES=("deb $DEBIAN_MIRROR $SUITE main")
else
  while read -r uri release; do
    SOURCES+=("deb $uri $release main")
  done < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null \
             | awk -v s="$SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security"' | sort -u)
  ((${#SOURCES[@]} > 0)) || SOURCES=("deb http://deb.debian.org/debian $SUITE main")
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROOTFS_TAR="$WORK/rootfs.tar"

say "building $IMAGE: mmdebstrap --variant=minbase $SUITE from: ${SOURCES[*]}"
say "adding node $NODE_VERSION ($NODE_BIN), npm $(npm --version) ($NPM_DIR), CA bundle $CA_BUNDLE"
t0=$SECONDS
# The customize hooks run on the finished tree ("$1" is its root) before it is packed.
mmdebstrap --quiet --variant=minbase --include=libstdc++6 \
  --customize-hook='mkdir -p "$1/usr/local/bin" "$1/usr/local/lib/node_modules" "$1/etc/ssl/certs"' \
  --customize-hook="cp '$NODE_BIN' \"\$1/usr/local/bin/node\"" \
  --customize-hook="cp -a '$NPM_DIR' \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook="if [ -d '$NODE_MODULES_DIR/corepack' ]; then cp -a '$NODE_MODULES_DIR/corepack' \"\$1/usr/local/lib/node_modules/corepack\"; ln -s ../lib/node_modules/corepack/dist/corepack.js \"\$1/usr/local/bin/corepack\"; fi" \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
  --customize-hook="cp '$CA_BUNDLE' \"\$1/etc/ssl/certs/ca-certificates.crt\"" \
  --customize-hook='echo "node:x:1000:" >> "$1/etc/group"' \
  --customize-hook='echo "node:!::" >> "$1/etc/gshadow"' \
  --customize-hook='echo "node:x:1000:1000::/home/node:/bin/bash" >> "$1/etc/passwd"' \
  --customize-hook='echo "node:!:19000:0:99999:7:::" >> "$1/etc/shadow"' \
  --customize-hook='mkdir -p "$1/home/node" && chown 1000:1000 "$1/home/node"' \
  --customize-hook='chroot "$1" /usr/local/bin/node --version > /dev/null' \
  "$SUITE" "$ROOTFS_TAR" "${SOURCES[@]}"

docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${NODE_VERSION#v}" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'LABEL org.opencontainers.image.description="Local stand-in for node:20-bookworm-slim, built by zabkeeper scripts/docker-base-image.sh"' \
  --change 'CMD ["node"]' \
  --message "mmdebstrap --variant=minbase $SUITE + host node $NODE_VERSION" \
  "$ROOTFS_TAR" "$IMAGE" > /dev/null

# The image must run node and npm, and trust the bundle, before anything builds on it.
docker run --rm "$IMAGE" sh -c 'node --version && npm --version && test -s "$NODE_EXTRA_CA_CERTS" && id node' >&2 \
  || die "the new $IMAGE does not run node/npm"
say "built $IMAGE in $((SECONDS - t0)) s ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}'))"
