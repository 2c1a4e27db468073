"""Drill: 16 non-admin clients log metrics, batches and artifacts for 60 s. No answer is a 5xx, 4xx
or missing, and every acknowledged metric and artifact is there afterwards (SQL through PgBouncer as
MLflow's database user, S3 listing as MinIO's root user)."""
import concurrent.futures
import time

import pytest
import requests
from stacklib import (DB, HTTP_TIMEOUT, MINIO_ROOT_USER, RUN, SECRETS, Client, artifact_path, check, create_user,
                      exec_in, mask, mlflow_url, note, s3)

# Timed drills (tests/helpers/verify_parts.py): their limits are times and failed requests under load.
pytestmark = pytest.mark.timed

LOAD_CLIENTS = 16
LOAD_SECONDS = 60
LOAD_MAX_ITERATIONS = 5000  # per client: a bound besides the time
LOAD_BATCH = 5
LOAD_ARTIFACT_EVERY = 4


def load_client(user, experiment_id, deadline):
    client = Client(user)
    info = client.run(experiment_id, f"load-{user[0]}")
    run_id, prefix = info["run_id"], artifact_path(info)
    stats = {"run_id": run_id, "requests": 0, "5xx": 0, "4xx": 0, "unanswered": 0, "acked": [], "artifacts": [],
             "errors": []}

    def send(method, path, **kwargs):
        stats["requests"] += 1
        try:
            resp = client.call(method, path, **kwargs)
        except requests.RequestException as exc:
            stats["unanswered"] += 1
            stats["errors"].append(type(exc).__name__)
            return False
        if resp.status_code >= 500:
            stats["5xx"] += 1
            stats["errors"].append(f"{resp.status_code} {resp.text[:120]}")
        elif resp.status_code >= 400:
            stats["4xx"] += 1
            stats["errors"].append(f"{resp.status_code} {resp.text[:120]}")
        return resp.status_code == 200

    for step in range(LOAD_MAX_ITERATIONS):
        if time.monotonic() >= deadline:
            break
        now = int(time.time() * 1000)
        metric = {"run_id": run_id, "key": "loss", "value": float(step), "timestamp": now, "step": step}
        if send("POST", "/api/2.0/mlflow/runs/log-metric", json=metric):
            stats["acked"].append(("loss", step, float(step)))
        batch = [{"key": f"m{j}", "value": float(step * 10 + j), "timestamp": now, "step": step} for j in range(LOAD_BATCH)]
        if send("POST", "/api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "metrics": batch}):
            stats["acked"] += [(m["key"], step, m["value"]) for m in batch]
        if step % LOAD_ARTIFACT_EVERY == 0:
            name = f"load/{step}.txt"
            if send("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{prefix}/{name}", data=f"{user[0]} {step}\n".encode()):
                stats["artifacts"].append(f"{prefix}/{name}")
    return stats


def metrics_in_database(run_ids):
    """(run_id, key, step, value) of every metric row of these runs, read with SQL through PgBouncer
    as MLflow's own database user."""
    ids = ",".join(f"'{r}'" for r in run_ids)
    rc, out, err = exec_in(DB, ["psql", "-h", "127.0.0.1", "-p", "6432", "-U", "mlflow", "-d", "mlflow", "-AtF,",
                                "-c", f"SELECT run_uuid, key, step, value FROM metrics WHERE run_uuid IN ({ids})"],
                           env={"PGPASSWORD": SECRETS["vault_postgresql_mlflow_password"]}, timeout=120)
    assert rc == 0, mask(err)
    rows = set()
    for line in out.splitlines():
        run_id, key, step, value = line.split(",")
        rows.add((run_id, key, int(step), float(value)))
    return rows


def objects_in_bucket(prefixes):
    root = s3(MINIO_ROOT_USER, SECRETS["vault_minio_root_password"])
    keys = set()
    for prefix in prefixes:
        for page in root.get_paginator("list_objects_v2").paginate(Bucket="mlflow", Prefix=prefix + "/"):
            keys |= {o["Key"] for o in page.get("Contents", [])}
    return keys


def test_load_16_clients_no_errors_no_lost_writes():
    url = mlflow_url()
    users = [create_user(f"drill-load-{RUN}-{i:02d}") for i in range(LOAD_CLIENTS)]
    experiments = [Client(user, url).experiment(f"drills-load-{RUN}-{i:02d}") for i, user in enumerate(users)]
    start = time.monotonic()
    deadline = start + LOAD_SECONDS
    with concurrent.futures.ThreadPoolExecutor(max_workers=LOAD_CLIENTS) as pool:
        futures = [pool.submit(load_client, user, exp, deadline) for user, exp in zip(users, experiments)]
        results = [f.result(timeout=LOAD_SECONDS + 4 * HTTP_TIMEOUT + 60) for f in futures]
    seconds = time.monotonic() - start
    requests_sent = sum(r["requests"] for r in results)
    errors_5xx = sum(r["5xx"] for r in results)
    errors_4xx = sum(r["4xx"] for r in results)
    unanswered = sum(r["unanswered"] for r in results)
    acked = {(r["run_id"], k, s, v) for r in results for k, s, v in r["acked"]}
    lost = acked - metrics_in_database([r["run_id"] for r in results])
    acked_artifacts = {a for r in results for a in r["artifacts"]}
    lost_artifacts = acked_artifacts - objects_in_bucket({a.rsplit("/load/", 1)[0] for a in acked_artifacts})
    samples = [e for r in results for e in r["errors"]][:5]
    note(f"load: requests, {LOAD_CLIENTS} clients", f"{requests_sent} in {seconds:.0f} s, {requests_sent / seconds:.1f}/s")
    writing = sum(bool(r["acked"]) and bool(r["artifacts"]) for r in results)
    check("load: clients acked", f"{writing} of {LOAD_CLIENTS}", "all", writing == LOAD_CLIENTS)
    check("load: 5xx", errors_5xx, "0", errors_5xx == 0, samples)
    check("load: 4xx / unanswered", f"{errors_4xx} / {unanswered}", "0 / 0", errors_4xx == 0 and unanswered == 0, samples)
    check("load: lost metric writes", f"{len(lost)} of {len(acked)}", "0", not lost, sorted(lost)[:10])
    check("load: lost artifacts", f"{len(lost_artifacts)} of {len(acked_artifacts)}", "0", not lost_artifacts,
          sorted(lost_artifacts)[:10])
