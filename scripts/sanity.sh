#!/usr/bin/env bash
# ansible-test sanity for the collection. ansible-test wants the collection at
# .../ansible_collections/mlsp/mlflow_stack: we mirror the working tree there, in the cache, so
# that the sanity virtual environments it makes (tests/output/) survive between runs; one mirror per
# checkout (its run id, scripts/lib.sh), so that two checkouts' runs do not overwrite each other's.
#
# usage: scripts/sanity.sh [ansible-test sanity options, e.g. --test validate-modules]
source "$(dirname "$0")/lib.sh"
activate_venv

dest="${MLSP_SANITY_DIR:-$MLSP_CACHE_DIR/sanity/$MLSP_RUN_ID}/ansible_collections/mlsp/mlflow_stack"
mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
[ ! -d "$dest/tests" ] || find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
(cd "$MLSP_ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$dest" -xf -

# ansible-test bootstraps pip in each venv with a script it downloads; give it our stand-in.
pip_ver="$(python - <<'PY'
import pathlib, re, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([0-9.]+)'", src.read_text()).group(1))
PY
)"
mkdir -p "$HOME/.ansible/test/cache"
cp "$MLSP_ROOT/scripts/get_pip_standin.py" "$HOME/.ansible/test/cache/get_pip_${pip_ver//./_}.py"

py="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
cd "$dest"
ansible-test sanity --venv --python "$py" --requirements --color no "$@"
