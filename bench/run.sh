#!/usr/bin/env bash
# Every benchmark in one run: deploy (bench/deploy.sh), tracking throughput (bench/tracking.sh),
# artifacts (bench/artifacts.sh), on fresh mlsp-bench-* containers. Prints every table again at
# the end and keeps them, with the figures as JSON, in $MLSP_CACHE_DIR/bench-results/<time>/.
# Bounded: about 45 minutes with the defaults on a busy 2-core machine (tracking points are fixed
# in time; playbook runs, installs and transfers have time limits).
#
# usage: bench/run.sh [--keep] [--duration S] [--repeat N] [--variants 'a b c ...']
#   --keep         leave the containers and state (remove them later with bench/run.sh --down)
#   --duration S   seconds per tracking point (default 15)
#   --repeat N     repetitions of each artifact transfer (default 5)
#   --variants V   tracking variants (default: a b c, plus a@ttl=0,workers=4 = the role's defaults
#                  before the tuning, a@workers=4 = the workers change alone, a@auth=0 = our setup
#                  without authentication; see bench/tracking.py)
#   --down         only remove the benchmark containers and state
source "$(dirname "$0")/lib.sh"

keep=0 duration=15 repeat=5 variants="a b c a@ttl=0,workers=4 a@workers=4 a@auth=0"
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=1; shift ;;
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    --down) bench_teardown; exit 0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

out="$MLSP_CACHE_DIR/bench-results/$(date +%Y%m%dT%H%M%S)"
mkdir -p "$out"
[ "$keep" = 1 ] || trap bench_teardown EXIT
bench_setup
log "results: $out"
load_start="$(bench_loadavg)"
{
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM;"
  echo "load average at the start: $load_start on $(bench_cores) cores; commit $(git -C "$MLSP_ROOT" rev-parse --short HEAD)$(git -C "$MLSP_ROOT" diff --quiet HEAD -- roles playbooks || echo ' (roles/playbooks modified)')"
} | tee "$out/machine.txt"

log "1/3 deploy"
"$BENCH_DIR/deploy.sh" --keep | tee "$out/deploy.txt"
log "2/3 tracking throughput"
"$BENCH_DIR/tracking.sh" --keep --duration "$duration" --variants "$variants" --json "$out/tracking.json" \
  | tee "$out/tracking.txt"
log "3/3 artifacts"
"$BENCH_DIR/artifacts.sh" --keep --repeat "$repeat" --json "$out/artifacts.json" | tee "$out/artifacts.txt"
# Each benchmark judges its own targets by the load at its own start; this says whether the run as
# a whole started quiet.
echo "$(bench_load_line "$load_start" "$(bench_loadavg)") (whole run; each table judges by the load at its own start)" \
  >>"$out/machine.txt"

echo
echo "================================ all tables ================================"
cat "$out/machine.txt" "$out/deploy.txt" "$out/tracking.txt" "$out/artifacts.txt"
echo
echo "(kept in $out)"
