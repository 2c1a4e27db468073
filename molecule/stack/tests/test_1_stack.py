"""The whole stack, converged with site.yml on three hosts, used as its users use it.

Runs from the controller: the design guide's client workflow (a real MLflow client in its own
venv), then checks where its data landed (MinIO objects, PostgreSQL rows through PgBouncer), the
health playbook (passing, and failing when a tier is down). (`site.yml --check --diff` on a
converged stack is the production quick start's test, scripts/user-paths.sh.)
"""
import json
import subprocess
import time
import uuid

import pytest
from stacklib import (DB, HEALTH, MINIO, MINIO_ROOT_USER, SCENARIO, SECRETS, client_env, client_python, exec_in,
                      health_lines, mask, run_playbook, s3)


def _pgbouncer_queries():
    rc, out, err = exec_in(DB, ["psql", "-h", "127.0.0.1", "-p", "6432", "-U", "pgbouncer_admin",
                                "-d", "pgbouncer", "-AtF,", "-c", "SHOW STATS"],
                           {"PGPASSWORD": SECRETS["vault_pgbouncer_admin_password"]})
    assert rc == 0, err
    for line in out.splitlines():
        cols = line.split(",")
        if cols[0] == "mlflow":
            return int(cols[2])  # total_query_count (total_xact_count is cols[1])
    raise AssertionError(f"no mlflow database in SHOW STATS:\n{out}")


def _root_s3():
    return s3(MINIO_ROOT_USER, SECRETS["vault_minio_root_password"])


@pytest.fixture(scope="module")
def workflow():
    python = client_python()
    before = _pgbouncer_queries()
    suffix = uuid.uuid4().hex[:8]
    proc = subprocess.run([python, str(SCENARIO / "client_workflow.py"), f"nfl-prediction-{suffix}",
                           f"nfl-model-{suffix}"], env=client_env(), capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, mask(proc.stderr[-4000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["pgbouncer_queries"] = (before, _pgbouncer_queries())
    return result


def test_run_reads_back(workflow):
    assert workflow["params"] == {"n_estimators": "50", "max_depth": "5"}
    assert set(workflow["metrics"]) == {"accuracy", "f1_score"}
    assert workflow["metrics"]["f1_score"] == pytest.approx(0.82)
    assert workflow["artifacts"] == ["plots/feature_importance.png"]


def test_model_loads_by_alias_and_predicts(workflow):
    assert workflow["alias_version"] == workflow["model_version"] == "1"
    assert workflow["stage"] == "Production"
    assert workflow["prediction"] == workflow["expected"]


def test_artifacts_are_objects_in_the_bucket(workflow):
    keys = [o["Key"] for page in _root_s3().get_paginator("list_objects_v2").paginate(Bucket="mlflow")
            for o in page.get("Contents", [])]
    png = [k for k in keys if k.endswith("plots/feature_importance.png") and workflow["run_id"] in k]
    assert png, f"the PNG of run {workflow['run_id']} is not in bucket mlflow"
    assert any(k.endswith("/MLmodel") for k in keys), "no logged model (MLmodel) in bucket mlflow"
    body = _root_s3().get_object(Bucket="mlflow", Key=png[0])["Body"].read()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"


def test_rows_came_through_pgbouncer(workflow):
    before, after = workflow["pgbouncer_queries"]
    assert after > before, "MLflow's queries did not go through PgBouncer"
    rc, out, err = exec_in(DB, ["runuser", "-u", "postgres", "--", "psql", "-d", "mlflow", "-Atc",
                                f"SELECT status FROM runs WHERE run_uuid = '{workflow['run_id']}'"])
    assert rc == 0, err
    assert out.strip() == "FINISHED"


def test_health_playbook_passes():
    run = run_playbook(HEALTH)
    lines = health_lines(run)
    assert run.returncode == 0, mask(run.failures())
    assert len(lines) == 7 and all(status == "OK" for status, _check in lines), lines
    for secret in SECRETS.values():
        assert secret not in run.output


def test_health_playbook_fails_when_minio_is_down():
    rc, _out, err = exec_in(MINIO, ["systemctl", "stop", "minio"])
    assert rc == 0, err
    try:
        run = run_playbook(HEALTH)
        lines = dict((check, status) for status, check in health_lines(run))
        assert run.returncode != 0
        assert [status for check, status in lines.items() if check.startswith("MinIO ready")] == ["FAIL"], lines
        assert lines.get("MLflow /health") == "OK", lines
    finally:
        exec_in(MINIO, ["systemctl", "start", "minio"])
        for _attempt in range(30):  # bounded: 30 x 1 s
            if exec_in(MINIO, ["systemctl", "is-active", "minio"])[0] == 0:
                break
            time.sleep(1)
