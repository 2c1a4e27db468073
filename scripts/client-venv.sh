#!/usr/bin/env bash
# Make (or reuse) the MLflow client venv from tests/requirements-client.txt; print its python.
source "$(dirname "$0")/lib.sh"
v="$MLSP_CACHE_DIR/client-venv-$(recipe_hash "$MLSP_ROOT/tests/requirements-client.txt")"
if [ ! -f "$v/.complete" ]; then
  log "creating the MLflow client venv $v"
  rm -rf "$v"
  python3 -m venv "$v"
  "$v/bin/python" -m pip install --quiet --upgrade pip==26.3 >&2
  "$v/bin/python" -m pip install --quiet -r "$MLSP_ROOT/tests/requirements-client.txt" >&2
  touch "$v/.complete"
fi
echo "$v/bin/python"
