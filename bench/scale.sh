#!/usr/bin/env bash
# Benchmark 4, scale-out (bench/scale.py): on the cluster sandbox (HAProxy, two MLflow hosts, a
# MinIO cluster of four hosts with two drives each: scripts/sandbox.sh up --topology cluster),
#   - tracking requests per second through the load balancer with one MLflow host in service (the
#     other set to maintenance in HAProxy's runtime API) and with both, side by side in one run;
#   - artifact throughput (S3 put and get) against the cluster through the load balancer, against
#     one of its nodes, and against a single-host MinIO (a transient server on one node's container).
# Deploys the sandbox first (sandbox name sandbox-bench-scale, on free ports; not timed) and removes
# it at the end unless --keep is given. About 25 minutes with the defaults on a 2-core machine.
#
# usage: bench/scale.sh [--keep] [--down] [scale.py options: --duration S --rounds N --clients 4,16
#                        --ops log_metric,search_runs --size-mb N --repeat N --streams 1,4 --json F]
#   --keep   leave the sandbox running (remove it later with bench/scale.sh --down)
#   --down   only remove the sandbox
source "$(dirname "$0")/lib.sh"
case ${1:-} in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; esac

export MLSP_SANDBOX_NAME=sandbox-bench-scale
inv="$MLSP_ROOT/inventories/$MLSP_SANDBOX_NAME"
keep=0
args=()
for a in "$@"; do
  case $a in
    --keep) keep=1 ;;
    --down) "$MLSP_ROOT/scripts/sandbox.sh" down; exit 0 ;;
    *) args+=("$a") ;;
  esac
done

bench_setup
[ "$keep" = 1 ] || trap '"$MLSP_ROOT/scripts/sandbox.sh" down >/dev/null' EXIT
if [ -f "$inv/.bench-converged" ] \
  && [ "$(docker inspect -f '{{.State.Running}}' "mlsp-$MLSP_SANDBOX_NAME-db" 2>/dev/null)" = true ]; then
  log "the cluster sandbox $MLSP_SANDBOX_NAME is up (from --keep)"
else
  MLSP_SANDBOX_PORT="$(free_port)" MLSP_SANDBOX_CONSOLE_PORT="$(free_port)"
  export MLSP_SANDBOX_PORT MLSP_SANDBOX_CONSOLE_PORT
  mkdir -p "$BENCH_STATE" && chmod 0700 "$BENCH_STATE"
  log "deploying the cluster sandbox $MLSP_SANDBOX_NAME (log: $BENCH_STATE/scale-sandbox.log)"
  "$MLSP_ROOT/scripts/sandbox.sh" down >/dev/null
  start=$SECONDS
  "$MLSP_ROOT/scripts/sandbox.sh" up --topology cluster >"$BENCH_STATE/scale-sandbox.log" 2>&1 \
    || { tail -40 "$BENCH_STATE/scale-sandbox.log"; die "scripts/sandbox.sh up --topology cluster failed"; }
  log "cluster sandbox up in $((SECONDS - start)) s (site.yml and health.yml)"
  touch "$inv/.bench-converged"
fi

# The secrets go to the benchmark on its standard input, never on a command line.
ansible-vault view --vault-password-file "$inv/.vault-pass" "$inv/group_vars/all/vault.yml" \
  | "$BENCH_PY" "$BENCH_DIR/scale.py" --prefix "mlsp-$MLSP_SANDBOX_NAME" --ca "$inv/.pki/ca.crt" "${args[@]}"
