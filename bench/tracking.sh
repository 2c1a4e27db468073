#!/usr/bin/env bash
# Benchmark 2, tracking throughput (bench/tracking.py): log_metric, log_batch and search_runs at 1,
# 4 and 16 clients against our roles' server (a), the design guide's (b) and no auth (c).
# Deploys the benchmark stack first when it is not there (not timed).
#
# usage: bench/tracking.sh [--keep] [tracking.py options, e.g. --duration 3 --variants 'a b c a@ttl=0']
#   --keep   leave the stack container and state; without it they are removed at the end
source "$(dirname "$0")/lib.sh"
case ${1:-} in -h|--help) sed -n '2,8p' "$0"; exit 0 ;; esac
bench_python tracking.py "$@"
