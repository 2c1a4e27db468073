"""Drills: who may reach what. MinIO's mlflow user is refused outside its bucket; PostgreSQL
refuses the addresses pg_hba does not list, and other hosts altogether; MLflow refuses anonymous
calls and wrong passwords (401), /signup lets no anonymous visitor in, and a READ user cannot
delete an experiment. Each drill also checks its control: the right credentials work."""
import json
import uuid

import requests
from botocore.exceptions import ClientError
from mlsp_testlib import container_address
from stacklib import (ADMIN, DB, HTTP_TIMEOUT, MINIO, MINIO_ROOT_USER, MLFLOW, MLFLOW_S3_ACCESS_KEY, RUN, SECRETS,
                      Client, api, check, mlflow_url, ok, probe, s3)


def error_code(call):
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return "allowed"


def test_minio_mlflow_user_is_refused_outside_its_bucket():
    root = s3(MINIO_ROOT_USER, SECRETS["vault_minio_root_password"])
    user = s3(MLFLOW_S3_ACCESS_KEY, SECRETS["vault_minio_mlflow_secret_key"])
    other = f"drill-other-{RUN}"
    root.create_bucket(Bucket=other)
    root.put_object(Bucket=other, Key="secret.txt", Body=b"not for mlflow\n")
    try:
        # Control: in its own bucket the user may write, read and delete.
        user.put_object(Bucket="mlflow", Key=f"drills-access/{RUN}.txt", Body=b"ok\n")
        assert user.get_object(Bucket="mlflow", Key=f"drills-access/{RUN}.txt")["Body"].read() == b"ok\n"
        user.delete_object(Bucket="mlflow", Key=f"drills-access/{RUN}.txt")
        codes = {
            "create a bucket": error_code(lambda: user.create_bucket(Bucket=f"drill-new-{RUN}")),
            "list another bucket": error_code(lambda: user.list_objects_v2(Bucket=other)),
            "read from another bucket": error_code(lambda: user.get_object(Bucket=other, Key="secret.txt")),
            "write to another bucket": error_code(lambda: user.put_object(Bucket=other, Key="x", Body=b"x")),
            "delete another bucket": error_code(lambda: user.delete_bucket(Bucket=other)),
            "change its bucket's policy": error_code(lambda: user.delete_bucket_policy(Bucket="mlflow")),
        }
        listed = [b["Name"] for b in user.list_buckets().get("Buckets", [])] if error_code(user.list_buckets) == "allowed" else []
    finally:
        for obj in root.list_objects_v2(Bucket=other).get("Contents", []):
            root.delete_object(Bucket=other, Key=obj["Key"])
        root.delete_bucket(Bucket=other)
    denied = sum(code == "AccessDenied" for code in codes.values())
    check("mlflow S3 user, other bucket", f"{denied} of {len(codes)} AccessDenied", "all denied",
          denied == len(codes) and other not in listed, f"{codes}, lists {listed}")


def test_postgresql_refuses_addresses_pg_hba_does_not_list():
    password = {"PGPASSWORD": SECRETS["vault_postgresql_mlflow_password"]}
    rc, out, err = probe(DB, "pg_hba.py", env=password, timeout=60)
    assert rc == 0, err
    local = json.loads(out)
    assert local["127.0.0.1"] == "connected", local["127.0.0.1"]  # control: the password is right
    refused_by_hba = 'no pg_hba.conf entry for host "127.0.0.2"' in local["127.0.0.2"]
    check("pg_hba: unlisted address", "refused by pg_hba" if refused_by_hba else "NOT refused", "refused",
          refused_by_hba, local["127.0.0.2"])


def test_postgresql_is_not_reachable_from_other_hosts():
    # With the right password: PostgreSQL does not even listen there (only PgBouncer, on the same
    # host, uses it), so the connection is refused before pg_hba. MLflow's host tries with
    # PostgreSQL's client library from MLflow's venv; MinIO's has none: TCP is as far as one gets.
    password = {"PGPASSWORD": SECRETS["vault_postgresql_mlflow_password"]}
    remote = {}
    for host, mode, python in ((MLFLOW, "psycopg2", "/opt/mlflow/bin/python"), (MINIO, "tcp", "python3")):
        rc, out, err = probe(host, "pg_remote.py", mode, container_address(DB), env=password, timeout=60, python=python)
        assert rc == 0, err
        remote[host] = out.strip()
    refused = all("refused" in v.lower() for v in remote.values())
    check("PostgreSQL from other hosts", ", ".join("refused" if "refused" in v.lower() else "OPEN"
                                                   for v in remote.values()), "refused", refused, remote)


def test_mlflow_refuses_anonymous_and_wrong_passwords(reader):
    url = mlflow_url()
    search = "/api/2.0/mlflow/experiments/search?max_results=1"
    wrong = "Wrong-" + uuid.uuid4().hex[:12]
    codes = {
        "anonymous API call": requests.get(url + search, timeout=HTTP_TIMEOUT).status_code,
        "anonymous artifact list": requests.get(url + "/api/2.0/mlflow-artifacts/artifacts", timeout=HTTP_TIMEOUT).status_code,
        "anonymous UI AJAX call": requests.get(url + "/ajax-api/2.0/mlflow/experiments/search?max_results=1",
                                               timeout=HTTP_TIMEOUT).status_code,
        "admin, wrong password": requests.get(url + search, auth=("admin", wrong), timeout=HTTP_TIMEOUT).status_code,
        "user, wrong password": requests.get(url + search, auth=(reader[0], wrong), timeout=HTTP_TIMEOUT).status_code,
        "unknown user": requests.get(url + search, auth=(f"nobody-{RUN}", wrong), timeout=HTTP_TIMEOUT).status_code,
    }
    # Control: the right passwords work.
    assert requests.get(url + search, auth=ADMIN, timeout=HTTP_TIMEOUT).status_code == 200
    assert requests.get(url + search, auth=reader, timeout=HTTP_TIMEOUT).status_code == 200
    refused = sum(code == 401 for code in codes.values())
    check("MLflow anonymous/wrong pw", f"{refused} of {len(codes)} got 401", "all 401", refused == len(codes), codes)


def test_signup_lets_no_anonymous_visitor_in():
    url = mlflow_url()
    name, password = f"drill-signup-{RUN}", "Signup-" + uuid.uuid4().hex[:16]
    form = {"username": name, "password": password}
    codes = {
        "GET /signup": requests.get(url + "/signup", timeout=HTTP_TIMEOUT).status_code,
        "POST /signup": requests.post(url + "/signup", data=form, timeout=HTTP_TIMEOUT).status_code,
        # The signup form posts here (mlflow.server.auth.routes.CREATE_USER_UI).
        "POST the signup form": requests.post(url + "/api/2.0/mlflow/users/create-ui", data=form,
                                              timeout=HTTP_TIMEOUT).status_code,
        "POST users/create": requests.post(url + "/api/2.0/mlflow/users/create", json=form,
                                           timeout=HTTP_TIMEOUT).status_code,
        "POST ajax users/create": requests.post(url + "/ajax-api/2.0/mlflow/users/create", json=form,
                                                timeout=HTTP_TIMEOUT).status_code,
    }
    exists = api("GET", "/api/2.0/mlflow/users/get", params={"username": name}).status_code
    login = requests.get(url + "/api/2.0/mlflow/users/current", auth=(name, password), timeout=HTTP_TIMEOUT).status_code
    let_in = [k for k, code in codes.items() if code != 401] + (["user exists"] if exists != 404 else []) + (
        ["can log in"] if login != 401 else [])
    check("/signup, anonymous", "/".join(sorted({str(c) for c in codes.values()}))
          + f", user {'CREATED' if exists != 404 else 'not made'}", "401", not let_in, (codes, exists, login))


def test_read_user_cannot_delete_an_experiment(reader):
    exp_id = ok(api("POST", "/api/2.0/mlflow/experiments/create", json={"name": f"drills-read-{RUN}"}))["experiment_id"]
    user = Client(reader)
    assert user.call("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id}).status_code == 200
    code = user.call("POST", "/api/2.0/mlflow/experiments/delete", json={"experiment_id": exp_id}).status_code
    stage = ok(api("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id}))["experiment"]["lifecycle_stage"]
    check("READ user deletes experiment", f"{code}, still {stage}", "403", code == 403 and stage == "active")
