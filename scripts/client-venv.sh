#!/usr/bin/env bash
# Make (or reuse) the MLflow client venv from tests/requirements-client.txt; print its python.
source "$(dirname "$0")/lib.sh"
v="$MLSP_CACHE_DIR/client-venv-$(recipe_hash "$MLSP_ROOT/tests/requirements-client.txt")"
# Two jobs of scripts/test.sh may ask for it at once (the stack scenario's tests and the sandbox's
# user path, side by side): one makes it while the other waits, instead of each removing what the
# other is installing.
exec 9>"$v.lock"
flock 9
if [ ! -f "$v/.complete" ]; then
  log "creating the MLflow client venv $v"
  rm -rf "$v"
  python3 -m venv "$v"
  "$v/bin/python" -m pip install --quiet --upgrade pip==26.3 >&2
  "$v/bin/python" -m pip install --quiet -r "$MLSP_ROOT/tests/requirements-client.txt" >&2
  touch "$v/.complete"
fi
echo "$v/bin/python"
