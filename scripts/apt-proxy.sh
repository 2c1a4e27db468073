#!/usr/bin/env bash
# One apt cache for every test container of this machine: Debian's apt-cacher-ng, its cache in
# $MLSP_CACHE_DIR, so that a Debian package is downloaded once per machine, not once per scenario.
# The scenarios reach it through the roles' own common_apt_proxy (docs/offline.md), at the
# address of the host on docker0, which every scenario network reaches, --internal ones too.
# Idempotent: a running proxy of ours is reused. Writes the proxy's URL to
# $MLSP_CACHE_DIR/apt-cacher-ng/url, which scripts/lib.sh exports as MLSP_APT_PROXY.
#
# usage: scripts/apt-proxy.sh [--stop]     (port: $MLSP_APT_PROXY_PORT, default 3142)
source "$(dirname "$0")/lib.sh"

dir="$MLSP_CACHE_DIR/apt-cacher-ng"
port="${MLSP_APT_PROXY_PORT:-3142}"
pidfile="$dir/pid"
mkdir -p "$dir/conf" "$dir/cache" "$dir/log"

ours_running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; }

if [ "${1:-}" = --stop ]; then
  if ours_running; then kill "$(cat "$pidfile")"; log "apt-cacher-ng: stopped"; fi
  rm -f "$pidfile" "$dir/url"
  exit 0
fi

if ! [ -x /usr/sbin/apt-cacher-ng ]; then
  [ "$(id -u)" = 0 ] || die "apt-cacher-ng is not installed and this is not root: install it, then re-run"
  log "installing apt-cacher-ng"
  # Not as a service: this machine may have no systemd; the proxy is started below.
  host_apt env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends apt-cacher-ng >/dev/null \
    || { host_apt timeout 300 apt-get update -qq && host_apt env DEBIAN_FRONTEND=noninteractive timeout 300 \
         apt-get install -y -qq --no-install-recommends apt-cacher-ng >/dev/null; } \
    || die "could not install apt-cacher-ng"
fi

# The package's own configuration remaps Debian to a backend mirror of its choosing: this one
# fetches from what the containers ask for (the mirror their sources name), nothing else.
cat > "$dir/conf/acng.conf.new" <<CONF
CacheDir: $dir/cache
LogDir: $dir/log
Port: $port
ExThreshold: 4
CONF
if ! cmp -s "$dir/conf/acng.conf.new" "$dir/conf/acng.conf"; then
  mv "$dir/conf/acng.conf.new" "$dir/conf/acng.conf"
  if ours_running; then kill "$(cat "$pidfile")"; sleep 1; fi
else
  rm -f "$dir/conf/acng.conf.new"
fi

if ours_running && answers; then
  log "apt-cacher-ng: running (pid $(cat "$pidfile"), port $port)"
else
  answers && die "port $port is taken by another program: stop it or set MLSP_APT_PROXY_PORT"
  log "apt-cacher-ng: starting on port $port (log: $dir/log)"
  # In a session of its own: the proxy outlives the shell (and the job) that started it.
  setsid nohup /usr/sbin/apt-cacher-ng -c "$dir/conf" ForeGround=1 >"$dir/log/stdout.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 30); do answers && break; sleep 1; done
  answers || die "apt-cacher-ng did not answer on port $port within 30 s; see $dir/log"
fi

# The host's address on docker0: every scenario network reaches it (the host's own address, not
# routed between networks), also one made with --internal.
addr="$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n1)"
[ -n "$addr" ] || die "no address on docker0: start the Docker engine first (scripts/docker-engine.sh)"
echo "http://$addr:$port" > "$dir/url"
log "apt proxy for the containers: $(cat "$dir/url")"
