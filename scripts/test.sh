#!/usr/bin/env bash
# The one test command: setup (cached), lint, sanity, unit tests, `molecule test` for every scenario
# on its distributions (Debian 12 and/or 13, see DEFAULT_DISTROS), and the README's user paths run
# literally (scripts/user-paths.sh: the sandbox, the production quick start, --check on fresh
# hosts). The setup runs in the background: the base images from the start, the wheelhouse and the
# MinIO build (they need the controller's venv) during sanity, the build and unit tests. Scenarios
# and user paths run --jobs at a time (the paths one after another); an ALONE scenario converges and
# runs its untimed tests beside the others, and its timed drills last, with nothing beside it. Every
# stage writes its output to a log file of its own; a stage that runs alone shows it as it goes too.
# At the end: the last lines of each failed stage's log, a table of stages with their times, when
# each started and how busy the machine's CPUs were meanwhile (with two jobs side by side, one
# figure for both: whether the run was bound by the CPU then), the wall time and the load average at
# start and end; the exit status is non-zero if any stage failed.
#
# usage: scripts/test.sh                       everything
#        scripts/test.sh --scenario postgresql  one scenario (repeatable), its distributions
#        scripts/test.sh --distro 13            one distribution (repeatable); given, it applies
#                                               to every scenario
#        scripts/test.sh --only lint,unit       some stages: setup,lint,sanity,build,unit,molecule,paths
#        scripts/test.sh --jobs 1               scenarios one at a time (default 2, or $MLSP_TEST_JOBS)
# Environment: MLSP_RUN_ID (what the test containers' names carry, see scripts/lib.sh),
#              MLSP_TEST_LOG_DIR (default tests/output/test-logs/<UTC time>).
source "$(dirname "$0")/lib.sh"

# The scenarios. Those whose platforms name their own distribution run once. The role scenarios
# that are neither LONG nor ALONE come longest first: they end the part that runs two jobs at a
# time, and the shortest one last leaves the least time with one job running before the drills.
ALL_SCENARIOS=(harness pgbouncer minio postgresql mlflow stack cluster)
ONCE=" harness "
# Scenarios whose timed drills run with nothing beside them: they time recoveries against limits,
# which another scenario's load on the same 2 cores would move. Their create, converge and
# idempotence run beside other jobs (one job), then the tests of their verify that time nothing
# (a second job, beside others too), then the timed drills and destroy alone (a third job).
ALONE=" stack cluster "
# Role scenarios long enough to queue with the ALONE scenarios' converges, before the user paths:
# started last, one would run by itself at the end while the verifies wait (mlflow: about 1000 s cold).
LONG=" mlflow "
# The distributions of the full run, per scenario (CI has 60 minutes on 2 cores, cold, and the run
# is bound by the CPU: each job left out is time saved). The role scenarios run on one each,
# alternating: `postgresql` on 12 (PostgreSQL 15), `pgbouncer` and `mlflow` on 13, whose prepare
# deploys PostgreSQL 17 with the postgresql role. The whole stack through site.yml runs on both:
# the `stack` scenario (with its drills) on 13, the production quick start and the sandbox on 12;
# the scaled-out `cluster` (with its drills) on 12. `--distro` runs the scenarios it is given on it.
declare -A DEFAULT_DISTROS=([postgresql]="12" [pgbouncer]="13" [minio]="12" [mlflow]="13" [stack]="13" [cluster]="12")
scenarios=() distros=() only="setup,lint,sanity,build,unit,molecule,paths" jobs="${MLSP_TEST_JOBS:-2}"
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) scenarios+=("$2"); shift 2 ;;
    --distro) distros+=("$2"); shift 2 ;;
    --only) only=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs takes a number from 1, not '$jobs'"
explicit_scenarios=${#scenarios[@]}
[ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL_SCENARIOS[@]}")
chosen_distros=${#distros[@]}
[ ${#distros[@]} -gt 0 ] || distros=(12 13)
for s in "${scenarios[@]}"; do [ -f "$MLSP_ROOT/molecule/$s/molecule.yml" ] || die "no scenario '$s'"; done

logdir="${MLSP_TEST_LOG_DIR:-$MLSP_ROOT/tests/output/test-logs/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$logdir"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start="$(loadavg)"
log "run id $MLSP_RUN_ID, $(nproc) cores, load average $load_start; logs in $logdir"

# The stages' results, in the order they started: name, PASS/FAIL, seconds, log file, when it
# started (seconds into the run), the machine's CPU counters then and its busy share during it.
names=() results=() times=() logs=() starts=() cpu_at=() busy=()
passed=0 failed=0
logfile() { printf '%s/%02d-%s.log' "$logdir" "${#names[@]}" "$(tr -cs 'a-zA-Z0-9.' '-' <<<"$1" | sed 's/-*$//')"; }
cpu_ticks() {  # "BUSY IDLE": the machine's CPU time so far, all cores, in clock ticks (/proc/stat)
  local _cpu user nice system idle iowait irq softirq steal _rest
  read -r _cpu user nice system idle iowait irq softirq steal _rest < /proc/stat
  echo "$((user + nice + system + irq + softirq + steal)) $((idle + iowait))"
}
busy_since() {  # busy_since "BUSY IDLE": the share of the machine's CPU time used since then, in %
  local b0 i0 b1 i1
  read -r b0 i0 <<<"$1"; read -r b1 i1 <<<"$(cpu_ticks)"
  echo $(( (b1 - b0 + i1 - i0) > 0 ? 100 * (b1 - b0) / (b1 - b0 + i1 - i0) : 0 ))
}
new_stage() {  # new_stage NAME LOG_FILE: add a stage that starts now
  names+=("$1"); logs+=("$2"); results+=(running); times+=(0); starts+=("$SECONDS"); cpu_at+=("$(cpu_ticks)"); busy+=("")
}
record() {  # record INDEX EXIT_STATUS SECONDS
  times[$1]=$3 busy[$1]=$(busy_since "${cpu_at[$1]}")
  if [ "$2" = 0 ]; then results[$1]=PASS; passed=$((passed + 1))
  else results[$1]="FAIL (exit $2)"; failed=$((failed + 1)); fi
}
stage() {  # stage NAME COMMAND...: run alone, output to its log and the terminal; keep going on failure
  local name=$1 start=$SECONDS rc=0 i=${#names[@]} file; shift
  file="$(logfile "$name")"; new_stage "$name" "$file"
  log "stage: $name (log: $file)"
  "$@" 2>&1 | tee "$file" || rc=$?
  record "$i" "$rc" $((SECONDS - start))
  return 0
}
want() { [[ ",$only," == *",$1,"* ]]; }

# bg_stage NAME COMMAND...: start a stage in the background, its output to its log only;
# bg_wait: wait for every one started, in turn, and record each.
bg_pids=() bg_indexes=() bg_starts=()
bg_stage() {
  local name=$1 file; shift
  bg_indexes+=(${#names[@]}) file="$(logfile "$name")"
  new_stage "$name" "$file"
  log "stage: $name, in the background (log: $file)"
  # The command writes when it ended (epoch seconds) to LOG.end: the stage's time is its own, not
  # when bg_wait came to it.
  setsid -w bash -c 'rc=0; "${@:2}" || rc=$?; date +%s >"$1"; exit $rc' bg "$file.end" "$@" </dev/null >"$file" 2>&1 &
  bg_pids+=($!) bg_starts+=("$(date +%s)")
  trap 'bg_kill; exit 130' INT TERM
}
bg_kill() {  # stop every background stage still running (on an interrupt, or when the run gives up)
  local p
  for p in "${bg_pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done  # gone already: fine
}
bg_wait() {
  local k i rc bad=
  for k in "${!bg_pids[@]}"; do
    i=${bg_indexes[$k]} rc=0
    log "waiting for the background stage: ${names[$i]}"
    wait "${bg_pids[$k]}" || rc=$?
    record "$i" "$rc" $(( $(cat "${logs[$i]}.end" 2>/dev/null || date +%s) - bg_starts[k] ))
    rm -f "${logs[$i]}.end"
    log "stage: ${names[$i]}: ${results[$i]} in ${times[$i]} s"
    [ "$rc" = 0 ] || { tail -n 60 "${logs[$i]}"; bad="${bad:-$i}"; }
  done
  trap - INT TERM
  bg_pids=() bg_indexes=() bg_starts=()
  [ -z "$bad" ] || die "setup failed (log: ${logs[$bad]})"
}

# Scenario jobs, run --jobs at a time: each in a session of its own (so that an interrupt stops
# all of it), with its own Molecule state folder under the run id. A job is one of
#   test      `molecule test` (the scenario's whole sequence),
#   converge  destroy, syntax, create, prepare, converge, idempotence (an ALONE scenario's first
#             part; it destroys what it made if it fails),
#   untimed   verify of the tests that time nothing (MLSP_VERIFY_PART=untimed, see
#             tests/helpers/verify_parts.py; its second part, after its converge job passed, beside
#             the others; it destroys the scenario's hosts if it fails),
#   verify    verify of the timed drills (MLSP_VERIFY_PART=timed), then destroy (its third part,
#             after the second passed, with nothing beside it),
#   path      a user path (scripts/user-paths.sh PATH).
# Two jobs with one key never run together (a scenario's containers; the user paths share the key
# `paths`). With one job at a time its output shows as it goes, as a stage's does; otherwise it
# goes to its log file only.
declare -A job_pid=() job_start=() running_job=()  # by stage index
job_names=() job_keys=() job_distros=() job_kinds=() job_args=() job_after=() job_state=()
add_job() {  # add_job NAME KEY DISTRO|- KIND ARG|- AFTER_JOB|-
  job_names+=("$1"); job_keys+=("$2"); job_distros+=("$3"); job_kinds+=("$4"); job_args+=("$5")
  job_after+=("$6"); job_state+=(pending)
}
start_job() {  # start_job JOB: start it in the background
  local j=$1 i=${#names[@]} file s=${job_keys[$1]} d=${job_distros[$1]} env
  file="$(logfile "${job_names[$j]}")"; new_stage "${job_names[$j]}" "$file"
  log "stage: ${job_names[$j]} (log: $file)"
  env=("MOLECULE_EPHEMERAL_DIRECTORY=$MLSP_CACHE_DIR/molecule/$MLSP_RUN_ID/$s")
  [ "$d" = - ] || env+=("MLSP_DISTRO=$d")
  # shellcheck disable=SC2016  # expanded by the job's own shell
  case ${job_kinds[$j]} in
    path) set -- env "${env[@]}" setsid bash -c 'set -o pipefail; "$1" "$2" 2>&1 | tee "$3"' \
            _ "$MLSP_ROOT/scripts/user-paths.sh" "${job_args[$j]}" "$file" ;;
    test) set -- env "${env[@]}" setsid bash -c 'set -o pipefail; mkdir -p "$MOLECULE_EPHEMERAL_DIRECTORY"
            molecule test -s "$1" 2>&1 | tee "$2"' _ "$s" "$file" ;;
    converge) set -- env "${env[@]}" setsid bash -c 'set -o pipefail; mkdir -p "$MOLECULE_EPHEMERAL_DIRECTORY"
            { molecule destroy -s "$1" && molecule syntax -s "$1" && molecule converge -s "$1" \
              && molecule idempotence -s "$1" || { rc=$?; molecule destroy -s "$1"; exit $rc; }; } 2>&1 | tee "$2"' \
            _ "$s" "$file" ;;
    untimed) set -- env "${env[@]}" MLSP_VERIFY_PART=untimed setsid bash -c 'set -o pipefail
            { molecule verify -s "$1" || { rc=$?; molecule destroy -s "$1"; exit $rc; }; } 2>&1 | tee "$2"' \
            _ "$s" "$file" ;;
    verify) set -- env "${env[@]}" MLSP_VERIFY_PART=timed setsid bash -c 'set -o pipefail
            { rc=0; molecule verify -s "$1" || rc=$?; molecule destroy -s "$1" || [ $rc != 0 ] || rc=1; exit $rc; } 2>&1 | tee "$2"' \
            _ "$s" "$file" ;;
  esac
  if [ "$live" = 1 ]; then "$@" </dev/null & else "$@" </dev/null >/dev/null 2>&1 & fi
  job_pid[$i]=$! job_start[$i]=$SECONDS running_job[$i]=$j
}
# stop_jobs: on an interrupt, stop the running jobs and remove every container and network of this
# run id (found by their labels, or names for the user paths'; a scenario between its converge and
# verify jobs has some too).
stop_jobs() {
  local i
  for i in "${!job_pid[@]}"; do kill -TERM -- "-${job_pid[$i]}" 2>/dev/null || true; done
  docker ps -aq --filter "label=mlsp.run_id=$MLSP_RUN_ID" | xargs -r docker rm -f >/dev/null || true
  docker network ls -q --filter "label=mlsp.run_id=$MLSP_RUN_ID" | xargs -r docker network rm >/dev/null || true
  # The user paths' hosts carry the run id in their names only.
  docker ps -aq --filter "name=$MLSP_RUN_ID" | xargs -r docker rm -f >/dev/null || true
  docker network ls -q --filter "name=$MLSP_RUN_ID" | xargs -r docker network rm >/dev/null || true
}
# may_start JOB: 0 if it may start now (its predecessor passed, its key is free, and neither it
# nor a running job must run alone); 2 if it never will (its predecessor failed); 1 otherwise.
may_start() {
  local j=$1 a=${job_after[$1]} i r
  if [ "$a" != - ]; then
    [ "${job_state[$a]}" != fail ] || return 2
    [ "${job_state[$a]}" = pass ] || return 1
  fi
  for i in "${!running_job[@]}"; do
    r=${running_job[$i]}
    [ "${job_keys[$r]}" != "${job_keys[$j]}" ] || return 1
    [ "${job_kinds[$r]}" != verify ] || [[ $ALONE != *" ${job_keys[$r]} "* ]] || return 1
  done
  if [ "${job_kinds[$j]}" = verify ] && [[ $ALONE == *" ${job_keys[$j]} "* ]] && [ ${#job_pid[@]} -gt 0 ]; then
    return 1
  fi
  return 0
}
run_jobs() {
  local pending=() j i k rc pid start=$SECONDS cpu_start
  cpu_start=$(cpu_ticks)
  for j in "${!job_names[@]}"; do pending+=("$j"); done
  trap 'stop_jobs; exit 130' INT TERM
  while [ ${#pending[@]} -gt 0 ] || [ ${#job_pid[@]} -gt 0 ]; do
    # Start the first pending jobs that may run now, up to --jobs; drop those that never will.
    for k in "${!pending[@]}"; do
      [ ${#job_pid[@]} -lt "$jobs" ] || break
      j=${pending[$k]} rc=0
      may_start "$j" || rc=$?
      if [ $rc = 2 ]; then
        i=${#names[@]}
        new_stage "${job_names[$j]}" /dev/null
        results[$i]="FAIL (not run: ${job_names[${job_after[$j]}]} failed)"; failed=$((failed + 1))
        job_state[$j]=fail; unset "pending[$k]"
      elif [ $rc = 0 ]; then
        start_job "$j"; unset "pending[$k]"
      fi
    done
    pending=("${pending[@]}")
    [ ${#job_pid[@]} -gt 0 ] || continue
    rc=0; wait -n -p pid || rc=$?
    for i in "${!job_pid[@]}"; do
      [ "${job_pid[$i]}" = "$pid" ] || continue
      record "$i" "$rc" $((SECONDS - job_start[$i]))
      log "stage: ${names[$i]}: ${results[$i]} in ${times[$i]} s"
      if [ "$rc" = 0 ]; then job_state[${running_job[$i]}]=pass; else job_state[${running_job[$i]}]=fail; fi
      unset "job_pid[$i]" "job_start[$i]" "running_job[$i]"
    done
  done
  trap - INT TERM
  molecule_wall=$((SECONDS - start)) molecule_busy=$(busy_since "$cpu_start")
}

cd "$MLSP_ROOT"
if want setup; then
  # The base images need no Python of ours: their debootstraps (the mirror and the disk) run
  # beside the controller's venv and the lint, which leave a core idle on a cold machine.
  MLSP_DISTROS="${distros[*]}" bg_stage "setup: docker engine, apt proxy, base images" \
    "$MLSP_ROOT/scripts/setup.sh" --images-only
  stage "setup: controller venv" "$MLSP_ROOT/scripts/venv.sh"
  [ "${results[-1]}" = PASS ] || { bg_kill; die "setup failed (log: ${logs[-1]})"; }
fi
activate_venv
link_collection
want lint && stage yamllint yamllint --strict .
want lint && stage ansible-lint ansible-lint --offline --strict
want lint && stage "changelog lint" antsibull-changelog lint
# After the lint (ansible-lint installs the collection into .ansible/collections, which the
# setup's playbooks read), before the rest.
if want setup; then
  MLSP_DISTROS="${distros[*]}" bg_stage "setup: wheelhouse, MinIO build" \
    "$MLSP_ROOT/scripts/setup.sh"
fi
want sanity && stage sanity "$MLSP_ROOT/scripts/sanity.sh"
want build && stage "collection build + offline install" "$MLSP_ROOT/scripts/collection-build.sh"
if want unit; then
  unit() { local rc=0; pytest -q -p no:cacheprovider tests/unit || rc=$?; [ $rc = 5 ] && rc=0; return $rc; }
  stage unit unit
fi
bg_wait
offline_env  # the apt proxy and wheelhouse that setup made
molecule_wall= molecule_busy=
# The jobs in the order they are preferred when a slot frees: the long ones first (the LONG
# scenarios, the ALONE scenarios' converges, the user paths, which run one after another), so that
# no long job is left to run by itself at the end; the ALONE scenarios' verifies last.
scenario_distros() {  # scenario_distros SCENARIO: its distributions for this run, one per line
  local these=("${distros[@]}")
  [ "$chosen_distros" -gt 0 ] || read -ra these <<< "${DEFAULT_DISTROS[$1]:-12 13}"
  printf '%s\n' "${these[@]}"
}
alone_untimed=()  # job indexes
if want molecule; then
  for s in "${scenarios[@]}"; do
    [[ $ONCE != *" $s "* ]] || { add_job "molecule $s" "$s" - test - -; continue; }
    if [[ $LONG == *" $s "* ]]; then
      for d in $(scenario_distros "$s"); do add_job "molecule $s (Debian $d)" "$s" "$d" test - -; done
      continue
    fi
    [[ $ALONE == *" $s "* ]] || continue
    for d in $(scenario_distros "$s"); do
      add_job "molecule $s (Debian $d): create, converge, idempotence" "$s" "$d" converge - -
      # Its untimed tests as soon as it has converged, in a slot like any job.
      alone_untimed+=(${#job_names[@]})
      add_job "molecule $s (Debian $d): verify, untimed tests" "$s" "$d" untimed - $((${#job_names[@]} - 1))
    done
  done
fi
# The README's user paths, as written, on fresh hosts over SSH (not with --scenario: they are the
# whole product, not one scenario).
if want paths && [ "$explicit_scenarios" = 0 ]; then
  add_job "user path: sandbox up, client workflow, down (Debian 12)" paths 12 path sandbox -
  add_job "user path: production quick start (Debian 12)" paths 12 path quickstart -
  add_job "user path: site.yml --check on fresh hosts (Debian 13)" paths 13 path check-fresh -
fi
if want molecule; then
  for s in "${scenarios[@]}"; do
    [[ "$ONCE$ALONE$LONG" != *" $s "* ]] || continue
    for d in $(scenario_distros "$s"); do add_job "molecule $s (Debian $d)" "$s" "$d" test - -; done
  done
  for j in "${alone_untimed[@]}"; do
    add_job "${job_names[$j]%%: *}: verify, timed drills, destroy" "${job_keys[$j]}" "${job_distros[$j]}" verify - "$j"
  done
fi
if [ ${#job_names[@]} -gt 0 ]; then
  live=0
  if [ "$jobs" = 1 ] || [ ${#job_names[@]} = 1 ]; then live=1; fi
  run_jobs
fi

for i in "${!names[@]}"; do
  [ "${results[$i]}" != PASS ] && [ "${logs[$i]}" != /dev/null ] || continue
  echo
  echo "---- FAILED: ${names[$i]}: the last 150 lines of ${logs[$i]}"
  tail -n 150 "${logs[$i]}"
done
wall=$((SECONDS))
echo
echo "Stages (run id $MLSP_RUN_ID, cache: $MLSP_CACHE_DIR, logs: $logdir), each with the time it"
echo "took, when it started (seconds into the run) and how busy the machine's $(nproc) cores were meanwhile:"
for i in "${!names[@]}"; do
  printf '  %-4s  %5d s  at %5d s  cpu %3s%%  %s%s\n' "${results[$i]%% *}" "${times[$i]}" "${starts[$i]}" \
    "${busy[$i]:--}" "${names[$i]}" "$([ "${results[$i]}" = PASS ] || echo " ${results[$i]#FAIL }")"
done
[ -z "$molecule_wall" ] || printf '        %5d s                       molecule scenarios and user paths, up to %d at a time (wall time; cpu %s%%)\n' \
  "$molecule_wall" "$jobs" "$molecule_busy"
printf '        %5d s  wall time (%d min %02d s)\n' "$wall" $((wall / 60)) $((wall % 60))
echo "load average (1, 5, 15 min) on $(nproc) cores: $load_start at start, $(loadavg) at the end"
echo "stages: $passed passed, $failed failed"
[ $failed = 0 ]
