#!/usr/bin/env bash
# The one test command: setup (cached), lint, sanity, unit tests, `molecule test` for every
# scenario on its distributions (Debian 12 and/or 13, see DEFAULT_DISTROS), and the README's user
# paths run literally (scripts/user-paths.sh: the sandbox, the production quick start, --check on
# fresh hosts). Scenarios and user paths run --jobs at a time (the paths one after another, beside
# the last role scenarios; the ALONE scenarios last, with nothing beside them). Every stage writes its output to a log file of its
# own; a stage that runs alone shows it as it goes too. At the end: the last lines of each failed
# stage's log, a table of stages with their times, the wall time and the load average at start and
# end; the exit status is non-zero if any stage failed.
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

# Scenarios in dependency order. Those whose platforms name their own distribution run once.
ALL_SCENARIOS=(harness postgresql pgbouncer minio mlflow stack cluster)
ONCE=" harness "
# Scenarios that run with no other beside them: the stack's drills time recoveries against limits,
# which another scenario's load on the same 2 cores would move.
ALONE=" stack cluster "
# The distributions of the full run, per scenario (CI has 60 minutes on 2 cores, cold). `postgresql`
# runs on both for its two major versions (15 and 17); the other role scenarios on one each,
# alternating. The whole stack through site.yml runs on both: the `stack` scenario (with its drills)
# on 13, the production quick start and the sandbox on 12; the scaled-out `cluster` (with its drills)
# on 12. `--distro` runs the scenarios it is given on it.
declare -A DEFAULT_DISTROS=([postgresql]="12 13" [pgbouncer]="13" [minio]="12" [mlflow]="13" [stack]="13" [cluster]="12")
scenarios=() distros=() only="setup,lint,sanity,build,unit,molecule,paths" jobs="${MLSP_TEST_JOBS:-2}"
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) scenarios+=("$2"); shift 2 ;;
    --distro) distros+=("$2"); shift 2 ;;
    --only) only=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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

# The stages' results, in the order they started: name, PASS/FAIL, seconds, log file.
names=() results=() times=() logs=()
passed=0 failed=0
logfile() { printf '%s/%02d-%s.log' "$logdir" "${#names[@]}" "$(tr -cs 'a-zA-Z0-9.' '-' <<<"$1" | sed 's/-*$//')"; }
record() {  # record INDEX EXIT_STATUS SECONDS
  times[$1]=$3
  if [ "$2" = 0 ]; then results[$1]=PASS; passed=$((passed + 1))
  else results[$1]="FAIL (exit $2)"; failed=$((failed + 1)); fi
}
stage() {  # stage NAME COMMAND...: run alone, output to its log and the terminal; keep going on failure
  local name=$1 start=$SECONDS rc=0 i=${#names[@]} file; shift
  file="$(logfile "$name")"; names+=("$name"); logs+=("$file"); results+=(running); times+=(0)
  log "stage: $name (log: $file)"
  "$@" 2>&1 | tee "$file" || rc=$?
  record "$i" "$rc" $((SECONDS - start))
  return 0
}
want() { [[ ",$only," == *",$1,"* ]]; }

# Scenario jobs, run --jobs at a time: each in a session of its own (so that an interrupt stops
# all of it), with its own Molecule state folder under the run id. Two jobs of one scenario never
# run together (the same containers), nor anything beside an ALONE scenario. With one job at a time
# its output shows as it goes, as a stage's does; otherwise it goes to its log file only.
declare -A job_pid=() job_start=() running_scenario=()  # by stage index
job_names=() job_scenarios=() job_distros=() job_paths=()
molecule_job() {  # molecule_job NAME SCENARIO DISTRO|-
  job_names+=("$1"); job_scenarios+=("$2"); job_distros+=("$3"); job_paths+=(-)
}
# path_job NAME PATH DISTRO: a user path (scripts/user-paths.sh PATH) as a job. The paths share the
# job key `paths`: one at a time, each beside a scenario (their hosts carry the run id too).
path_job() {
  job_names+=("$1"); job_scenarios+=(paths); job_distros+=("$3"); job_paths+=("$2")
}
start_job() {  # start_job JOB: start it in the background
  local j=$1 i=${#names[@]} file s=${job_scenarios[$1]} d=${job_distros[$1]} env
  file="$(logfile "${job_names[$j]}")"; names+=("${job_names[$j]}"); logs+=("$file"); results+=(running); times+=(0)
  log "stage: ${job_names[$j]} (log: $file)"
  env=("MOLECULE_EPHEMERAL_DIRECTORY=$MLSP_CACHE_DIR/molecule/$MLSP_RUN_ID/$s")
  [ "$d" = - ] || env+=("MLSP_DISTRO=$d")
  # shellcheck disable=SC2016  # expanded by the job's own shell
  if [ "${job_paths[$j]}" != - ]; then
    set -- env "${env[@]}" setsid bash -c 'set -o pipefail; "$1" "$2" 2>&1 | tee "$3"' \
      _ "$MLSP_ROOT/scripts/user-paths.sh" "${job_paths[$j]}" "$file"
  else
    set -- env "${env[@]}" setsid bash -c 'set -o pipefail; mkdir -p "$MOLECULE_EPHEMERAL_DIRECTORY"
    molecule test -s "$1" 2>&1 | tee "$2"' _ "$s" "$file"
  fi
  if [ "$live" = 1 ]; then "$@" </dev/null & else "$@" </dev/null >/dev/null 2>&1 & fi
  job_pid[$i]=$! job_start[$i]=$SECONDS running_scenario[$i]=$s
}
# stop_jobs: on an interrupt, stop the running jobs and remove the containers and networks they
# made (found by their labels: this run id and scenario).
stop_jobs() {
  local i s
  for i in "${!job_pid[@]}"; do
    kill -TERM -- "-${job_pid[$i]}" 2>/dev/null || true
    s=${running_scenario[$i]}
    docker ps -aq --filter "label=mlsp.run_id=$MLSP_RUN_ID" --filter "label=mlsp.scenario=$s" | xargs -r docker rm -f >/dev/null || true
    docker network ls -q --filter "label=mlsp.run_id=$MLSP_RUN_ID" --filter "label=mlsp.scenario=$s" | xargs -r docker network rm >/dev/null || true
  done
}
run_jobs() {
  local pending=() j i k rc pid busy alone start=$SECONDS
  for j in "${!job_names[@]}"; do pending+=("$j"); done
  trap 'stop_jobs; exit 130' INT TERM
  while [ ${#pending[@]} -gt 0 ] || [ ${#job_pid[@]} -gt 0 ]; do
    # Start the first pending jobs that may run now, up to --jobs.
    for k in "${!pending[@]}"; do
      [ ${#job_pid[@]} -lt "$jobs" ] || break
      j=${pending[$k]} busy=0 alone=0
      for i in "${!running_scenario[@]}"; do
        [ "${running_scenario[$i]}" != "${job_scenarios[$j]}" ] || busy=1
        [[ $ALONE != *" ${running_scenario[$i]} "* ]] || alone=1
      done
      if [ $busy = 1 ] || [ $alone = 1 ]; then continue; fi
      [[ $ALONE != *" ${job_scenarios[$j]} "* ]] || [ ${#job_pid[@]} = 0 ] || continue
      start_job "$j"; unset "pending[$k]"
    done
    pending=("${pending[@]}")
    rc=0; wait -n -p pid || rc=$?
    for i in "${!job_pid[@]}"; do
      [ "${job_pid[$i]}" = "$pid" ] || continue
      record "$i" "$rc" $((SECONDS - job_start[$i]))
      log "stage: ${names[$i]}: ${results[$i]} in ${times[$i]} s"
      unset "job_pid[$i]" "job_start[$i]" "running_scenario[$i]"
    done
  done
  trap - INT TERM
  molecule_wall=$((SECONDS - start))
}

cd "$MLSP_ROOT"
if want setup; then
  MLSP_DISTROS="${distros[*]}" stage setup "$MLSP_ROOT/scripts/setup.sh"
  [ $failed = 0 ] || die "setup failed (log: ${logs[0]})"
  offline_env  # the apt proxy and wheelhouse that setup made
fi
activate_venv
link_collection
want lint && stage yamllint yamllint --strict .
want lint && stage ansible-lint ansible-lint --offline --strict
want lint && stage "changelog lint" antsibull-changelog lint
want sanity && stage sanity "$MLSP_ROOT/scripts/sanity.sh"
want build && stage "collection build + offline install" "$MLSP_ROOT/scripts/collection-build.sh"
if want unit; then
  unit() { local rc=0; pytest -q -p no:cacheprovider tests/unit || rc=$?; [ $rc = 5 ] && rc=0; return $rc; }
  stage unit unit
fi
molecule_wall=
if want molecule; then
  for s in "${scenarios[@]}"; do
    [[ $ALONE != *" $s "* ]] || continue  # last, after the user paths
    if [[ $ONCE == *" $s "* ]]; then
      molecule_job "molecule $s" "$s" -
    else
      these=("${distros[@]}")
      [ "$chosen_distros" -gt 0 ] || read -ra these <<< "${DEFAULT_DISTROS[$s]:-12 13}"
      for d in "${these[@]}"; do molecule_job "molecule $s (Debian $d)" "$s" "$d"; done
    fi
  done
fi
# The README's user paths, as written, on fresh hosts over SSH (not with --scenario: they are the
# whole product, not one scenario). They queue before the ALONE scenarios, so that they run beside
# the last role scenarios rather than after everything.
if want paths && [ "$explicit_scenarios" = 0 ]; then
  path_job "user path: sandbox up, client workflow, down (Debian 12)" sandbox 12
  path_job "user path: production quick start (Debian 12)" quickstart 12
  path_job "user path: site.yml --check on fresh hosts (Debian 13)" check-fresh 13
fi
if want molecule; then
  for s in "${scenarios[@]}"; do
    [[ $ALONE == *" $s "* ]] || continue
    these=("${distros[@]}")
    [ "$chosen_distros" -gt 0 ] || read -ra these <<< "${DEFAULT_DISTROS[$s]:-12 13}"
    for d in "${these[@]}"; do molecule_job "molecule $s (Debian $d)" "$s" "$d"; done
  done
fi
if [ ${#job_names[@]} -gt 0 ]; then
  live=0
  if [ "$jobs" = 1 ] || [ ${#job_names[@]} = 1 ]; then live=1; fi
  run_jobs
fi

for i in "${!names[@]}"; do
  [ "${results[$i]}" != PASS ] || continue
  echo
  echo "---- FAILED: ${names[$i]}: the last 150 lines of ${logs[$i]}"
  tail -n 150 "${logs[$i]}"
done
wall=$((SECONDS))
echo
echo "Stages (run id $MLSP_RUN_ID, cache: $MLSP_CACHE_DIR, logs: $logdir):"
for i in "${!names[@]}"; do
  printf '  %-4s  %5d s  %s%s\n' "${results[$i]%% *}" "${times[$i]}" "${names[$i]}" \
    "$([ "${results[$i]}" = PASS ] || echo " ${results[$i]#FAIL }")"
done
[ -z "$molecule_wall" ] || printf '        %5d s  molecule scenarios and user paths, up to %d at a time (wall time)\n' "$molecule_wall" "$jobs"
printf '        %5d s  wall time (%d min %02d s)\n' "$wall" $((wall / 60)) $((wall % 60))
echo "load average (1, 5, 15 min) on $(nproc) cores: $load_start at start, $(loadavg) at the end"
echo "stages: $passed passed, $failed failed"
[ $failed = 0 ]
