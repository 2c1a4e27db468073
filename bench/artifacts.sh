#!/usr/bin/env bash
# Benchmark 3, artifacts (bench/artifacts.py): a 100 MB artifact through MLflow's artifact proxy
# against straight to MinIO with boto3. Deploys the benchmark stack first when it is not there.
#
# usage: bench/artifacts.sh [--keep] [artifacts.py options, e.g. --repeat 3 --size-mb 100]
#   --keep   leave the stack container and state; without it they are removed at the end
source "$(dirname "$0")/lib.sh"
case ${1:-} in -h|--help) sed -n '2,7p' "$0"; exit 0 ;; esac
bench_python artifacts.py "$@"
