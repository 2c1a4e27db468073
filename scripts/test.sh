#!/usr/bin/env bash
# The one test command: setup (cached), lint, sanity, unit tests, `molecule test` for every
# scenario on its distributions (Debian 12 and/or 13, see DEFAULT_DISTROS), then the README's user
# paths run literally (scripts/user-paths.sh: the sandbox, the production quick start, --check on
# fresh hosts). Prints a table of stages with their times at the end and exits non-zero if any
# stage failed.
#
# usage: scripts/test.sh                       everything
#        scripts/test.sh --scenario postgresql  one scenario (repeatable), its distributions
#        scripts/test.sh --distro 13            one distribution (repeatable); given, it applies
#                                               to every scenario
#        scripts/test.sh --only lint,unit       some stages: setup,lint,sanity,build,unit,molecule,paths
source "$(dirname "$0")/lib.sh"

# Scenarios in dependency order. Those whose platforms name their own distribution run once.
ALL_SCENARIOS=(harness postgresql pgbouncer minio mlflow stack)
ONCE=" harness "
# The distributions of the full run, per scenario (CI has 90 minutes on 2 cores). `postgresql` runs
# on both for its two major versions (15 and 17); the other role scenarios on one each, alternating.
# The whole stack through site.yml runs on both: the `stack` scenario (with its drills) on 13, the
# production quick start and the sandbox on 12. `--distro` runs the scenarios it is given on it.
declare -A DEFAULT_DISTROS=([postgresql]="12 13" [pgbouncer]="13" [minio]="12" [mlflow]="13" [stack]="13")
scenarios=() distros=() only="setup,lint,sanity,build,unit,molecule,paths"
while [ $# -gt 0 ]; do
  case $1 in
    --scenario) scenarios+=("$2"); shift 2 ;;
    --distro) distros+=("$2"); shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
explicit_scenarios=${#scenarios[@]}
[ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL_SCENARIOS[@]}")
chosen_distros=${#distros[@]}
[ ${#distros[@]} -gt 0 ] || distros=(12 13)
for s in "${scenarios[@]}"; do [ -f "$MLSP_ROOT/molecule/$s/molecule.yml" ] || die "no scenario '$s'"; done

passed=0 failed=0 report=()
stage() {  # stage NAME COMMAND...: run, time and record one stage; keep going on failure
  local name=$1 start=$SECONDS rc=0; shift
  log "stage: $name"
  "$@" || rc=$?
  local secs=$((SECONDS - start))
  if [ $rc = 0 ]; then passed=$((passed + 1)); report+=("PASS  $(printf '%5d' $secs) s  $name")
  else failed=$((failed + 1)); report+=("FAIL  $(printf '%5d' $secs) s  $name (exit $rc)"); fi
  return 0
}
want() { [[ ",$only," == *",$1,"* ]]; }

cd "$MLSP_ROOT"
if want setup; then
  MLSP_DISTROS="${distros[*]}" stage setup "$MLSP_ROOT/scripts/setup.sh"
  [ $failed = 0 ] || { printf '%s\n' "${report[@]}"; die "setup failed"; }
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
if want molecule; then
  for s in "${scenarios[@]}"; do
    if [[ $ONCE == *" $s "* ]]; then
      stage "molecule $s" molecule test -s "$s"
    else
      these=("${distros[@]}")
      [ "$chosen_distros" -gt 0 ] || read -ra these <<< "${DEFAULT_DISTROS[$s]:-12 13}"
      for d in "${these[@]}"; do
        MLSP_DISTRO=$d stage "molecule $s (Debian $d)" env MLSP_DISTRO="$d" molecule test -s "$s"
      done
    fi
  done
fi

# The README's user paths, as written, on fresh hosts over SSH (not with --scenario: they are the
# whole product, not one scenario).
if want paths && [ "$explicit_scenarios" = 0 ]; then
  stage "user path: sandbox up, client workflow, down (Debian 12)" "$MLSP_ROOT/scripts/user-paths.sh" sandbox
  stage "user path: production quick start (Debian 12)" env MLSP_DISTRO=12 "$MLSP_ROOT/scripts/user-paths.sh" quickstart
  stage "user path: site.yml --check on fresh hosts (Debian 13)" env MLSP_DISTRO=13 "$MLSP_ROOT/scripts/user-paths.sh" check-fresh
fi

echo
echo "Stages (cache: $MLSP_CACHE_DIR):"
printf '  %s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ $failed = 0 ]
