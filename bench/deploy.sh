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
# usage: bench/deploy.sh [--keep] [--noop-runs N]
#   --keep   leave the stack container (bench/tracking.sh and bench/artifacts.sh reuse it) and the
#            state; without it every benchmark container is removed at the end
source "$(dirname "$0")/lib.sh"

keep=0 noop_runs=3
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=1; shift ;;
    --noop-runs) noop_runs=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$keep" = 1 ] || trap bench_teardown EXIT

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

warm=mlsp-bench-warm
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
ssh_vars=(-i "$BENCH_STATE/ssh/hosts.yml")
d0=$(now)
ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_roles,ansible.posix.profile_tasks \
  bench_site "${ssh_vars[@]}" >"$BENCH_STATE/deploy.log" 2>&1 \
  || { grep -A12 -E '^(fatal|failed):' "$BENCH_STATE/deploy.log" | head -40; die "site.yml failed"; }
d1=$(now)
touch "$BENCH_STATE/converged"

# The no-op re-runs, over two connections in turn: SSH, as the deploy, and the containers' own
# (docker exec, as Molecule and the sandbox reach them).
declare -A noop_times=() noop_changed=()
for i in $(seq 1 "$noop_runs"); do
  for conn in ssh docker; do
    log "no-op re-run $i/$noop_runs over $conn"
    extra=()
    [ "$conn" = ssh ] && extra=("${ssh_vars[@]}")
    n0=$(now)
    ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks \
      bench_site "${extra[@]}" >"$BENCH_STATE/noop-$conn-$i.log" 2>&1 \
      || { tail -40 "$BENCH_STATE/noop-$conn-$i.log"; die "site.yml re-run over $conn failed"; }
    n1=$(now)
    noop_times[$conn]+="$(secs "$n0" "$n1") "
    noop_changed[$conn]+="$(grep -o 'changed=[0-9]*' "$BENCH_STATE/noop-$conn-$i.log" | tail -1) "
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
noop_ok="$(grep -o 'ok=[0-9]*' "$BENCH_STATE/noop-docker-1.log" | tail -1 | cut -d= -f2)"
load_after="$(bench_loadavg)"

floor=$(secs "$t0" "$t4") deploy=$(secs "$d0" "$d1")
# shellcheck disable=SC2086 # $1 is a list of figures, split on purpose
median() { printf '%s\n' $1 | python3 -c 'import statistics, sys; print(f"{statistics.median(float(x) for x in sys.stdin):.1f}")'; }
# slowest LOG: the 12 slowest tasks of a run with ansible.posix.profile_tasks
slowest() {
  sed -n '/^TASKS RECAP/,$p' "$1" | grep -E ' -+ [0-9.]+s$' \
    | sed -E 's/^(.*[^ -]) -+ ([0-9.]+s)$/\2\t\1/' | sort -rn | head -12 | awk -F'\t' '{printf "  %8s  %s\n", $1, $2}'
}
calls_cost() { python3 -c "import sys; print(f'{float(sys.argv[1]) * int(sys.argv[2]):.0f}')" "$1" "$noop_ok"; }
cat <<EOT

Deploy benchmark: Debian ${MLSP_DISTRO:-12} container, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $(bench_load_line "$load_before" "$load_after").
Targets: deploy / floor <= 1.5: $(bench_judge "$load_before" "$(python3 -c "import sys; print(int(float(sys.argv[1]) / float(sys.argv[2]) <= 1.5))" "$deploy" "$floor")"); no-op re-run over SSH < 30 s: $(bench_judge "$load_before" "$(python3 -c "import sys; print(int(float(sys.argv[1]) < 30))" "$(median "${noop_times[ssh]}")")").
| Step | Seconds |
|---|---:|
| floor: apt install ($APT_PKGS) | $(secs "$t0" "$t1") |
| floor: MLflow venv ($(eval "printf '%s ' $PIP_MLFLOW")) | $(secs "$t1" "$t2") |
| floor: MinIO admin venv ($(eval "printf '%s ' $PIP_MINIO")) | $(secs "$t2" "$t3") |
| floor: copy of the MinIO binary | $(secs "$t3" "$t4") |
| **floor, total** | **$floor** |
| **site.yml, fresh stack** (over SSH) | **$deploy** |
| **ratio deploy / floor** (target <= 1.5) | **$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$deploy" "$floor")** |
| **site.yml no-op re-run over SSH** (as production hosts are reached), median of $noop_runs (target < 30) | **$(median "${noop_times[ssh]}")** |
| site.yml no-op re-run over docker exec (the test containers' connection), median of $noop_runs | $(median "${noop_times[docker]}") |

No-op re-runs over SSH: ${noop_times[ssh]}s; recaps: ${noop_changed[ssh]}
No-op re-runs over docker exec: ${noop_times[docker]}s; recaps: ${noop_changed[docker]}
A no-op run reports $noop_ok task results, most of them a module call each. One module call (ping,
pipelining on) costs ${per_call[ssh]} s over SSH, about $(calls_cost "${per_call[ssh]}") s of a no-op run, and ${per_call[docker]} s over
docker exec, about $(calls_cost "${per_call[docker]}") s.
Slowest tasks of the fresh deploy (ansible.posix.profile_tasks):
$(slowest "$BENCH_STATE/deploy.log")
Slowest tasks of the first no-op re-run over SSH:
$(slowest "$BENCH_STATE/noop-ssh-1.log")
EOT
