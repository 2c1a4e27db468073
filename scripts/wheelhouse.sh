#!/usr/bin/env bash
# The wheelhouse the test hosts install their Python packages from (the roles' own
# common_pip_wheelhouse, docs/offline.md), built by playbooks/wheelhouse.yml in
# $MLSP_CACHE_DIR/wheelhouse: one set per requirements hash and Python version (Debian 12's 3.11,
# Debian 13's 3.13), kept, so that a set is downloaded once per machine and a re-run with the same
# pins only checks that the sets are there. Besides the roles' pins: the MLflow versions the
# scenarios install first (mlflow_version in molecule/*/prepare.yml, the upgrade path).
# scripts/lib.sh exports the folder as MLSP_WHEELHOUSE once it exists.
#
# usage: scripts/wheelhouse.sh
source "$(dirname "$0")/lib.sh"
activate_venv
link_collection

extra="$(sed -n 's/^ *mlflow_version: *"\{0,1\}\([0-9][0-9.]*\)"\{0,1\} *$/"\1"/p' "$MLSP_ROOT"/molecule/*/prepare.yml \
         | sort -u | paste -sd, -)"
log "wheelhouse: $MLSP_CACHE_DIR/wheelhouse (playbooks/wheelhouse.yml)"
timeout 1800 ansible-playbook "$MLSP_ROOT/playbooks/wheelhouse.yml" \
  -e "{\"common_pip_wheelhouse\": \"$MLSP_CACHE_DIR/wheelhouse\", \"wheelhouse_mlflow_extra_versions\": [$extra]}"
