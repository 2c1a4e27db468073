#!/usr/bin/env bash
# Build the collection tarball and install it --offline into an empty collections path, as a
# user without Galaxy would, then syntax-check its playbooks from there.
#
# usage: scripts/collection-build.sh [OUTPUT_DIR]   (default: a temporary folder)
source "$(dirname "$0")/lib.sh"
activate_venv

out="${1:-$(mktemp -d)}"
mkdir -p "$out"
version="$(python -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$MLSP_ROOT/galaxy.yml")"
ansible-galaxy collection build --force --output-path "$out" "$MLSP_ROOT"
tarball="$out/mlsp-mlflow_stack-$version.tar.gz"
empty="$(mktemp -d)"
trap 'rm -rf "$empty"' EXIT
# No ansible.cfg and only the empty path: nothing from the working tree can leak in.
(cd "$empty" && ANSIBLE_CONFIG='' ANSIBLE_COLLECTIONS_PATH="$empty" \
  ansible-galaxy collection install --offline -p "$empty" "$tarball")
installed="$empty/ansible_collections/mlsp/mlflow_stack"
[ -f "$installed/MANIFEST.json" ] || die "the tarball did not install into $empty"
for pb in "$installed"/playbooks/*.yml; do
  name="$(basename "$pb" .yml)"
  (cd "$empty" && ANSIBLE_CONFIG='' ANSIBLE_COLLECTIONS_PATH="$empty" \
    ansible-playbook --syntax-check "mlsp.mlflow_stack.$name" >/dev/null) \
    || die "playbook mlsp.mlflow_stack.$name fails its syntax check from the installed tarball"
done
# Nothing that belongs to development only may ship.
if tar tzf "$tarball" | grep -E '^(molecule|tests|scripts|\.ci|\.config)/' >/dev/null; then
  die "the tarball carries development files"
fi
log "collection tarball: $tarball ($(du -h "$tarball" | cut -f1)), offline install OK"
