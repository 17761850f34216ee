#!/usr/bin/env bash
# with-podman-socket.sh COMMAND...: run COMMAND with podman's Docker-compatible API as
# its Docker (Testcontainers in Go, Node, Java, … find it through DOCKER_HOST), then stop it.
# Ryuk, Testcontainers' reaper container, is turned off: its image cannot be pulled
# everywhere, and the tests terminate their own containers. CONTAINERS_CONF defaults to
# .ci/containers.conf (runc, bounded ulimits; see docs/container.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/.ci/containers.conf}
dir=$(mktemp -d)
sock=$dir/podman.sock
podman system service --time=0 "unix://$sock" 2>"$dir/service.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/service.log" >&2; exit 1; }
	sleep 0.1
done
[ -S "$sock" ] || { echo "podman system service: no socket at $sock after 10 s" >&2; exit 1; }
export DOCKER_HOST=unix://$sock TESTCONTAINERS_RYUK_DISABLED=true
"$@"
