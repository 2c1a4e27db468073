"""The bad-input drill's cases, and how each one is run (test_5_bad_input.py, conftest.py).

A case: (name, extra vars, what the error must name, inventory groups to drop). Extra vars win over
everything, the wiring in playbooks/group_vars/all.yml included, so a vault_* value goes through
the wiring to the role variables that the roles check.

Each role's own checks (short passwords, malformed pg_hba entries, unknown permissions, versions
the wheelhouse lacks, ...) are its scenario's cases. These are what site.yml adds: the vault_*
wiring, a placeholder of each tier refused in the preflight play before any tier changes, and the
checks across tiers and on the controller (groups, ports, the CA, the MinIO build).
"""
import concurrent.futures
import json
import pathlib
import shutil
import tempfile
import time

import yaml
from stacklib import HOSTS, SITE, inventory, probe, run_playbook, service_units

BAD_INPUT = [
    ("pg password placeholder", {"vault_postgresql_mlflow_password": "Change_In_Production-Pg1"},
     "postgresql_users[mlflow].password", ()),
    ("pg password empty", {"vault_postgresql_mlflow_password": ""}, "vault_postgresql_mlflow_password", ()),
    ("pgbouncer pw placeholder", {"vault_pgbouncer_admin_password": "ChangeMe-ChangeMe-Pb"},
     "pgbouncer_admin_users[pgbouncer_admin].password", ()),
    ("pgbouncer pw empty", {"vault_pgbouncer_admin_password": ""}, "vault_pgbouncer_admin_password", ()),
    ("minio pw placeholder", {"vault_minio_root_password": "MinIO_Password"}, "minio_root_password", ()),
    ("minio pw empty", {"vault_minio_mlflow_secret_key": ""}, "vault_minio_mlflow_secret_key", ()),
    ("mlflow pw placeholder", {"vault_mlflow_admin_password": "Admin_Password"}, "mlflow_admin_password", ()),
    ("mlflow pw empty", {"vault_mlflow_flask_secret_key": ""}, "vault_mlflow_flask_secret_key", ()),
    ("bucket with capitals", {"minio_mlflow_bucket": "MLflow_Artifacts"}, "minio_mlflow_bucket", ()),
    ("bucket with '..'", {"mlflow_artifacts_bucket": "mlflow..artifacts"}, "mlflow_artifacts_bucket", ()),
    ("no pgbouncer group", {}, "group `pgbouncer`", ("pgbouncer",)),
    ("no minio group", {}, "group `minio`", ("minio",)),
    ("two services, one port", {"pgbouncer_port": 5432}, "pgbouncer_port", ()),
    ("minio local, no binary", {"minio_install_method": "local"}, "minio_local_binary", ()),
    # Only the argument spec refuses it (the hand checks read it as 0), and it is MLflow's, the last tier.
    ("mlflow ttl not a number", {"mlflow_auth_cache_ttl_seconds": "sixty"}, "mlflow_auth_cache_ttl_seconds", ()),
    # A build that is not in the (empty) cache: the controller's Go is checked before any change.
    # The CA's key is opened on the controller before any change (common tls_ca).
    ("CA passphrase wrong", {"vault_tls_ca_passphrase": "Not-the-CA-passphrase-4f2a9c"},
     "does not open with vault_tls_ca_passphrase", ()),
    ("no Go for MinIO build", {"minio_build_go": "/nonexistent/go",
                               "minio_build_cache_dir": "/nonexistent/mlsp-drill-cache"}, "minio_build_go", ()),
]

# Everything the roles write (their configuration, environment and unit files, the MinIO binary,
# the MLflow install) and the processes they run: a failed run must leave all of it as it was.
SNAPSHOT_FILES = [
    "/etc/postgresql/*/main/**", "/etc/postgresql-common/createcluster.d/*", "/etc/pgbouncer/*",
    "/etc/systemd/system/postgresql@.service.d/*", "/etc/systemd/system/pgbouncer.service.d/*",
    "/etc/default/minio", "/etc/systemd/system/minio.service", "/usr/local/bin/minio",
    "/etc/mlflow/*", "/etc/systemd/system/mlflow*.service", "/var/lib/mlflow/schema-stamp",
    "/opt/mlflow/lib/python3*/site-packages/mlflow-*.dist-info/RECORD",
]


def snapshot():
    """{host: {"files": {path: sha256}, "units": {unit: state}}} (probes/snapshot.py)."""
    units = {host: [] for host in HOSTS}
    for _service, host, unit in service_units():
        units[host].append(unit)
    state = {}
    for host in HOSTS:
        rc, out, err = probe(host, "snapshot.py", json.dumps(SNAPSHOT_FILES), json.dumps(units[host]), timeout=60)
        assert rc == 0, err
        state[host] = json.loads(out)
    return state


def snapshot_diff(before, after):
    diffs = []
    for host in HOSTS:
        for kind in ("files", "units"):
            old, new = before[host][kind], after[host][kind]
            diffs += [f"{host}:{key}" for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
    return diffs


def inventory_without(groups, directory):
    """A copy of the scenario's inventory without some groups (their hosts stay in `all`)."""
    copy = pathlib.Path(directory) / "inventory"
    shutil.copytree(inventory(), copy)
    path = copy / "ansible_inventory.yml"
    data = yaml.safe_load(path.read_text())
    for group in groups:
        data.pop(group)
    path.write_text(yaml.safe_dump(data))
    return copy


def run_case(case, baseline):
    name, extra_vars, _names, drop = case
    with tempfile.TemporaryDirectory(prefix="mlsp-drill-") as tmp:
        start = time.monotonic()
        run = run_playbook(SITE, extra_vars=extra_vars or {"mlsp_drill_case": name}, timeout=600,
                           inventory_path=inventory_without(drop, tmp) if drop else None)
        seconds = time.monotonic() - start
    return {"run": run, "seconds": seconds, "changed": snapshot_diff(baseline, snapshot())}


def run_all():
    """Every case, three at a time; each is compared with the state before all of them. Returns
    ({name: result}, seconds, what differs from the state before, after all of them)."""
    baseline = snapshot()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {case[0]: pool.submit(run_case, case, baseline) for case in BAD_INPUT}
        results = {name: future.result(timeout=900) for name, future in futures.items()}
    return results, time.monotonic() - start, snapshot_diff(baseline, snapshot())
