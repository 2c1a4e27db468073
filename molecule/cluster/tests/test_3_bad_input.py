"""Bad input of the scale-out, each refused by site.yml's preflight with a message that names what
to fix, before anything changes: a run with the case's extra variables fails,
names the variable or group, and reports no change on any host."""
import pytest

from clusterlib import SITE, check, run_playbook

CASES = [
    # (name, extra vars, what the error must name)
    ("MinIO hosts without a cluster group", {"minio_cluster_group": ""}, "minio_cluster_group is empty"),
    ("drives on the root file system", {"minio_data_dirs": ["/var/lib/minio/d1", "/var/lib/minio/d2"]},
     "minio_data_dirs"),
    ("a server name HAProxy cannot use",
     {"haproxy_mlflow_servers": [{"name": "mlflow 1", "address": "10.0.0.1", "port": 5000}]},
     "haproxy_mlflow_servers"),
    ("MLflow under gunicorn", {"mlflow_server_extra_args": ["--gunicorn-opts=--timeout 60"]},
     "mlflow_server_extra_args"),
]


@pytest.mark.parametrize("name, extra, names", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_change(name, extra, names):
    run = run_playbook(SITE, extra_vars=extra, timeout=600)
    messages = " ".join(run.failures())
    changed = sum(stats.get("changed", 0) for stats in run.stats.values())
    check(f"refused: {name}", f"rc {run.returncode}, changed {changed}", "rc != 0, 0 changed, names it",
          run.returncode != 0 and changed == 0 and names in messages, messages[:600])
