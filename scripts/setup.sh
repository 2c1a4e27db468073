#!/usr/bin/env bash
# Everything the tests and the sandbox need on this machine, each step cached:
# the controller's virtual environment, a running Docker engine, the base images, the apt proxy
# and the wheelhouse that the test hosts install from (docs/offline.md), and the MinIO binary
# built from source.
#
# usage: scripts/setup.sh [--no-images] [--no-minio]
source "$(dirname "$0")/lib.sh"

images=1 minio=1
for a in "$@"; do
  case $a in
    --no-images) images=0 ;;
    --no-minio) minio=0 ;;
    *) die "unknown option $a" ;;
  esac
done
"$MLSP_ROOT/scripts/venv.sh"
activate_venv
link_collection
images_pid=
if [ $images = 1 ]; then
  "$MLSP_ROOT/scripts/docker-engine.sh"
  "$MLSP_ROOT/scripts/apt-proxy.sh"  # before the images: one apt-get at a time on this machine
  # The images (the mirror and the disk) beside the wheelhouse and the MinIO build (the index,
  # then the CPU).
  # shellcheck disable=SC2086  # one argument per distro
  "$MLSP_ROOT/scripts/images.sh" ${MLSP_DISTROS:-12 13} &
  images_pid=$!
fi
"$MLSP_ROOT/scripts/wheelhouse.sh"
if [ $minio = 1 ]; then
  log "MinIO binary (playbooks/build_minio.yml)"
  ansible-playbook "$MLSP_ROOT/playbooks/build_minio.yml"
fi
[ -z "$images_pid" ] || wait "$images_pid" || die "the base images failed to build (see above)"
