#!/usr/bin/env bash
# Benchmark 2, tracking throughput (bench/tracking.py): log_metric, log_batch and search_runs at 1,
# 4 and 16 clients against our roles' server (a), the design guide's (b) and no auth (c).
# Deploys the benchmark stack first when it is not there (not timed).
#
# usage: bench/tracking.sh [--keep] [tracking.py options, e.g. --duration 3 --variants 'a b c a@ttl=0']
#   --keep   leave the stack container and state; without it they are removed at the end
source "$(dirname "$0")/lib.sh"
keep=0 args=()
for a in "$@"; do
  case $a in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) args+=("$a") ;;
  esac
done
[ "$keep" = 1 ] || trap bench_teardown EXIT
bench_setup
bench_ensure_stack
"$BENCH_PY" "$BENCH_DIR/tracking.py" "${args[@]}"
