# shellcheck shell=bash
# Shared by the benchmark scripts in this folder. Source it; do not run it.
#
# The benchmarks run on their own systemd containers (mlsp-bench-*, network mlsp-bench, label
# owner=mlsp-bench), made from the same image and with the same settings as the Molecule
# scenarios. Their inventory and throwaway secrets live in $BENCH_STATE (0700, removed with the
# containers); no secret is ever put on a command line or printed.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BENCH_DIR="$MLSP_ROOT/bench"
BENCH_STATE="${BENCH_STATE:-$MLSP_CACHE_DIR/bench-state}"
BENCH_LABEL=owner=mlsp-bench
BENCH_STACK=mlsp-bench-stack
BENCH_FLOOR=mlsp-bench-floor
BENCH_INV="$BENCH_STATE/inventory"
export BENCH_STATE BENCH_INV BENCH_STACK BENCH_FLOOR

bench_setup() {  # toolchain, engine, collection link (all cached)
  "$MLSP_ROOT/scripts/docker-engine.sh"
  activate_venv
  link_collection
  BENCH_PY="$("$MLSP_ROOT/scripts/client-venv.sh")"
  export BENCH_PY
  docker image inspect "mlsp-mlflow-stack/debian${MLSP_DISTRO:-12}:latest" >/dev/null 2>&1 \
    || die "no image mlsp-mlflow-stack/debian${MLSP_DISTRO:-12}:latest: run scripts/setup.sh"
}

bench_loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# A target is called met only when the run started on a quiet machine: the 1-minute load average
# (the first figure of bench_loadavg, taken at the start) below the number of cores. Both sides
# of every comparison are measured in the same run. bench/judge.py says the same for the Python
# benchmarks.
bench_cores() { nproc; }
bench_quiet() {  # bench_quiet "LOADAVG": true when its 1-minute figure is below the cores
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1].split()[0]) < int(sys.argv[2]) else 1)' "$1" "$(nproc)"
}
bench_judge() {  # bench_judge "LOADAVG at the start" OK(1|0): met, not met, or why not judged
  if ! bench_quiet "$1"; then
    echo "not judged: machine busy (load ${1%% *})"
  elif [ "$2" = 1 ]; then
    echo met
  else
    echo "not met"
  fi
}
bench_load_line() {  # bench_load_line "LOADAVG before" "LOADAVG after": the sentence each table prints
  local judged="quiet at the start (1-minute load below the cores): targets judged"
  bench_quiet "$1" || judged="busy at the start (1-minute load ${1%% *} >= $(nproc) cores): targets not judged"
  echo "load average $1 (before) / $2 (after) on $(nproc) cores; $judged"
}

# bench_containers NAME...: start these containers (fresh ones if they do not exist).
bench_containers() {
  local json
  json="$(printf '%s\n' "$@" | python3 -c 'import json, sys; print(json.dumps({"bench_containers": sys.stdin.read().split()}))')"
  ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
    ansible-playbook "$BENCH_DIR/containers.yml" -e "$json" >/dev/null \
    || die "could not start the containers $*"
}

bench_rm_container() { docker rm -f "$@" >/dev/null 2>&1 || true; }

# Remove every benchmark container, the network and the state (inventory, secrets).
bench_teardown() {
  log "removing the benchmark containers and their state"
  docker ps -aq --filter "label=$BENCH_LABEL" | xargs -r docker rm -f >/dev/null
  docker network ls -q --filter "label=$BENCH_LABEL" | xargs -r docker network rm >/dev/null
  rm -rf "$BENCH_STATE"
}

# The inventory of the one-container stack: one host in all four groups (like molecule/mlflow),
# the wiring from playbooks/group_vars/all.yml, every tunable at the roles' defaults, and freshly
# generated secrets (kept across the benchmarks of one run).
bench_inventory() {
  mkdir -p "$BENCH_INV/group_vars/all"
  chmod 0700 "$BENCH_STATE"
  cat >"$BENCH_INV/hosts.yml" <<EOH
---
# The benchmarks' stack: every tier on one container. Written by bench/lib.sh.
all:
  vars:
    ansible_connection: community.docker.docker
    # One process per module call instead of several, as the repository's ansible.cfg sets for
    # SSH (the way production hosts are reached).
    ansible_pipelining: true
  children:
    postgresql: {hosts: {$BENCH_STACK: }}
    pgbouncer: {hosts: {$BENCH_STACK: }}
    minio: {hosts: {$BENCH_STACK: }}
    mlflow: {hosts: {$BENCH_STACK: }}
EOH
  if [ ! -f "$BENCH_INV/group_vars/all/secrets.yml" ]; then
    (umask 077 && python3 - "$BENCH_INV/group_vars/all/secrets.yml" "$MLSP_ROOT/roles/common/vars/main.yml" <<'PY'
import secrets, sys
import yaml
with open(sys.argv[2], encoding="utf-8") as names_file:  # the one list of the secrets' names
    names = yaml.safe_load(names_file)["_common_inventory_secrets"]
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write("---\n# Throwaway secrets of the benchmark stack (bench/lib.sh).\n")
    for name in names:
        out.write(f"{name}: Bench-{secrets.token_hex(12)}\n")
PY
    )
  fi
}

# shellcheck disable=SC2120  # the benchmarks pass ansible-playbook arguments; lib.sh itself passes none
bench_site() {  # run site.yml on the benchmark stack (at most an hour); extra arguments go to ansible-playbook
  timeout 3600 ansible-playbook -i "$BENCH_INV" "$MLSP_ROOT/playbooks/site.yml" "$@"
}

# bench_ssh CONTAINER: reach CONTAINER over SSH as production hosts are reached (the ssh
# plugin's defaults: ControlPersist 60 s; pipelining on, as ansible.cfg sets it): openssh-server
# in it, a key of the benchmark's own in root's authorized_keys, and the connection variables in
# the inventory source $BENCH_STATE/ssh/hosts.yml.
bench_ssh() {
  local key="$BENCH_STATE/ssh/id_ed25519"
  mkdir -p "$BENCH_STATE/ssh" && chmod 0700 "$BENCH_STATE" "$BENCH_STATE/ssh"
  [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C mlsp-bench -f "$key"
  docker exec -e DEBIAN_FRONTEND=noninteractive "$1" apt-get install -y -qq openssh-server >/dev/null \
    || die "could not install openssh-server in $1"
  docker exec "$1" install -d -m 0700 /root/.ssh
  docker cp -q "$key.pub" "$1:/root/.ssh/authorized_keys"
  docker exec "$1" sh -ec 'chown root:root /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys && systemctl enable -q --now ssh'
  # Host variables in an inventory source of their own (give it with a second -i): as extra
  # variables they would also apply to the tasks delegated to the controller.
  cat >"$BENCH_STATE/ssh/hosts.yml" <<EOV
---
all:
  hosts:
    $1:
      ansible_connection: ssh
      ansible_host: $(bench_ip "$1")
      ansible_user: root
      ansible_ssh_private_key_file: $key
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
      ansible_pipelining: true
EOV
}

# Like Molecule's prepare: fresh package lists (the image's empty lists look recent).
bench_apt_update() { docker exec "$1" apt-get update -qq >/dev/null; }

# A converged stack to measure, made when missing (not timed here: bench/deploy.sh times it).
bench_ensure_stack() {
  bench_inventory
  if [ -f "$BENCH_STATE/converged" ] && [ "$(docker inspect -f '{{.State.Running}}' "$BENCH_STACK" 2>/dev/null)" = true ]; then
    return 0
  fi
  log "deploying the benchmark stack on $BENCH_STACK (site.yml)"
  bench_rm_container "$BENCH_STACK"
  rm -f "$BENCH_STATE/converged"
  bench_containers "$BENCH_STACK"
  bench_apt_update "$BENCH_STACK"
  bench_site >"$BENCH_STATE/site.log" 2>&1 || { tail -40 "$BENCH_STATE/site.log"; die "site.yml failed"; }
  touch "$BENCH_STATE/converged"
}

# The container's address on the benchmark network, as this host reaches it.
bench_ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }

# bench_python SCRIPT [--keep] [SCRIPT's options]: deploy the benchmark stack when it is not there,
# run bench/SCRIPT with the client venv's python, and remove the containers and state at the end
# unless --keep is given.
bench_python() {
  local script=$1 keep=0 a
  local args=()
  shift
  for a in "$@"; do
    if [ "$a" = --keep ]; then keep=1; else args+=("$a"); fi
  done
  [ "$keep" = 1 ] || trap bench_teardown EXIT
  bench_setup
  bench_ensure_stack
  "$BENCH_PY" "$BENCH_DIR/$script" "${args[@]}"
}
