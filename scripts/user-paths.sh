#!/usr/bin/env bash
# The README's own user paths, run literally as stages of scripts/test.sh, on fresh hosts reached
# over SSH as a sudo user, by address, with names that no other host resolves:
#
#   scripts/user-paths.sh sandbox      `scripts/sandbox.sh up` from nothing, the design guide's
#                                      client workflow against it, `scripts/sandbox.sh down`
#   scripts/user-paths.sh quickstart   the README's production quick start, exactly as written
#                                      (the block between its quickstart markers), in a new HOME;
#                                      then `site.yml --limit mlflow`, `--tags mlflow_configure`
#                                      and `--check --diff` must each report changed=0
#   scripts/user-paths.sh check-fresh  `site.yml --check` on hosts that were never converged:
#                                      exits 0 and predicts changes
#
# Environment: MLSP_DISTRO (12 or 13) for the quickstart and check-fresh hosts.
#
# The containers' names carry the run id (MLSP_RUN_ID, scripts/lib.sh), and the sandbox path runs a
# sandbox of its own (MLSP_SANDBOX_NAME sandbox-test-<run id>, on free ports): two checkouts can run
# these at the same time, and a user's own sandbox (scripts/sandbox.sh up) stays as it is.
source "$(dirname "$0")/lib.sh"
activate_venv

cmd="${1:-}"
distro="${MLSP_DISTRO:-12}"

# start_hosts OWNER FILE: three fresh hosts (db, minio, mlflow) named <x>.<owner>.invalid, their
# containers mlsp-<owner>-<run id>-<x>; their SSH access details go to FILE (JSON).
start_hosts() {
  local owner=$1 file=$2 vars prefix="mlsp-$1-$MLSP_RUN_ID"
  vars="$(mktemp)"
  cat >"$vars" <<EOJ
{"containers_network": "$prefix", "containers_owner": "$prefix", "containers_hosts_file": "$file",
 "containers": [{"name": "$prefix-db", "hostname": "db1.$owner.invalid"},
                {"name": "$prefix-minio", "hostname": "s3-1.$owner.invalid"},
                {"name": "$prefix-mlflow", "hostname": "mlflow1.$owner.invalid"}]}
EOJ
  MLSP_DISTRO=$distro ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
    ansible-playbook "$MLSP_ROOT/scripts/containers/up.yml" -e "@$vars"
  rm -f "$vars"
}

stop_hosts() {  # stop_hosts OWNER: remove what start_hosts OWNER made (by its label)
  docker ps -aq --filter "label=owner=mlsp-$1-$MLSP_RUN_ID" | xargs -r docker rm -f >/dev/null
  docker network ls -q --filter "label=owner=mlsp-$1-$MLSP_RUN_ID" | xargs -r docker network rm >/dev/null
}

# recap_changed LOG: the sum of changed= over the PLAY RECAP lines of an ansible-playbook log.
recap_changed() {
  awk '/^PLAY RECAP/ {r=1; next} r && / : ok=/ {for (i=1;i<=NF;i++) if ($i ~ /^changed=/) {split($i,a,"="); s+=a[2]}} END {print s+0}' "$1"
}

# readme_block NAME: the shell block between <!-- NAME:begin --> and <!-- NAME:end --> of README.md.
readme_block() {
  awk -v b="<!-- $1:begin -->" -v e="<!-- $1:end -->" '
    $0 == b {on=1; next} $0 == e {on=0} on && /^```/ {fence=!fence; next} on && fence {print}' "$MLSP_ROOT/README.md"
}

case $cmd in
  sandbox)
    MLSP_SANDBOX_NAME="sandbox-test-$MLSP_RUN_ID"
    MLSP_SANDBOX_PORT="$(free_port)" MLSP_SANDBOX_CONSOLE_PORT="$(free_port)"
    export MLSP_SANDBOX_NAME MLSP_SANDBOX_PORT MLSP_SANDBOX_CONSOLE_PORT
    trap '"$MLSP_ROOT/scripts/sandbox.sh" down' EXIT
    "$MLSP_ROOT/scripts/sandbox.sh" down
    "$MLSP_ROOT/scripts/sandbox.sh" up
    python="$("$MLSP_ROOT/scripts/client-venv.sh" | tail -n1)"
    log "the design guide's client workflow against the sandbox"
    password="$("$MLSP_ROOT/scripts/sandbox.sh" credentials | cut -d' ' -f3-)"
    [ -n "$password" ] || die "scripts/sandbox.sh credentials printed no password"
    suffix="$(date +%s)"
    MLFLOW_TRACKING_URI="https://127.0.0.1:$MLSP_SANDBOX_PORT" MLFLOW_TRACKING_USERNAME=admin \
      MLFLOW_TRACKING_SERVER_CERT_PATH="$MLSP_ROOT/inventories/$MLSP_SANDBOX_NAME/.pki/ca.crt" \
      MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD=false \
      MLFLOW_TRACKING_PASSWORD="$password" MLFLOW_HTTP_REQUEST_MAX_RETRIES=2 \
      timeout 600 "$python" "$MLSP_ROOT/molecule/stack/client_workflow.py" "sandbox-$suffix" "sandbox-model-$suffix" \
      | tail -n1 | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["prediction"] == r["expected"], r
assert r["artifacts"] == ["plots/feature_importance.png"], r
print("client workflow: run", r["run_id"], "model version", r["model_version"], "served and read back")'
    ;;

  quickstart)
    work="$(mktemp -d /tmp/mlsp-quickstart.XXXXXX)"
    trap 'stop_hosts quickstart; rm -rf "$work"' EXIT
    stop_hosts quickstart
    start_hosts quickstart "$work/hosts.json"
    block="$(readme_block quickstart)"
    [ -n "$block" ] || die "README.md has no quickstart block"
    log "the README's production quick start, as written, in a new HOME ($work/home)"
    mkdir -p "$work/home"
    printf '%s\n' "$block" | sed 's/^/    /' >&2
    # A user's shell: no ansible.cfg of this repository, no collections path but the one the block
    # sets; the only editing the block asks for ($EDITOR on hosts.yml) writes the test hosts.
    (cd "$MLSP_ROOT" && env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH HOME="$work/home" \
       EDITOR="$MLSP_ROOT/scripts/containers/edit-inventory.sh" MLSP_HOSTS_JSON="$work/hosts.json" MLSP_LAYOUT=three \
       bash -euo pipefail -c "$block") 2>&1 | tee "$work/quickstart.log"
    site="$work/home/mlflow-site"
    grep -q '^PLAY RECAP' "$work/quickstart.log" || die "the quick start ran no playbook"
    # The README's commands warn of nothing: a warning on every run is one users learn to skip
    # (such as Ansible's about the CA's files, were they in a folder it reads as inventory).
    ! grep -n 'WARNING\]' "$work/quickstart.log" || die "the quick start printed the warnings above"
    again() {  # again LABEL ARGS...: site.yml from the user's folder, must report changed=0
      local label=$1; shift
      log "site.yml $label on the converged stack: must change nothing"
      (cd "$site" && env -u ANSIBLE_CONFIG HOME="$work/home" ANSIBLE_COLLECTIONS_PATH="$site/collections" \
         ansible-playbook -i inventory --vault-password-file vault-pass mlsp.mlflow_stack.site "$@") \
        >"$work/again.log" 2>&1 || { tail -n 60 "$work/again.log"; die "site.yml $label failed"; }
      local changed; changed="$(recap_changed "$work/again.log")"
      sed -n '/^PLAY RECAP/,$p' "$work/again.log"
      [ "$changed" = 0 ] || { grep -B2 -A8 '^changed:' "$work/again.log" | head -n 80; die "site.yml $label changed $changed"; }
      # A user's run warns of nothing (with TLS on): a warning on every run is one users learn to skip.
      ! grep -n 'WARNING\]' "$work/again.log" || die "site.yml $label printed the warnings above"
    }
    again "--limit mlflow" --limit mlflow
    again "--tags mlflow_configure" --tags mlflow_configure
    again "--check --diff" --check --diff
    log "quick start: passed"
    ;;

  check-fresh)
    work="$(mktemp -d /tmp/mlsp-checkfresh.XXXXXX)"
    trap 'stop_hosts checkfresh; rm -rf "$work"' EXIT
    stop_hosts checkfresh
    start_hosts checkfresh "$work/hosts.json"
    link_collection
    mkdir -p "$work/inventory"
    python3 "$MLSP_ROOT/scripts/containers/inventory.py" "$work/hosts.json" three "$work/inventory/hosts.yml"
    (cd "$work" && ansible-playbook "$MLSP_ROOT/playbooks/secrets.yml" \
       -e secrets_file=inventory/group_vars/all/vault.yml -e secrets_vault_password_file=vault-pass >/dev/null)
    log "a CA left in the inventory's old pki folder stops site.yml before any change"
    mkdir "$work/inventory/pki" && echo 'not read, only found' >"$work/inventory/pki/ca.crt"
    if (cd "$work" && ansible-playbook -i inventory --vault-password-file vault-pass \
          "$MLSP_ROOT/playbooks/site.yml") >"$work/oldpki.log" 2>&1; then
      die "site.yml ran with a CA in inventory/pki"
    fi
    grep -q 'inventory/pki holds a CA.*Nothing has been changed' <(tr -s ' \n' ' ' <"$work/oldpki.log") \
      || { tail -n 40 "$work/oldpki.log"; die "site.yml did not stop on the CA in inventory/pki as it should"; }
    [ "$(recap_changed "$work/oldpki.log")" = 0 ] || die "site.yml changed something before it stopped"
    rm -rf "$work/inventory/pki"
    log "site.yml --check --diff on hosts that were never converged"
    (cd "$work" && ansible-playbook -i inventory --vault-password-file vault-pass --check --diff \
       "$MLSP_ROOT/playbooks/site.yml") >"$work/check.log" 2>&1 || { tail -n 80 "$work/check.log"; die "site.yml --check failed on fresh hosts"; }
    sed -n '/^PLAY RECAP/,$p' "$work/check.log"
    changed="$(recap_changed "$work/check.log")"
    [ "$changed" -gt 0 ] || die "site.yml --check predicted no change on fresh hosts"
    # Check mode changes nothing: the hosts still have none of the stack.
    for c in "mlsp-checkfresh-$MLSP_RUN_ID"-{db,minio,mlflow}; do
      if docker exec "$c" sh -c 'dpkg -s postgresql pgbouncer >/dev/null 2>&1 || test -e /usr/local/bin/minio || test -e /opt/mlflow'; then
        die "site.yml --check installed something on $c"
      fi
    done
    log "check mode on fresh hosts: exit 0, $changed changes predicted, nothing installed"
    ;;

  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
