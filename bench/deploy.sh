#!/usr/bin/env bash
# Benchmark 1, deploy: how long a fresh stack takes to come up with site.yml, against the floor
# (the package installs alone), and how long a no-op re-run takes.
#
#   1. the floor: in a bare container of the same image, only the installs the stack needs: the
#      apt packages of the roles (PostgreSQL, PgBouncer, python3-venv, ...), the pinned MLflow set
#      in a venv, the MinIO admin venv, and a copy of the cached MinIO binary;
#   2. site.yml on a fresh container, the whole stack on one host (inventory like molecule/mlflow),
#      over SSH as production hosts are reached (sshd is added to the container first, not timed);
#   3. site.yml again on the converged stack, NOOP_RUNS times over SSH and as many over docker exec
#      (the test containers' connection), in turn (medians; each must report changed=0).
# Both containers start with the same caches, warmed before anything is timed: the package lists
# (apt-get update, as Molecule's prepare does), the .deb files, pip's cache (shared with the
# Molecule containers) and the MinIO build in the controller's cache.
#
# usage: bench/deploy.sh [--keep] [--noop-runs N] [--baseline REF] [--noop-only]
#   --keep          leave the stack container (bench/tracking.sh and bench/artifacts.sh reuse it)
#                   and the state; without it the benchmark's containers are removed at the end
#   --baseline REF  also time the no-op re-runs of the collection at git ref REF (its tree copied
#                   to the state folder, with a collection path of its own), in turn with the
#                   working tree's on the same converged stack: medians, ratio, task counts of each
#   --noop-only     only step 3, on the stack that a run with --keep left (no floor, no deploy)
# BENCH_STACK and BENCH_FLOOR in the environment give the containers other names than lib.sh's,
# so that this benchmark can run beside another one; then only these two are removed at the end.
stack_name=${BENCH_STACK:-} floor_name=${BENCH_FLOOR:-}
source "$(dirname "$0")/lib.sh"
BENCH_STACK=${stack_name:-$BENCH_STACK} BENCH_FLOOR=${floor_name:-$BENCH_FLOOR}
export BENCH_STACK

keep=0 noop_runs=3 baseline='' noop_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=1; shift ;;
    --noop-runs) noop_runs=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --noop-only) noop_only=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
warm=$BENCH_FLOOR-warm
# shellcheck disable=SC2153 # BENCH_STATE comes from lib.sh
own_teardown() {  # containers named by the environment: only ours go
  log "removing $BENCH_STACK, $BENCH_FLOOR and the state"
  bench_rm_container "$BENCH_STACK" "$BENCH_FLOOR" "$warm"
  rm -rf "$BENCH_STATE"
}
if [ "$keep" = 0 ]; then
  if [ -n "$stack_name$floor_name" ]; then trap own_teardown EXIT; else trap bench_teardown EXIT; fi
fi

bench_setup
bench_inventory

# What the roles install, read from their defaults and vars (the floor installs the same).
eval "$(python3 - "$MLSP_ROOT" <<'PY'
import shlex, sys, yaml
root = sys.argv[1]
def load(path):
    with open(f"{root}/{path}", encoding="utf-8") as f:
        return yaml.safe_load(f)
mlflow = load("roles/mlflow/defaults/main.yml")
minio = load("roles/minio/defaults/main.yml")
pg_vars = load("roles/postgresql/vars/main.yml")
mlflow_vars = load("roles/mlflow/vars/main.yml")
# postgresql-common and PgBouncer are named in the roles' install tasks, the MinIO admin venv's
# python3-venv and python3-packaging too.
apt = (["postgresql-common"] + pg_vars["_postgresql_packages"] + ["pgbouncer"]
       + mlflow_vars["_mlflow_apt_packages"])
pip_mlflow = [f"mlflow[auth]=={mlflow['mlflow_version']}",
              f"psycopg2-binary=={mlflow['mlflow_psycopg2_version']}",
              f"boto3=={mlflow['mlflow_boto3_version']}"]
print("APT_PKGS=" + shlex.quote(" ".join(dict.fromkeys(apt))))
print("PIP_MLFLOW=" + shlex.quote(" ".join(shlex.quote(p) for p in pip_mlflow)))
print("PIP_MINIO=" + shlex.quote(" ".join(shlex.quote(p) for p in minio["minio_admin_packages"])))
print("MINIO_BUILD=" + shlex.quote(f"{minio['minio_release']}-{minio['minio_commit']}-linux-amd64"))
PY
)"
minio_bin="$MLSP_CACHE_DIR/minio/$MINIO_BUILD/minio"
[ -x "$minio_bin" ] || die "no MinIO build at $minio_bin: run scripts/setup.sh"

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
in_floor() { timeout 1800 docker exec "$BENCH_FLOOR" sh -ec "$1"; }
ssh_vars=(-i "$BENCH_STATE/ssh/hosts.yml")

# The baseline: REF's tree, resolvable by its own FQCN path (its ansible.cfg names it).
if [ -n "$baseline" ]; then
  base_root="$BENCH_STATE/baseline"
  base_rev="$(git -C "$MLSP_ROOT" rev-parse --short "$baseline^{commit}")" || die "no git ref $baseline"
  rm -rf "$base_root" && mkdir -p "$base_root/.ansible/collections/ansible_collections/mlsp"
  git -C "$MLSP_ROOT" archive "$base_rev" | tar -x -C "$base_root"
  ln -sfn "$base_root" "$base_root/.ansible/collections/ansible_collections/mlsp/mlflow_stack"
fi
# run_site VARIANT [ansible-playbook arguments]: site.yml of the working tree (current) or of the
# baseline, on the benchmark stack.
run_site() {
  local variant=$1
  shift
  if [ "$variant" = baseline ]; then
    # The working tree's CA, wherever the baseline's default puts it: a CA of its own would
    # re-issue every certificate on each run of either.
    ANSIBLE_CONFIG="$base_root/ansible.cfg" timeout 3600 \
      ansible-playbook -i "$BENCH_INV" "$base_root/playbooks/site.yml" \
      -e "mlsp_tls_ca_dir=$BENCH_INV/.pki" "$@"
  else
    bench_site "$@"
  fi
}

if [ "$noop_only" = 1 ]; then
  if [ ! -f "$BENCH_STATE/converged" ] || [ ! -f "$BENCH_STATE/ssh/hosts.yml" ] \
    || [ "$(docker inspect -f '{{.State.Running}}' "$BENCH_STACK" 2>/dev/null)" != true ]; then
    die "no converged $BENCH_STACK in $BENCH_STATE: run once with --keep"
  fi
  load_before="$(bench_loadavg)"
else
  log "fresh containers $BENCH_FLOOR and $BENCH_STACK"
  bench_rm_container "$BENCH_STACK" "$BENCH_FLOOR" "$warm"
  rm -f "$BENCH_STATE/converged"
  bench_containers "$BENCH_FLOOR" "$BENCH_STACK" "$warm"

  log "warming the caches (not timed): package lists, .deb files, pip"
  for c in "$BENCH_FLOOR" "$BENCH_STACK"; do
    bench_apt_update "$c"
    # shellcheck disable=SC2086
    docker exec -e DEBIAN_FRONTEND=noninteractive "$c" apt-get install -y -qq --download-only $APT_PKGS >/dev/null
  done
  # pip's cache is the host's (mounted in every container); fill it from a third container, so that
  # the floor's python3-venv is not installed before it is timed.
  bench_apt_update "$warm"
  docker exec -e DEBIAN_FRONTEND=noninteractive "$warm" apt-get install -y -qq python3-venv >/dev/null
  docker exec "$warm" sh -ec "python3 -m venv /var/tmp/warm && /var/tmp/warm/bin/pip download -q -d /var/tmp/warm/dl $PIP_MLFLOW $PIP_MINIO"
  bench_rm_container "$warm"
  # The stack is deployed and re-run over SSH, the way production hosts are reached: sshd on the
  # stack's container (not timed; no role uses it).
  bench_ssh "$BENCH_STACK"

  load_before="$(bench_loadavg)"
  log "floor: the installs alone, in $BENCH_FLOOR"
  t0=$(now)
  in_floor "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PKGS >/dev/null"
  t1=$(now)
  in_floor "python3 -m venv /opt/mlflow && /opt/mlflow/bin/pip install -q $PIP_MLFLOW"
  t2=$(now)
  in_floor "python3 -m venv /opt/mlsp/minio-admin-venv && /opt/mlsp/minio-admin-venv/bin/pip install -q $PIP_MINIO"
  t3=$(now)
  docker cp -q "$minio_bin" "$BENCH_FLOOR:/usr/local/bin/minio"
  t4=$(now)
  bench_rm_container "$BENCH_FLOOR"

  log "deploy: site.yml on a fresh $BENCH_STACK over SSH (log: $BENCH_STATE/deploy.log)"
  d0=$(now)
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_roles,ansible.posix.profile_tasks \
    bench_site "${ssh_vars[@]}" >"$BENCH_STATE/deploy.log" 2>&1 \
    || { grep -A12 -E '^(fatal|failed):' "$BENCH_STATE/deploy.log" | head -40; die "site.yml failed"; }
  d1=$(now)
  touch "$BENCH_STATE/converged"
fi

# The no-op re-runs, over two connections in turn: SSH, as the deploy, and the containers' own
# (docker exec, as Molecule and the sandbox reach them); with --baseline, REF's and the working
# tree's in turn on each, so that both meet the same load.
variants=(current)
[ -n "$baseline" ] && variants=(baseline current)
declare -A noop_times=() noop_recap=()
for i in $(seq 1 "$noop_runs"); do
  for conn in ssh docker; do
    for v in "${variants[@]}"; do
      log "no-op re-run $i/$noop_runs over $conn, $v"
      extra=()
      [ "$conn" = ssh ] && extra=("${ssh_vars[@]}")
      run_log="$BENCH_STATE/noop-$v-$conn-$i.log"
      n0=$(now)
      ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks \
        run_site "$v" "${extra[@]}" >"$run_log" 2>&1 \
        || { tail -40 "$run_log"; die "site.yml ($v) re-run over $conn failed"; }
      n1=$(now)
      noop_times[$v-$conn]+="$(secs "$n0" "$n1") "
      noop_recap[$v-$conn]+="$(grep -o 'changed=[0-9]*' "$run_log" | tail -1) "
      # A re-run that changes something is not a no-op: its time means nothing.
      grep -q 'changed=[1-9]' "$run_log" && { grep -B1 -A6 '^changed:' "$run_log" | head -40; die "site.yml ($v) re-run $i over $conn changed something"; }
    done
  done
done
log "the cost of one module call (bench/probe.yml)"
probe() { ansible-playbook -i "$BENCH_INV" "$BENCH_DIR/probe.yml" -e "bench_calls=$1" "${@:2}" >/dev/null; }
declare -A per_call=()
for conn in docker ssh; do
  extra=()
  [ "$conn" = ssh ] && extra=("${ssh_vars[@]}")
  p0=$(now); probe 1 "${extra[@]}"; p1=$(now); probe 41 "${extra[@]}"; p2=$(now)
  per_call[$conn]="$(python3 -c "import sys; a, b, c = map(float, sys.argv[1:]); print(f'{((c - b) - (b - a)) / 40:.2f}')" "$p0" "$p1" "$p2")"
done
# count LOG: the task results of a run (ok, changed, skipped) and the module calls among them
count() { grep -oE '(ok|changed|skipped)=[0-9]+' "$1" | tail -3 | paste -sd' '; }
noop_ok="$(grep -o 'ok=[0-9]*' "$BENCH_STATE/noop-current-docker-1.log" | tail -1 | cut -d= -f2)"
load_after="$(bench_loadavg)"

# shellcheck disable=SC2086 # $1 is a list of figures, split on purpose
median() { printf '%s\n' $1 | python3 -c 'import statistics, sys; print(f"{statistics.median(float(x) for x in sys.stdin):.1f}")'; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
# slowest LOG: the 12 slowest tasks of a run with ansible.posix.profile_tasks
slowest() {
  sed -n '/^TASKS RECAP/,$p' "$1" | grep -E ' -+ [0-9.]+s$' \
    | sed -E 's/^(.*[^ -]) -+ ([0-9.]+s)$/\2\t\1/' | sort -rn | head -12 | awk -F'\t' '{printf "  %8s  %s\n", $1, $2}'
}
calls_cost() { python3 -c "import sys; print(f'{float(sys.argv[1]) * int(sys.argv[2]):.0f}')" "$1" "$noop_ok"; }

echo
echo "Deploy benchmark: Debian ${MLSP_DISTRO:-12} container, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $(bench_load_line "$load_before" "$load_after")."
noop_ok_target=$(python3 -c "import sys; print(int(float(sys.argv[1]) < 30))" "$(median "${noop_times[current-ssh]}")")
if [ "$noop_only" = 0 ]; then
  floor=$(secs "$t0" "$t4") deploy=$(secs "$d0" "$d1")
  echo "Targets: deploy / floor <= 1.5: $(bench_judge "$load_before" "$(python3 -c "import sys; print(int(float(sys.argv[1]) / float(sys.argv[2]) <= 1.5))" "$deploy" "$floor")"); no-op re-run over SSH < 30 s: $(bench_judge "$load_before" "$noop_ok_target")."
else
  echo "Target: no-op re-run over SSH < 30 s: $(bench_judge "$load_before" "$noop_ok_target")."
fi
echo "| Step | Seconds |"
echo "|---|---:|"
if [ "$noop_only" = 0 ]; then
  cat <<EOT
| floor: apt install ($APT_PKGS) | $(secs "$t0" "$t1") |
| floor: MLflow venv ($(eval "printf '%s ' $PIP_MLFLOW")) | $(secs "$t1" "$t2") |
| floor: MinIO admin venv ($(eval "printf '%s ' $PIP_MINIO")) | $(secs "$t2" "$t3") |
| floor: copy of the MinIO binary | $(secs "$t3" "$t4") |
| **floor, total** | **$floor** |
| **site.yml, fresh stack** (over SSH) | **$deploy** |
| **ratio deploy / floor** (target <= 1.5) | **$(ratio "$deploy" "$floor")** |
EOT
fi
for v in "${variants[@]}"; do
  name="working tree"
  [ "$v" = baseline ] && name="baseline $baseline"
  [ "$v" = baseline ] && [ "$baseline" != "$base_rev" ] && name+=" ($base_rev)"
  cat <<EOT
| **site.yml no-op re-run over SSH**, $name, median of $noop_runs (target < 30) | **$(median "${noop_times[$v-ssh]}")** |
| site.yml no-op re-run over docker exec, $name, median of $noop_runs | $(median "${noop_times[$v-docker]}") |
EOT
done
if [ -n "$baseline" ]; then
  cat <<EOT
| no-op over SSH, working tree / baseline | $(ratio "$(median "${noop_times[current-ssh]}")" "$(median "${noop_times[baseline-ssh]}")") |
| no-op over docker exec, working tree / baseline | $(ratio "$(median "${noop_times[current-docker]}")" "$(median "${noop_times[baseline-docker]}")") |
EOT
fi
echo
for v in "${variants[@]}"; do
  cat <<EOT
$v: no-op re-runs over SSH ${noop_times[$v-ssh]}s, recaps: ${noop_recap[$v-ssh]}
$v: no-op re-runs over docker exec ${noop_times[$v-docker]}s, recaps: ${noop_recap[$v-docker]}
$v: task results of a no-op run: $(count "$BENCH_STATE/noop-$v-docker-1.log")
EOT
done
cat <<EOT
A no-op run of the working tree reports $noop_ok ok task results, most of them a module call each. One module call (ping,
pipelining on) costs ${per_call[ssh]} s over SSH, about $(calls_cost "${per_call[ssh]}") s of a no-op run, and ${per_call[docker]} s over
docker exec, about $(calls_cost "${per_call[docker]}") s.
EOT
[ "$noop_only" = 1 ] || printf 'Slowest tasks of the fresh deploy (ansible.posix.profile_tasks):\n%s\n' "$(slowest "$BENCH_STATE/deploy.log")"
printf 'Slowest tasks of the first no-op re-run over SSH:\n%s\n' "$(slowest "$BENCH_STATE/noop-current-ssh-1.log")"
