# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; do not run it.
set -euo pipefail

MLSP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything slow to make lives here, outside the repo, keyed by version or recipe hash,
# so that a fresh clone on the same machine reuses it.
MLSP_CACHE_DIR="${MLSP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mlsp-mlflow-stack}"
export MLSP_ROOT MLSP_CACHE_DIR
mkdir -p "$MLSP_CACHE_DIR"

# The apt proxy and the wheelhouse that scripts/setup.sh makes (scripts/apt-proxy.sh,
# scripts/wheelhouse.sh), exported as MLSP_APT_PROXY and MLSP_WHEELHOUSE when they are there: the
# scenarios hand them to the roles as common_apt_proxy and common_pip_wheelhouse. A value set by
# the caller wins ("" to test without). Called again by scripts/test.sh after its setup stage.
offline_env() {
  local acng="$MLSP_CACHE_DIR/apt-cacher-ng"
  if [ -z "${MLSP_APT_PROXY+set}" ] && [ -s "$acng/url" ] \
     && kill -0 "$(cat "$acng/pid" 2>/dev/null || echo 0)" 2>/dev/null; then
    MLSP_APT_PROXY="$(cat "$acng/url")"
    export MLSP_APT_PROXY
  fi
  if [ -z "${MLSP_WHEELHOUSE+set}" ] && [ -d "$MLSP_CACHE_DIR/wheelhouse" ]; then
    export MLSP_WHEELHOUSE="$MLSP_CACHE_DIR/wheelhouse"
  fi
}
offline_env

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The run id that the test containers' and networks' names carry (molecule/*/molecule.yml:
# `<platform>-${MLSP_RUN_ID}`), so that two checkouts on one machine can test at the same time:
# by default a short hash of this checkout's path, the same for every run from it (a scenario's
# first `destroy` then removes what an interrupted run of it left).
MLSP_RUN_ID="${MLSP_RUN_ID:-$(printf '%s' "$MLSP_ROOT" | sha256sum | cut -c1-8)}"
[[ $MLSP_RUN_ID =~ ^[a-z0-9][a-z0-9-]{0,23}$ ]] || die "MLSP_RUN_ID must be 1 to 24 of a-z, 0-9 and -, not '$MLSP_RUN_ID'"
export MLSP_RUN_ID

# host_apt COMMAND...: an apt-get on this machine, one at a time: the setup's steps run side by
# side (the base images start before the controller's venv), and apt holds its locks without waiting.
host_apt() { flock -o -w 900 "$MLSP_CACHE_DIR/host-apt.lock" "$@"; }

# sha256 of the files given, as one short key.
recipe_hash() { cat "$@" | sha256sum | cut -c1-12; }

# The venv path for the current requirements file.
venv_dir() { echo "$MLSP_CACHE_DIR/venv-$(recipe_hash "$MLSP_ROOT/requirements.txt")"; }

# Put the project's venv on PATH (call scripts/setup.sh first).
activate_venv() {
  local v
  v="$(venv_dir)"
  [ -x "$v/bin/ansible-playbook" ] || die "no virtual environment at $v: run scripts/setup.sh"
  export VIRTUAL_ENV="$v" PATH="$v/bin:$PATH"
  export ANSIBLE_CONFIG="$MLSP_ROOT/ansible.cfg"
}

# Make the collection resolvable by its FQCN from the working tree (playbooks, sandbox).
link_collection() {
  local d="$MLSP_ROOT/.ansible/collections/ansible_collections/mlsp"
  mkdir -p "$d"
  # A copy installed there (ansible-lint installs the collection it checks) would hide the edits
  # of this tree: replace anything but the link.
  if [ "$(readlink "$d/mlflow_stack" 2>/dev/null)" != "$MLSP_ROOT" ]; then
    rm -rf "$d/mlflow_stack" && ln -sfn "$MLSP_ROOT" "$d/mlflow_stack"
  fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now (the user paths' and the scale
# benchmark's sandboxes publish on free ports, so that they leave a user's sandbox alone).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
