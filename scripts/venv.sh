#!/usr/bin/env bash
# Make (or reuse) the controller's virtual environment from requirements.txt.
# The venv lives in the cache, named after the hash of requirements.txt: changing a pin makes a
# new one, and a fresh clone with the same pins reuses the old one.
source "$(dirname "$0")/lib.sh"

v="$(venv_dir)"
if [ -x "$v/bin/ansible-playbook" ] && [ -f "$v/.complete" ]; then
  log "virtual environment: $v (cached)"
  exit 0
fi
command -v python3 >/dev/null || die "python3 is required on the controller"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "python3 >= 3.11 is required on the controller (ansible-core 2.19)"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  log "installing python3-venv"
  host_apt apt-get install -y python3-venv >/dev/null
fi
log "creating virtual environment $v"
rm -rf "$v"
python3 -m venv "$v"
"$v/bin/python" -m pip install --quiet --upgrade pip==26.3
"$v/bin/python" -m pip install --quiet -r "$MLSP_ROOT/requirements.txt"
touch "$v/.complete"
log "virtual environment ready: $v"
