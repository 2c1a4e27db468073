#!/usr/bin/env bash
# The sandbox: the whole stack in local systemd containers, deployed by playbooks/site.yml exactly
# as in production, then checked by playbooks/health.yml.
#
# usage: scripts/sandbox.sh up [--distro 12|13] [--topology three|cluster]
#                                                 set up the toolchain, engine and image; start the
#                                                 containers; deploy; check; print how to reach it.
#                                                 three (default): database, MinIO, MLflow hosts;
#                                                 cluster: HAProxy on the database host in front of
#                                                 two MLflow hosts and a MinIO cluster of four hosts
#                                                 with two drives each (docs/scale-out.md)
#        scripts/sandbox.sh down                  remove the containers, network and inventory
#        scripts/sandbox.sh credentials           print the MLflow admin user and password
#        scripts/sandbox.sh health                run playbooks/health.yml again
# Environment: MLSP_SANDBOX_PORT (MLflow on 127.0.0.1, default 5000),
#              MLSP_SANDBOX_CONSOLE_PORT (MinIO console on 127.0.0.1, default 9001),
#              MLSP_SANDBOX_NAME (default sandbox: containers mlsp-<name>-*, inventories/<name>;
#              scripts/test.sh gives its own so that it leaves a user's sandbox alone).
source "$(dirname "$0")/lib.sh"

name="${MLSP_SANDBOX_NAME:-sandbox}"
[[ $name =~ ^sandbox(-[a-z0-9-]+)?$ ]] || die "MLSP_SANDBOX_NAME must be sandbox or sandbox-<a-z0-9->, not '$name'"
inv="$MLSP_ROOT/inventories/$name"
vault_pass="$inv/.vault-pass"
cmd="${1:-}"; shift || true
distro=12 topology=three
while [ $# -gt 0 ]; do
  case $1 in
    --distro) distro=$2; shift 2 ;;
    --topology) topology=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

playbook() { ansible-playbook -i "$inv" --vault-password-file "$vault_pass" "$@"; }

case $cmd in
  up)
    [[ $topology =~ ^(three|cluster)$ ]] || die "--topology is three or cluster, not '$topology'"
    MLSP_DISTROS=$distro "$MLSP_ROOT/scripts/setup.sh"
    activate_venv; link_collection
    log "containers (Debian $distro), reached over SSH as a sudo user, like production hosts"
    mkdir -p "$inv/group_vars/all" && chmod 0700 "$inv"
    mlflow_port="${MLSP_SANDBOX_PORT:-5000}" console_port="${MLSP_SANDBOX_CONSOLE_PORT:-9001}"
    if [ "$topology" = three ]; then
      containers='[{"name": "mlsp-'$name'-db"},
        {"name": "mlsp-'$name'-minio", "published_ports": ["127.0.0.1:'$console_port':9001"]},
        {"name": "mlsp-'$name'-mlflow", "published_ports": ["127.0.0.1:'$mlflow_port':5000"]}]'
    else  # MLflow through HAProxy (port 8080 on the database host); each MinIO drive a volume
      drives='"drives": ["/srv/minio/disk1", "/srv/minio/disk2"]'
      containers='[{"name": "mlsp-'$name'-db", "published_ports": ["127.0.0.1:'$mlflow_port':8080"]},
        {"name": "mlsp-'$name'-s3-1", "published_ports": ["127.0.0.1:'$console_port':9001"], '$drives'},
        {"name": "mlsp-'$name'-s3-2", '$drives'}, {"name": "mlsp-'$name'-s3-3", '$drives'},
        {"name": "mlsp-'$name'-s3-4", '$drives'},
        {"name": "mlsp-'$name'-mlflow1"}, {"name": "mlsp-'$name'-mlflow2"}]'
    fi
    cat >"$inv/.containers.json" <<EOJ
{"containers_network": "mlsp-$name", "containers_owner": "mlsp-$name",
 "containers_hosts_file": "$inv/.hosts.json", "containers": $containers}
EOJ
    MLSP_DISTRO=$distro ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
      ansible-playbook "$MLSP_ROOT/scripts/containers/up.yml" -e "@$inv/.containers.json"
    python3 "$MLSP_ROOT/scripts/containers/inventory.py" "$inv/.hosts.json" "$topology" "$inv/hosts.yml"
    # The sandbox's own settings: sizes for three services sharing one workstation. Everything else
    # (addresses, secrets, wiring) comes from playbooks/group_vars/all.yml as in production.
    printf '%s\n' '---' '# Written by scripts/sandbox.sh; removed by "scripts/sandbox.sh down".' \
      'postgresql_memory_mb: 1024' 'mlflow_workers: 2' \
      '# The console on the container'"'"'s address, which Docker publishes on the workstation'"'"'s 127.0.0.1.' \
      'minio_console_address: ""' >"$inv/group_vars/all/main.yml"
    if [ "$topology" = cluster ]; then
      printf '%s\n' '---' '# Written by scripts/sandbox.sh: the two drives of each MinIO host, Docker volumes.' \
        'minio_data_dirs: [/srv/minio/disk1, /srv/minio/disk2]' >"$inv/group_vars/minio.yml"
    fi
    if [ ! -f "$inv/group_vars/all/vault.yml" ]; then
      log "generating secrets"
      ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
        ansible-playbook "$MLSP_ROOT/playbooks/secrets.yml" \
        -e "secrets_file=$inv/group_vars/all/vault.yml" -e "secrets_vault_password_file=$vault_pass"
    fi
    log "deploying: ansible-playbook -i inventories/$name playbooks/site.yml"
    playbook "$MLSP_ROOT/playbooks/site.yml"
    log "health"
    playbook "$MLSP_ROOT/playbooks/health.yml"
    cat <<EOM

MLflow is up:     https://127.0.0.1:${MLSP_SANDBOX_PORT:-5000}
  CA certificate: $inv/.pki/ca.crt
                  (every service's certificate is signed by it: give it to clients and browsers)
  admin user:     admin
  password:       scripts/sandbox.sh credentials
                  (key vault_mlflow_admin_password in inventories/$name/group_vars/all/vault.yml,
                   an ansible-vault file whose password is in inventories/$name/.vault-pass)
MinIO console:    https://127.0.0.1:${MLSP_SANDBOX_CONSOLE_PORT:-9001}
Client settings:  export MLFLOW_TRACKING_URI=https://127.0.0.1:${MLSP_SANDBOX_PORT:-5000}
                  export MLFLOW_TRACKING_SERVER_CERT_PATH=$inv/.pki/ca.crt
                  export MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD=false
                  export MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=...
Tear down:        scripts/sandbox.sh down
EOM
    ;;
  credentials)
    activate_venv
    [ -f "$inv/group_vars/all/vault.yml" ] || die "no sandbox: run scripts/sandbox.sh up"
    ansible-vault view --vault-password-file "$vault_pass" "$inv/group_vars/all/vault.yml" \
      | awk -F': ' '$1 == "vault_mlflow_admin_password" {print "admin / " $2}'
    ;;
  health)
    activate_venv; link_collection
    playbook "$MLSP_ROOT/playbooks/health.yml"
    ;;
  down)
    log "removing the sandbox"
    docker ps -aq --filter "label=owner=mlsp-$name" | xargs -r docker rm -f -v >/dev/null
    docker network ls -q --filter "label=owner=mlsp-$name" | xargs -r docker network rm >/dev/null
    rm -rf "$inv"
    log "sandbox removed"
    ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
