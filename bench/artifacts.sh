#!/usr/bin/env bash
# Benchmark 3, artifacts (bench/artifacts.py): a 100 MB artifact through MLflow's artifact proxy
# against straight to MinIO with boto3. Deploys the benchmark stack first when it is not there.
#
# usage: bench/artifacts.sh [--keep] [artifacts.py options, e.g. --repeat 3 --size-mb 100]
#   --keep   leave the stack container and state; without it they are removed at the end
source "$(dirname "$0")/lib.sh"
keep=0 args=()
for a in "$@"; do
  case $a in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) args+=("$a") ;;
  esac
done
[ "$keep" = 1 ] || trap bench_teardown EXIT
bench_setup
bench_ensure_stack
"$BENCH_PY" "$BENCH_DIR/artifacts.py" "${args[@]}"
