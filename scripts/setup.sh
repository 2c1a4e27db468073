#!/usr/bin/env bash
# Everything the tests and the sandbox need on this machine, each step cached:
# the controller's virtual environment, a running Docker engine, the base images, the apt proxy
# and the wheelhouse that the test hosts install from (docs/offline.md), and the MinIO binary
# built from source.
#
# usage: scripts/setup.sh [--no-images] [--no-minio] [--images-only]
#   --images-only  the Docker engine, the apt proxy and the base images only: no Python, so
#                  scripts/test.sh starts it before the controller's venv (a run of setup.sh
#                  meanwhile waits for it, on images.lock, and then finds them done)
source "$(dirname "$0")/lib.sh"

images=1 minio=1 rest=1
for a in "$@"; do
  case $a in
    --no-images) images=0 ;;
    --no-minio) minio=0 ;;
    --images-only) rest=0 ;;
    *) die "unknown option $a" ;;
  esac
done
images() {
  # shellcheck disable=SC2086  # one argument per distro
  flock -o -w 1800 "$MLSP_CACHE_DIR/images.lock" bash -euo pipefail -c '
    "$MLSP_ROOT/scripts/docker-engine.sh"
    "$MLSP_ROOT/scripts/apt-proxy.sh"  # the containers install through it, from the first image on
    "$MLSP_ROOT/scripts/images.sh" "$@"' images ${MLSP_DISTROS:-12 13}
}
if [ $rest = 0 ]; then
  images
  exit 0
fi
"$MLSP_ROOT/scripts/venv.sh"
activate_venv
link_collection
images_pid=
if [ $images = 1 ]; then
  # The images (the mirror and the disk) beside the wheelhouse and the MinIO build (the index,
  # then the CPU).
  images &
  images_pid=$!
fi
"$MLSP_ROOT/scripts/wheelhouse.sh"
if [ $minio = 1 ]; then
  log "MinIO binary (playbooks/build_minio.yml)"
  ansible-playbook "$MLSP_ROOT/playbooks/build_minio.yml"
fi
[ -z "$images_pid" ] || wait "$images_pid" || die "the base images failed to build (see above)"
