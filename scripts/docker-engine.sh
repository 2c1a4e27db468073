#!/usr/bin/env bash
# Make sure a Docker engine answers: install Debian's docker.io when dockerd is missing, start
# dockerd when it is not running, then wait until it answers (bounded).
source "$(dirname "$0")/lib.sh"

if docker info >/dev/null 2>&1; then
  log "docker engine: running"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "no Docker engine and not root: install and start Docker, then re-run"
  command -v apt-get >/dev/null || die "no Docker engine and no apt-get: install and start Docker"
  log "installing docker.io"
  host_apt apt-get update -qq
  host_apt env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    log "starting docker.service"
    systemctl start docker || true
  fi
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd in the background (log: $MLSP_CACHE_DIR/dockerd.log)"
  # In a session of its own: the engine outlives the shell (and the job) that started it.
  setsid nohup dockerd >"$MLSP_CACHE_DIR/dockerd.log" 2>&1 < /dev/null &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { log "docker engine: running"; exit 0; }
  sleep 1
done
die "the Docker engine did not answer within 60 s; see $MLSP_CACHE_DIR/dockerd.log"
