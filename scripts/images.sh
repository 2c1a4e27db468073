#!/usr/bin/env bash
# Build the test hosts' base images: Debian 12 and Debian 13 with systemd as PID 1, made by
# debootstrap from the Debian mirror that this machine's own apt configuration names.
# An image is rebuilt only when it is missing or when its recipe (this file) changes: the
# recipe's hash is a label on the image and the name of the cached root filesystem tarball.
#
# usage: scripts/images.sh [12|13 ...]      (default: both)
source "$(dirname "$0")/lib.sh"

declare -A SUITE=([12]=bookworm [13]=trixie)
# What a fresh Debian cloud image has that matters here: systemd, Python, sudo and sshd. The tests
# reach the hosts over SSH as a sudo user, as production does; the user and its key are added when
# a container starts (scripts/containers/start.yml), as cloud-init adds them on a real host.
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,gpg,openssh-server
RECIPE="$(recipe_hash "$0")"
IMAGE_CACHE="$MLSP_CACHE_DIR/images"
mkdir -p "$IMAGE_CACHE"

# The first Debian archive URI of the machine's apt configuration (deb822 or one-line style),
# and its security archive. MLSP_DEBIAN_MIRROR overrides.
apt_uris() {
  {
    grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}'
  } | grep -E '/debian(-security)?/?$' || true
}
MIRROR="${MLSP_DEBIAN_MIRROR:-$(apt_uris | grep -v -- '-security' | head -n1)}"
SECURITY="${MLSP_DEBIAN_SECURITY_MIRROR:-$(apt_uris | grep -- '-security' | head -n1)}"

# image_current VERSION: the image is there, made by this recipe.
image_current() {
  [ "$(docker image inspect -f '{{ index .Config.Labels "mlsp.recipe" }}' \
        "mlsp-mlflow-stack/debian$1:latest" 2>/dev/null || true)" = "$RECIPE" ]
}
# tarball VERSION: the cached root file system of this recipe.
tarball() { echo "$IMAGE_CACHE/debian$1-$RECIPE.tar"; }

build_one() {
  local ver=$1 suite=${SUITE[$1]} image="mlsp-mlflow-stack/debian$1:latest"
  if image_current "$ver"; then
    log "image $image: cached (recipe $RECIPE)"
    return
  fi
  local tarball
  tarball="$(tarball "$ver")"
  if [ ! -s "$tarball" ]; then
    [ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt/sources.list*; set MLSP_DEBIAN_MIRROR"
    local root start=$SECONDS
    root="$(mktemp -d "$IMAGE_CACHE/rootfs.XXXXXX")"
    trap 'rm -rf "$root"' RETURN
    log "debootstrap $suite (Debian $ver)"
    debootstrap --variant=minbase --include="$PACKAGES" "$suite" "$root" "$MIRROR" \
      >"$IMAGE_CACHE/debootstrap-$suite.log" 2>&1 \
      || die "debootstrap $suite failed: see $IMAGE_CACHE/debootstrap-$suite.log"
    {
      echo "deb $MIRROR $suite main"
      echo "deb $MIRROR $suite-updates main"
      [ -z "$SECURITY" ] || echo "deb $SECURITY $suite-security main"
    } >"$root/etc/apt/sources.list"
    # Trust what the host trusts (a TLS-intercepting proxy's CA, if any), for apt and pip.
    if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
      cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-bundle.crt"
      chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
      printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
    fi
    # A container boots faster without units that make no sense in it.
    for unit in getty.target console-getty.service systemd-firstboot.service \
                systemd-udevd.service systemd-remount-fs.service apt-daily.timer \
                apt-daily-upgrade.timer; do
      ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    echo 'container' >"$root/etc/hostname"
    : >"$root/etc/machine-id"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    log "debootstrap $suite done in $((SECONDS - start)) s"
  fi
  docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'ENV container=docker' \
    --change "LABEL mlsp.recipe=$RECIPE" \
    --change "LABEL mlsp.suite=$suite" \
    "$tarball" "$image" >/dev/null
  log "image $image: built (recipe $RECIPE)"
  # Old recipes' tarballs are dead weight.
  # Only the top folder: the other image's build may have a root file system below it, with its /proc
  # mounted (find stopped there with an error, failing the build that had succeeded).
  find "$IMAGE_CACHE" -maxdepth 1 -name "debian$ver-*.tar" ! -name "$(basename "$tarball")" -delete
}

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(12 13)
for v in "${versions[@]}"; do
  [ -n "${SUITE[$v]:-}" ] || die "unknown Debian version '$v' (known: ${!SUITE[*]})"
done
# debootstrap, when an image must be made from scratch (installed once, before the builds start).
for v in "${versions[@]}"; do
  ! image_current "$v" && [ ! -s "$(tarball "$v")" ] || continue
  command -v debootstrap >/dev/null && break
  [ "$(id -u)" = 0 ] || die "debootstrap is missing and we are not root"
  log "installing debootstrap"
  host_apt apt-get update -qq && host_apt env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  break
done
# The images at the same time: debootstrap waits on the mirror and the disk more than on the CPU.
pids=()
for v in "${versions[@]}"; do
  build_one "$v" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc = 0 ] || die "an image failed to build (see above)"
