"""Reliability and security drills on the converged stack (issue 7).

They come after test_1_stack.py (pytest runs the files in name order) because they disturb the
stack. In the order they run:

- exposure: `systemd-analyze security` of each of our units, 5.0 or lower;
- secrets: a real site.yml run at -vvv, in the background while the access drills run, whose
  output holds no secret while the argv of every process on every host (and the controller) is
  sampled for secrets; the files holding a secret are 0600/0640 with their documented owners;
- access: the MLflow host holds no MinIO root credentials, MinIO's mlflow user is refused outside
  its bucket, PostgreSQL refuses what pg_hba does not list, MLflow refuses anonymous and wrong
  passwords (401), /signup lets no anonymous visitor in, a READ user cannot delete an experiment;
- bad input: invalid configurations, each one `ansible-playbook site.yml -e @file` (three at a
  time): each fails in the preflight play, naming the variable, and leaves every host as it was
  (sha256 of the files the roles write, MainPID and ActiveEnterTimestamp of every service);
- load: 16 non-admin clients for 60 s log metrics, batches and artifacts; no 5xx, and every
  acknowledged metric and artifact is there afterwards (SQL through PgBouncer, S3 listing);
- faults: SIGKILL of each service's main process, PostgreSQL stopped for 30 s, MinIO stopped,
  every container restarted (a reboot). Before each, a run with metrics and an artifact is
  written; after recovery it reads back, and after the reboot all of them do.

Every wait is bounded in time and count, every request has a timeout, and all traffic goes to the
scenario's containers. Each drill records its figure for the table that conftest.py prints at the
end. MLSP_DRILLS=0 skips the whole file.
"""
import base64
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import tempfile
import threading
import time
import uuid

import boto3
import docker
import pytest
import requests
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import (ADMIN, DB, HOSTS, HTTP_TIMEOUT, MINIO, MINIO_ROOT_USER, MLFLOW, MLFLOW_S3_ACCESS_KEY, ROOT,
                      SECRETS, api, container, container_ip, exec_in, inventory, mask, minio_url, mlflow_url,
                      python_in, record_figure, run_playbook, wait_for)

pytestmark = pytest.mark.skipif(os.environ.get("MLSP_DRILLS", "1").lower() in ("0", "false", "no", "off"),
                                reason="MLSP_DRILLS is off")

RUN = uuid.uuid4().hex[:6]  # names unique to this verify run
SITE = str(ROOT / "playbooks" / "site.yml")
RECOVERY_LIMIT = 30  # seconds
EXPOSURE_LIMIT = 5.0
MARKERS = []  # the runs written before each fault, read back after the last one


# --- helpers ------------------------------------------------------------------------------------

def ok(resp):
    assert resp.status_code == 200, f"{resp.request.method} {resp.url}: {resp.status_code} {mask(resp.text[:300])}"
    return resp.json() if resp.content else {}


def create_user(name):
    """A non-admin MLflow user made through the REST API (as the admin); returns (name, password)."""
    password = "Drill-" + uuid.uuid4().hex[:20]
    ok(api("POST", "/api/2.0/mlflow/users/create", json={"username": name, "password": password}))
    return name, password


def pg_unit():
    rc, out, err = exec_in(DB, ["systemctl", "list-units", "--plain", "--no-legend", "--type=service", "postgresql@*"])
    assert rc == 0, err
    units = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert len(units) == 1, out
    return units[0]


def service_units():
    """(service, host, unit) of each of our long-running services."""
    return [("postgresql", DB, pg_unit()), ("pgbouncer", DB, "pgbouncer.service"),
            ("minio", MINIO, "minio.service"), ("mlflow", MLFLOW, "mlflow.service")]


def unit_show(host, unit, props=("MainPID", "NRestarts", "ActiveState", "ActiveEnterTimestamp",
                                 "ActiveEnterTimestampMonotonic", "UnitFileState")):
    rc, out, err = exec_in(host, ["systemctl", "show", unit, "--property=" + ",".join(props)], timeout=30)
    assert rc == 0, err
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def artifact_path(run_info):
    return run_info["artifact_uri"].split("mlflow-artifacts:/", 1)[1].strip("/")


class Client:
    """An MLflow user over the REST API, with one keep-alive session."""

    def __init__(self, auth, url=None):
        self.auth = auth
        self.url = url or mlflow_url()
        self.session = requests.Session()
        self.session.auth = auth

    def call(self, method, path, timeout=HTTP_TIMEOUT, **kwargs):
        return self.session.request(method, self.url + path, timeout=timeout, **kwargs)

    def experiment(self, name):
        return ok(self.call("POST", "/api/2.0/mlflow/experiments/create", json={"name": name}))["experiment_id"]

    def run(self, experiment_id, name):
        return ok(self.call("POST", "/api/2.0/mlflow/runs/create", json={
            "experiment_id": experiment_id, "run_name": name, "start_time": int(time.time() * 1000)}))["run"]["info"]


def write_marker(client, experiment_id, tag):
    """A run with a parameter, a metric history and an artifact, all acknowledged (HTTP 200)."""
    info = client.run(experiment_id, f"{tag}-{RUN}")
    now = int(time.time() * 1000)
    metrics = [{"key": "marker", "value": float(step * 3), "timestamp": now, "step": step} for step in range(5)]
    ok(client.call("POST", "/api/2.0/mlflow/runs/log-batch", json={
        "run_id": info["run_id"], "metrics": metrics, "params": [{"key": "fault", "value": tag}]}))
    content = f"{tag} {uuid.uuid4().hex}\n".encode()
    path = f"{artifact_path(info)}/marker.txt"
    ok(client.call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{path}", data=content))
    marker = {"tag": tag, "run_id": info["run_id"], "values": [m["value"] for m in metrics],
              "artifact": path, "content": content}
    MARKERS.append(marker)
    return marker


def read_marker(client, marker):
    """What of the marker is missing or different now (empty: all of it reads back)."""
    problems = []
    try:
        run = client.call("GET", "/api/2.0/mlflow/runs/get", params={"run_id": marker["run_id"]})
        params = {p["key"]: p["value"] for p in run.json()["run"]["data"].get("params", [])} if run.ok else {}
        if params.get("fault") != marker["tag"]:
            problems.append(f"run {marker['run_id']}: HTTP {run.status_code}, params {params}")
        hist = client.call("GET", "/api/2.0/mlflow/metrics/get-history",
                           params={"run_id": marker["run_id"], "metric_key": "marker"})
        values = sorted(m["value"] for m in hist.json().get("metrics", [])) if hist.ok else None
        if values != marker["values"]:
            problems.append(f"metric history of {marker['run_id']}: {values} != {marker['values']}")
        art = client.call("GET", f"/api/2.0/mlflow-artifacts/artifacts/{marker['artifact']}")
        if art.status_code != 200 or art.content != marker["content"]:
            problems.append(f"artifact {marker['artifact']}: HTTP {art.status_code}")
    except (requests.RequestException, ValueError, KeyError) as exc:
        problems.append(f"{marker['tag']}: {type(exc).__name__}: {exc}")
    return problems


def stack_problem(url):
    """None when the stack serves as its users need it, else what failed: MLflow /health, an
    authenticated call (PostgreSQL through PgBouncer, and the auth database), an artifact write
    through MLflow (MinIO), MinIO ready."""
    try:
        resp = requests.get(url + "/health", timeout=5)
        if resp.status_code != 200:
            return f"/health {resp.status_code}"
        resp = requests.get(url + "/api/2.0/mlflow/experiments/search", params={"max_results": 1},
                            auth=ADMIN, timeout=20)
        if resp.status_code != 200:
            return f"experiments/search {resp.status_code}"
        path = f"/api/2.0/mlflow-artifacts/artifacts/drills-health/{RUN}/{uuid.uuid4().hex}.txt"
        resp = requests.put(url + path, data=b"ok\n", auth=ADMIN, timeout=20)
        if resp.status_code != 200:
            return f"artifact upload {resp.status_code}"
        requests.delete(url + path, auth=ADMIN, timeout=20)
        resp = requests.get(minio_url() + "/minio/health/ready", timeout=5)
        if resp.status_code != 200:
            return f"MinIO ready {resp.status_code}"
    except requests.RequestException as exc:
        return type(exc).__name__
    return None


def wait_healthy(url, timeout):
    """Seconds until the stack is healthy (bounded by timeout); None if it did not become so."""
    problem, seconds = wait_for(lambda: stack_problem(url) is None, timeout, interval=0.5)
    return round(seconds, 1) if problem else None


@pytest.fixture(scope="module")
def writer():
    """A non-admin user with an experiment of its own, for the runs written before each fault."""
    client = Client(create_user(f"drill-writer-{RUN}"))
    return client, client.experiment(f"drills-{RUN}")


@pytest.fixture(scope="module")
def reader():
    """A user with MLflow's default permission only (READ)."""
    return create_user(f"drill-reader-{RUN}")


# --- exposure -----------------------------------------------------------------------------------

def test_exposure_scores():
    units = [(host, unit) for _service, host, unit in service_units()]
    if exec_in(MLFLOW, ["test", "-f", "/etc/systemd/system/mlflow-migrate.service"])[0] == 0:
        units.append((MLFLOW, "mlflow-migrate.service"))
    scores = {}
    for host, unit in units:
        rc, out, err = exec_in(host, ["systemd-analyze", "security", "--no-pager", unit], timeout=60)
        found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
        assert found, f"{unit} on {host}: rc {rc}: {err}{out[-500:]}"
        scores[unit] = float(found.group(1))
        print(f"systemd-analyze security {unit} ({host}): {scores[unit]}")
        record_figure(f"exposure {unit.replace('.service', '')}", scores[unit], f"<= {EXPOSURE_LIMIT}",
                      scores[unit] <= EXPOSURE_LIMIT)
    assert all(score <= EXPOSURE_LIMIT for score in scores.values()), scores


# --- secrets ------------------------------------------------------------------------------------

# The start of the scans below, run on a host with the secrets in its environment (SECRET_<name>):
# `secrets` maps each name to the forms its value takes on disk: as is, or quoted for a systemd
# environment file (backslash, double quote, dollar and backquote escaped) or for PgBouncer's auth
# file (double quote doubled).
SECRET_FORMS = r"""
import json, os
def forms(v):
    env = v
    for c in "\\\"$`":
        env = env.replace(c, "\\" + c)
    env_no_backquote = env.replace("\\`", "`")
    return {f.encode() for f in (v, env, env_no_backquote, v.replace('"', '""'))}
secrets = {k[7:]: forms(v) for k, v in os.environ.items() if k.startswith("SECRET_")}
"""

# Run on a host (root) with the secrets in its environment: every process's argv holding one.
ARGV_SCAN = SECRET_FORMS + r"""
hits = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read()
    except OSError:
        continue
    hits += [{"pid": int(pid), "secret": n, "comm": argv.split(b"\0")[0].decode(errors="replace")}
             for n, vs in secrets.items() if any(v in argv for v in vs)]
print(json.dumps(hits))
"""

# Run on a host (root) with the secrets in its environment: every file holding one (with its mode
# and owner), and every process whose environment holds one.
FILE_SCAN = SECRET_FORMS + r"""
import grp, pwd, stat, sys
skip_dirs = {"site-packages", "dist-packages", "__pycache__", "proc", "sys", "dev"}
files = []
for root in ("/etc", "/opt", "/var", "/root", "/home", "/srv", "/usr/local", "/tmp", "/run"):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs and not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode) or st.st_size > 64 * 1024 * 1024:
                    continue
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            found = sorted(n for n, vs in secrets.items() if any(v in data for v in vs))
            if found:
                files.append({"path": path, "secrets": found, "mode": "%04o" % stat.S_IMODE(st.st_mode),
                              "owner": pwd.getpwuid(st.st_uid).pw_name, "group": grp.getgrgid(st.st_gid).gr_name})
environ = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read()
        with open(f"/proc/{pid}/comm", "rb") as f:
            comm = f.read().decode().strip()
    except OSError:
        continue
    if pid != str(os.getpid()) and comm not in ("timeout", "python3"):
        environ += [{"pid": int(pid), "comm": comm, "secret": n} for n, vs in secrets.items()
                    if any(v in env for v in vs)]
print(json.dumps({"files": files, "environ": environ}))
"""

# The files that hold secrets, as the documentation describes them: path pattern, modes, owner:group.
SECRET_FILES = [
    (r"/etc/mlflow/mlflow\.env", {"0600"}, "root:mlflow"),  # docs/mlflow.md
    (r"/etc/mlflow/admin\.env", {"0600"}, "root:mlflow"),  # docs/mlflow.md
    (r"/etc/default/minio", {"0640"}, "root:minio"),  # docs/minio.md
    (r"/etc/pgbouncer/userlist\.txt", {"0640"}, "root:pgbouncer"),  # docs/pgbouncer.md
    # MinIO's own IAM store (the mlflow user's secret key), in its 0750 data folder.
    (r"/var/lib/minio/data/\.minio\.sys/.*", {"0600", "0640"}, "minio:minio"),
]


def secret_env(names=None):
    return {f"SECRET_{k}": v for k, v in SECRETS.items() if names is None or k in names}


def argv_hits(host):
    rc, out, err = python_in(host, ARGV_SCAN, env=secret_env(), timeout=30)
    assert rc == 0, err
    return json.loads(out)


def controller_argv_hits():
    hits = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        hits += [{"pid": int(pid), "secret": n} for n, v in SECRETS.items() if v.encode() in argv]
    return hits


def encodings(secret):
    """The secret, how Ansible's output would quote it (JSON or YAML double-quoted, YAML
    single-quoted), and how it would look in base64 at each of the three alignments."""
    forms = {secret, json.dumps(secret)[1:-1], secret.replace("'", "''")}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret.encode()).decode()
        forms.add(encoded[(shift * 4 + 2) // 3 + 1:-4])  # drop the characters that mix in neighbours
    return {form for form in forms if len(form) >= 8}


class Sampler(threading.Thread):
    """Samples the argv of every process on every host and on the controller, about once a second,
    until stopped (and for at most `limit` seconds)."""

    def __init__(self, limit):
        super().__init__(daemon=True)
        self.limit = limit
        self.stop = threading.Event()
        self.rounds = 0
        self.hits = []
        self.errors = []

    def run(self):
        deadline = time.monotonic() + self.limit
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                for host in HOSTS:
                    self.hits += [dict(h, host=host) for h in argv_hits(host)]
                self.hits += [dict(h, host="controller") for h in controller_argv_hits()]
                self.rounds += 1
            except Exception as exc:  # pylint: disable=broad-exception-caught  # a reboot of a host, say
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.stop.wait(1)


@pytest.fixture(scope="module")
def full_run():
    """A real site.yml run at -vvv, started in the background (the access drills run meanwhile),
    with the argv sampler running during it. Yields a function that waits for both."""
    sampler = Sampler(limit=1800)
    result = {}

    def play():
        start = time.monotonic()
        result["proc"] = run_playbook("-vvv", SITE, timeout=1500)
        result["seconds"] = round(time.monotonic() - start)

    thread = threading.Thread(target=play, daemon=True)
    sampler.start()
    thread.start()

    def finish():
        thread.join(timeout=1600)
        sampler.stop.set()
        sampler.join(timeout=120)
        assert "proc" in result, "the -vvv run of site.yml did not finish within its time limit"
        return result["proc"], result["seconds"], sampler

    yield finish
    finish()


@pytest.fixture(scope="module")
def secret_scan():
    """Files and process environments on every host that hold one of the secrets. (Before the
    -vvv run starts: while Ansible runs a module, its arguments are in a root-only file under
    /root/.ansible/tmp on the host, which the scan would find.)"""
    scans = {}
    for host in HOSTS:
        rc, out, err = python_in(host, FILE_SCAN, env=secret_env(), timeout=300)
        assert rc == 0, err
        scans[host] = json.loads(out)
    return scans


def test_secret_files_are_private_and_owned_as_documented(secret_scan):
    found = [dict(f, host=host) for host, scan in secret_scan.items() for f in scan["files"]]
    wrong = []
    for f in found:
        rule = next((r for r in SECRET_FILES if re.fullmatch(r[0], f["path"])), None)
        owner = f"{f['owner']}:{f['group']}"
        if rule is None or f["mode"] not in rule[1] or owner != rule[2]:
            wrong.append(f"{f['host']}:{f['path']} {f['mode']} {owner} holds {f['secrets']}")
    record_figure("secret files: mode/owner off", f"{len(wrong)} of {len(found)}", "0", not wrong)
    assert found, "no file holds any secret: the scan is broken"
    assert not wrong, wrong
    # Every secret is somewhere on disk where its service reads it (else the scan missed it).
    assert {s for f in found for s in f["secrets"]} == set(SECRETS), found


def test_mlflow_host_holds_no_minio_root_credentials(secret_scan):
    scan = secret_scan[MLFLOW]
    files = [f["path"] for f in scan["files"] if "vault_minio_root_password" in f["secrets"]]
    procs = [p for p in scan["environ"] if p["secret"] == "vault_minio_root_password"]
    rc, out, err = exec_in(MLFLOW, ["grep", "-rlw", "-e", MINIO_ROOT_USER, "/etc/mlflow", "/etc/systemd/system"])
    assert rc in (0, 1), err
    record_figure("MLflow host: MinIO root key", len(files) + len(procs) + len(out.split()), "0",
                  not (files or procs or out.strip()))
    assert not files and not procs, (files, procs)
    assert out.strip() == "", f"the MinIO root user is named in {out.split()}"
    # What MLflow has instead: the least-privilege user.
    mlflow_env = [f for f in scan["files"] if f["path"] == "/etc/mlflow/mlflow.env"]
    assert mlflow_env and "vault_minio_mlflow_secret_key" in mlflow_env[0]["secrets"]


# --- access -------------------------------------------------------------------------------------

def s3(access_key, secret_key):
    return boto3.client("s3", endpoint_url=minio_url(), region_name="us-east-1", aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key,
                        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30,
                                      s3={"addressing_style": "path"}))


def error_code(call):
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return "allowed"


def test_minio_mlflow_user_is_refused_outside_its_bucket(full_run):
    assert full_run
    root = s3(MINIO_ROOT_USER, SECRETS["vault_minio_root_password"])
    user = s3(MLFLOW_S3_ACCESS_KEY, SECRETS["vault_minio_mlflow_secret_key"])
    other = f"drill-other-{RUN}"
    root.create_bucket(Bucket=other)
    root.put_object(Bucket=other, Key="secret.txt", Body=b"not for mlflow\n")
    try:
        # Control: in its own bucket the user may list, write and read.
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
    record_figure("mlflow S3 user, other bucket", f"{denied} of {len(codes)} AccessDenied", "all denied",
                  denied == len(codes) and other not in listed)
    assert denied == len(codes), codes
    assert other not in listed, listed


# On the database host: connect with the right password once from 127.0.0.1 (pg_hba lists it)
# and once through a relay whose connection to PostgreSQL comes from 127.0.0.2 (not listed).
PG_HBA_PROBE = r"""
import json, socket, threading
import psycopg2

def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
listener.settimeout(20)

def relay():
    client, peer = listener.accept()
    upstream = socket.socket()
    upstream.settimeout(20)
    upstream.bind(("127.0.0.2", 0))
    upstream.connect(("127.0.0.1", 5432))
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    pump(upstream, client)

threading.Thread(target=relay, daemon=True).start()
result = {}
for name, port in (("127.0.0.1", 5432), ("127.0.0.2", listener.getsockname()[1])):
    try:
        psycopg2.connect(host="127.0.0.1", port=port, dbname="mlflow", user="mlflow", connect_timeout=10).close()
        result[name] = "connected"
    except psycopg2.Error as exc:
        result[name] = str(exc).strip()
print(json.dumps(result))
"""

REMOTE_PG_PROBE = r"""
import sys
import psycopg2
try:
    psycopg2.connect(host=sys.argv[1], port=5432, dbname="mlflow", user="mlflow", connect_timeout=10).close()
    print("connected")
except psycopg2.Error as exc:
    print(str(exc).strip())
"""


REMOTE_TCP_PROBE = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], 5432), 10).close()
    print("connected")
except OSError as exc:
    print(exc)
"""


def test_postgresql_refuses_addresses_pg_hba_does_not_list(full_run):
    assert full_run
    password = {"PGPASSWORD": SECRETS["vault_postgresql_mlflow_password"]}
    rc, out, err = python_in(DB, PG_HBA_PROBE, env=password, timeout=60)
    assert rc == 0, err
    local = json.loads(out)
    # From the other hosts, with the right password: PostgreSQL does not even listen there (only
    # PgBouncer, on the same host, uses it), so the connection is refused before pg_hba.
    remote = {}
    for host in (MLFLOW, MINIO):
        if host == MLFLOW:  # PostgreSQL's client library, from MLflow's own venv
            argv = ["/opt/mlflow/bin/python", "-c", REMOTE_PG_PROBE, container_ip(DB)]
        else:  # no PostgreSQL client there: a TCP connection is as far as one gets
            argv = ["python3", "-c", REMOTE_TCP_PROBE, container_ip(DB)]
        rc, out, err = exec_in(host, argv, env=password, timeout=60)
        assert rc == 0, err
        remote[host] = out.strip()
    refused_by_hba = 'no pg_hba.conf entry for host "127.0.0.2"' in local["127.0.0.2"]
    record_figure("pg_hba: unlisted address", "refused by pg_hba" if refused_by_hba else "NOT refused", "refused",
                  refused_by_hba and local["127.0.0.1"] == "connected")
    record_figure("PostgreSQL from other hosts",
                  ", ".join("refused" if "refused" in v.lower() else "OPEN" for v in remote.values()), "refused",
                  all("refused" in v.lower() for v in remote.values()))
    assert local["127.0.0.1"] == "connected", mask(local["127.0.0.1"])  # the password is right
    assert refused_by_hba, mask(local["127.0.0.2"])
    assert all("refused" in v.lower() for v in remote.values()), remote


def test_mlflow_refuses_anonymous_and_wrong_passwords(full_run, reader):
    assert full_run
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
    refused = sum(code == 401 for code in codes.values())
    record_figure("MLflow anonymous/wrong pw", f"{refused} of {len(codes)} got 401", "all 401", refused == len(codes))
    assert refused == len(codes), codes
    # Control: the right passwords work.
    assert requests.get(url + search, auth=ADMIN, timeout=HTTP_TIMEOUT).status_code == 200
    assert requests.get(url + search, auth=reader, timeout=HTTP_TIMEOUT).status_code == 200


def test_signup_lets_no_anonymous_visitor_in(full_run):
    assert full_run
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
    let_in = [k for k, code in codes.items() if code < 400] + (["user exists"] if exists != 404 else []) + (
        ["can log in"] if login != 401 else [])
    record_figure("/signup, anonymous", "/".join(sorted({str(c) for c in codes.values()}))
                  + f", user {'CREATED' if exists != 404 else 'not made'}", "401", not let_in)
    assert all(code == 401 for code in codes.values()), codes
    assert exists == 404 and login == 401, (exists, login)


def test_read_user_cannot_delete_an_experiment(full_run, reader):
    assert full_run
    exp_id = ok(api("POST", "/api/2.0/mlflow/experiments/create", json={"name": f"drills-read-{RUN}"}))["experiment_id"]
    user = Client(reader)
    assert user.call("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id}).status_code == 200
    code = user.call("POST", "/api/2.0/mlflow/experiments/delete", json={"experiment_id": exp_id}).status_code
    stage = ok(api("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id}))["experiment"]["lifecycle_stage"]
    record_figure("READ user deletes experiment", f"{code}, still {stage}", "403", code == 403 and stage == "active")
    assert code == 403 and stage == "active", (code, stage)


# --- secrets, continued: the -vvv run, which the access drills overlapped -------------------

def test_full_run_at_vvv_shows_no_secret(full_run):
    proc, seconds, sampler = full_run()
    output = proc.stdout + proc.stderr
    leaks = sorted(name for name, secret in SECRETS.items() if any(form in output for form in encodings(secret)))
    recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout, re.M)
    record_figure("site.yml -vvv: secrets shown", f"{len(leaks)} in {len(output) // 1024} KiB, {seconds} s", "0",
                  not leaks and proc.returncode == 0)
    assert proc.returncode == 0, mask(proc.stdout[-3000:])
    assert len(recap) == 3, mask(proc.stdout[-2000:])
    assert not leaks, f"the -vvv output shows {leaks}"
    # Sampled while the run went on: no secret in any argv, on any host or the controller.
    record_figure("argv holding a secret", f"{len(sampler.hits)} in {sampler.rounds} samples", "0",
                  not sampler.hits and sampler.rounds > 0)
    assert sampler.rounds >= 5, sampler.errors[-3:]
    assert not sampler.hits, sampler.hits[:10]  # names of secrets, not their values


def test_no_secret_in_any_process_list_now():
    hits = [dict(h, host=host) for host in HOSTS for h in argv_hits(host)] + controller_argv_hits()
    assert not hits, hits


# --- bad input ----------------------------------------------------------------------------------

# (case, extra vars, what the error must name, inventory groups to drop). Extra vars win over
# everything, the wiring in playbooks/group_vars/all.yml included, so a vault_* value goes through
# the wiring to the role variables that the roles check.
BAD_INPUT = [
    ("pg password placeholder", {"vault_postgresql_mlflow_password": "Change_In_Production-Pg1"},
     "postgresql_users[mlflow].password", ()),
    ("pg password empty", {"vault_postgresql_mlflow_password": ""}, "vault_postgresql_mlflow_password", ()),
    ("pg password short", {"vault_postgresql_mlflow_password": "Sh0rt-Pg"}, "postgresql_users[mlflow].password", ()),
    ("pgbouncer pw placeholder", {"vault_pgbouncer_admin_password": "ChangeMe-ChangeMe-Pb"},
     "pgbouncer_admin_users[pgbouncer_admin].password", ()),
    ("pgbouncer pw empty", {"vault_pgbouncer_admin_password": ""}, "vault_pgbouncer_admin_password", ()),
    ("pgbouncer pw short", {"pgbouncer_auth_password": "Sh0rt-Pb"}, "pgbouncer_auth_password", ()),
    ("minio pw placeholder", {"vault_minio_root_password": "MinIO_Password"}, "minio_root_password", ()),
    ("minio pw empty", {"vault_minio_mlflow_secret_key": ""}, "vault_minio_mlflow_secret_key", ()),
    ("minio pw short", {"vault_minio_root_password": "Sh0rt-Mr"}, "minio_root_password", ()),
    ("mlflow pw placeholder", {"vault_mlflow_admin_password": "Admin_Password"}, "mlflow_admin_password", ()),
    ("mlflow pw empty", {"vault_mlflow_flask_secret_key": ""}, "vault_mlflow_flask_secret_key", ()),
    ("mlflow pw short", {"vault_mlflow_admin_password": "Sh0rt-Ma"}, "mlflow_admin_password", ()),
    ("bucket with capitals", {"minio_mlflow_bucket": "MLflow_Artifacts"}, "minio_mlflow_bucket", ()),
    ("bucket like an IP", {"minio_buckets": [{"name": "10.20.30.40"}]}, "minio_buckets", ()),
    ("bucket with '..'", {"mlflow_artifacts_bucket": "mlflow..artifacts"}, "mlflow_artifacts_bucket", ()),
    ("unknown permission", {"mlflow_default_permission": "WRITE"}, "mlflow_default_permission", ()),
    ("no pgbouncer group", {}, "group `pgbouncer`", ("pgbouncer",)),
    ("no minio group", {}, "group `minio`", ("minio",)),
    ("two services, one port", {"pgbouncer_port": 5432}, "pgbouncer_port", ()),
    ("malformed pg_hba entry", {"postgresql_hba_entries": [{"type": "host", "database": "mlflow", "user": "mlflow",
                                                            "address": "10.0.0.0/33", "method": "scram-sha-256"}]},
     "postgresql_hba_entries[0]", ()),
    ("mlflow_version 99.0.0", {"mlflow_version": "99.0.0"}, "mlflow_version", ()),
    ("minio local, no binary", {"minio_install_method": "local"}, "minio_local_binary", ()),
    # Only the argument spec refuses it (the hand checks read it as 0), and it is MLflow's, the last tier.
    ("mlflow ttl not a number", {"mlflow_auth_cache_ttl_seconds": "sixty"}, "mlflow_auth_cache_ttl_seconds", ()),
    # A build that is not in the (empty) cache: the controller's Go is checked before any change.
    ("no Go for the MinIO build", {"minio_build_go": "/nonexistent/go",
                                   "minio_build_cache_dir": "/nonexistent/mlsp-drill-cache"}, "minio_build_go", ()),
]

# Everything the roles write (their configuration, environment and unit files, the MinIO binary,
# the MLflow install) and the processes they run: a failed run must leave all of it as it was.
SNAPSHOT = r"""
import glob, hashlib, json, subprocess, sys
patterns = json.loads(sys.argv[1])
files = {}
for pattern in patterns:
    for path in glob.glob(pattern, recursive=True):
        try:
            with open(path, "rb") as f:
                files[path] = hashlib.sha256(f.read()).hexdigest()
        except (IsADirectoryError, PermissionError, FileNotFoundError):
            pass
units = {}
for unit in json.loads(sys.argv[2]):
    out = subprocess.run(["systemctl", "show", unit, "--property=MainPID,ActiveEnterTimestamp,ActiveState"],
                         capture_output=True, text=True, timeout=30).stdout
    units[unit] = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
print(json.dumps({"files": files, "units": units}))
"""
SNAPSHOT_FILES = [
    "/etc/postgresql/*/main/**", "/etc/postgresql-common/createcluster.d/*", "/etc/pgbouncer/*",
    "/etc/systemd/system/postgresql@.service.d/*", "/etc/systemd/system/pgbouncer.service.d/*",
    "/etc/default/minio", "/etc/systemd/system/minio.service", "/usr/local/bin/minio",
    "/etc/mlflow/*", "/etc/systemd/system/mlflow*.service", "/var/lib/mlflow/schema-stamp",
    "/opt/mlflow/lib/python3*/site-packages/mlflow-*.dist-info/RECORD",
]


def snapshot():
    units = {host: [] for host in HOSTS}
    for _service, host, unit in service_units():
        units[host].append(unit)
    state = {}
    for host in HOSTS:
        rc, out, err = exec_in(host, ["python3", "-c", SNAPSHOT, json.dumps(SNAPSHOT_FILES), json.dumps(units[host])],
                               timeout=60)
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
    return str(copy)


def run_bad_case(case, baseline):
    name, extra_vars, _names, drop = case
    with tempfile.TemporaryDirectory(prefix="mlsp-drill-") as tmp:
        vars_file = pathlib.Path(tmp) / "extra-vars.yml"
        vars_file.write_text(yaml.safe_dump(extra_vars or {"mlsp_drill_case": name}))
        vars_file.chmod(0o600)
        start = time.monotonic()
        proc = run_playbook(SITE, "-e", f"@{vars_file}", timeout=600,
                            inventory_path=inventory_without(drop, tmp) if drop else None)
        seconds = time.monotonic() - start
    return {"proc": proc, "seconds": seconds, "changed": snapshot_diff(baseline, snapshot())}


@pytest.fixture(scope="module")
def bad_input_results():
    """Every bad-input case, three at a time; each is compared with the state before all of them."""
    baseline = snapshot()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {case[0]: pool.submit(run_bad_case, case, baseline) for case in BAD_INPUT}
        results = {name: future.result(timeout=900) for name, future in futures.items()}
    results["__seconds"] = time.monotonic() - start
    results["__after"] = snapshot_diff(baseline, snapshot())
    return results


def error_messages(output):
    """The messages of the failed tasks in an ansible-playbook output."""
    return re.findall(r"^\[ERROR\]: (.*)$", output, re.M)


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_fails_before_any_change(case, bad_input_results):
    name, extra_vars, variable, _drop = case
    res = bad_input_results[name]
    proc = res["proc"]
    output = proc.stdout + proc.stderr
    messages = " ".join(" ".join(m.split()) for m in error_messages(output))
    named = variable in messages
    later_plays = re.findall(r"^PLAY \[(?!Preflight)([^\]]*)\]", proc.stdout, re.M)
    # A rejected secret is not shown either.
    shown = [k for k, v in extra_vars.items() if ("password" in k or "secret" in k) and v and v in output]
    passed = proc.returncode != 0 and named and not later_plays and not res["changed"] and not shown
    record_figure(f"bad {name}", f"rc {proc.returncode}, {'named' if named else 'NOT NAMED'}, {len(res['changed'])} "
                  f"changed", "rc>0,name,0", passed)
    assert proc.returncode != 0, f"site.yml accepted {name}"
    assert named, f"no error names {variable}: {mask(messages)[:1500] or mask(output[-1500:])}"
    assert not later_plays, f"the run went on to {later_plays}"
    assert not res["changed"], f"changed on the hosts: {res['changed']}"
    assert not shown, f"the rejected value of {shown} is in the output"


def test_bad_input_left_the_hosts_as_they_were(bad_input_results):
    record_figure("bad input: hosts changed", len(bad_input_results["__after"]), "0",
                  not bad_input_results["__after"])
    record_figure("bad input: cases", f"{len(BAD_INPUT)} in {bad_input_results['__seconds']:.0f} s", ">= 15",
                  len(BAD_INPUT) >= 15)
    assert not bad_input_results["__after"]


# --- load ---------------------------------------------------------------------------------------

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


def test_load_16_clients_no_5xx_no_lost_writes():
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
    stored = metrics_in_database([r["run_id"] for r in results])
    lost = acked - stored
    acked_artifacts = {a for r in results for a in r["artifacts"]}
    lost_artifacts = acked_artifacts - objects_in_bucket({a.rsplit("/load/", 1)[0] for a in acked_artifacts})
    record_figure(f"load: requests, {LOAD_CLIENTS} clients", f"{requests_sent} in {seconds:.0f} s, "
                  f"{requests_sent / seconds:.1f}/s", "-", requests_sent > 0)
    record_figure("load: 5xx", errors_5xx, "0", errors_5xx == 0)
    record_figure("load: 4xx / unanswered", f"{errors_4xx} / {unanswered}", "0 / 0", errors_4xx == 0 and unanswered == 0)
    record_figure("load: lost metric writes", f"{len(lost)} of {len(acked)}", "0", not lost and bool(acked))
    record_figure("load: lost artifacts", f"{len(lost_artifacts)} of {len(acked_artifacts)}", "0",
                  not lost_artifacts and bool(acked_artifacts))
    samples = [mask(e) for r in results for e in r["errors"]][:5]
    assert all(r["acked"] for r in results), "a client got no write acknowledged"
    assert errors_5xx == 0, samples
    assert not lost, sorted(lost)[:10]
    assert not lost_artifacts, sorted(lost_artifacts)[:10]
    assert errors_4xx == 0 and unanswered == 0, samples


# --- faults -------------------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["mlflow", "minio", "pgbouncer", "postgresql"])
def test_sigkill_main_process(service, writer):
    client, experiment_id = writer
    url = client.url
    marker = write_marker(client, experiment_id, f"sigkill-{service}")
    _name, host, unit = next(s for s in service_units() if s[0] == service)
    before = unit_show(host, unit)
    pid = int(before["MainPID"])
    assert pid > 0, before
    start = time.monotonic()
    rc, _out, err = exec_in(host, ["kill", "-KILL", str(pid)])
    assert rc == 0, err

    def restarted():
        state = unit_show(host, unit)
        return state if state["ActiveState"] == "active" and int(state["MainPID"]) not in (0, pid) else None

    after, _waited = wait_for(restarted, 120, interval=0.5)
    seconds = wait_healthy(url, max(5.0, 150 - (time.monotonic() - start)))
    total = None if seconds is None else round(time.monotonic() - start, 1)
    problems = read_marker(client, marker)
    record_figure(f"SIGKILL {service}: healthy", None if total is None else f"{total} s", f"<= {RECOVERY_LIMIT}",
                  total is not None and total <= RECOVERY_LIMIT and after is not None and not problems)
    assert after, f"systemd did not start {unit} again"
    assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1, (before, after)
    assert total is not None, f"the stack was not healthy within 150 s: {stack_problem(url)}"
    assert total <= RECOVERY_LIMIT, total
    assert not problems, problems


def test_postgresql_stopped_for_30_s(writer):
    client, experiment_id = writer
    url = client.url
    marker = write_marker(client, experiment_id, "postgresql-stop")
    unit = pg_unit()
    mlflow_before = unit_show(MLFLOW, "mlflow.service")
    outage = threading.Event()
    probes = []

    def probe_loop():
        for _attempt in range(200):  # bounded; ends when the outage does
            if not outage.is_set():
                return
            began = time.monotonic()
            try:
                resp = requests.get(url + "/api/2.0/mlflow/experiments/search", params={"max_results": 1},
                                    auth=ADMIN, timeout=25)
                answer = resp.status_code
            except requests.RequestException as exc:
                answer = type(exc).__name__
            probes.append((began, time.monotonic(), answer))
            time.sleep(1)

    rc, _out, err = exec_in(DB, ["systemctl", "stop", unit])
    assert rc == 0, err
    stopped = time.monotonic()
    outage.set()
    prober = threading.Thread(target=probe_loop, daemon=True)
    prober.start()
    try:
        time.sleep(30)
    finally:
        outage.clear()
        rc, _out, err = exec_in(DB, ["systemctl", "start", unit])
    back = time.monotonic()
    assert rc == 0, err
    seconds = wait_healthy(url, 90)
    prober.join(timeout=40)
    mlflow_after = unit_show(MLFLOW, "mlflow.service")
    during = [answer for began, ended, answer in probes if began >= stopped and ended <= back]
    answered_errors = [a for a in during if isinstance(a, int) and a >= 500]
    successes = [a for a in during if a == 200]
    unanswered = [a for a in during if not isinstance(a, int)]
    problems = read_marker(client, marker)
    same_pid = mlflow_before["MainPID"] == mlflow_after["MainPID"] and \
        mlflow_before["NRestarts"] == mlflow_after["NRestarts"]
    codes = "/".join(sorted({str(a) for a in answered_errors})) or "none"
    record_figure("PG down 30 s: MLflow answers", f"{len(answered_errors)}x {codes}, {len(successes)} OK, "
                  f"{len(unanswered)} hung", "errors only", bool(answered_errors) and not successes and not unanswered)
    record_figure("PG back: MLflow serves", None if seconds is None else f"{seconds} s", f"<= {RECOVERY_LIMIT}",
                  seconds is not None and seconds <= RECOVERY_LIMIT)
    record_figure("PG down: MLflow restarted", "no" if same_pid else "YES", "no", same_pid and not problems)
    assert answered_errors and not successes and not unanswered, probes
    assert seconds is not None and seconds <= RECOVERY_LIMIT, (seconds, stack_problem(url))
    assert same_pid, (mlflow_before, mlflow_after)
    assert not problems, problems


def test_minio_stopped(writer):
    client, experiment_id = writer
    url = client.url
    marker = write_marker(client, experiment_id, "minio-stop")
    rc, _out, err = exec_in(MINIO, ["systemctl", "stop", "minio"])
    assert rc == 0, err
    stopped_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() - 1))
    try:
        info = client.run(experiment_id, f"minio-down-{RUN}")
        began = time.monotonic()
        upload = client.call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{artifact_path(info)}/during.txt",
                             data=b"during the outage\n", timeout=60)
        upload_seconds = time.monotonic() - began

        def logged_cause():
            log = exec_in(MLFLOW, ["journalctl", "--unit", "mlflow", "--since", stopped_at, "--no-pager",
                                   "--output", "cat"], timeout=30)[1]
            return re.search(r"EndpointConnectionError: Could not connect to the endpoint URL: \"[^\"]*\"", log)

        cause, _waited = wait_for(logged_cause, 10, interval=1)
        # Tracking calls go on: metrics, parameters, reading the run back.
        tracking = [
            client.call("POST", "/api/2.0/mlflow/runs/log-metric", json={
                "run_id": info["run_id"], "key": "during", "value": 1.0, "timestamp": int(time.time() * 1000), "step": 0}),
            client.call("POST", "/api/2.0/mlflow/runs/log-parameter", json={
                "run_id": info["run_id"], "key": "minio", "value": "down"}),
            client.call("GET", "/api/2.0/mlflow/runs/get", params={"run_id": info["run_id"]}),
        ]
    finally:
        start_rc, _out, start_err = exec_in(MINIO, ["systemctl", "start", "minio"])
    back = time.monotonic()
    assert start_rc == 0, start_err
    path = f"/api/2.0/mlflow-artifacts/artifacts/{artifact_path(info)}/after.txt"
    works, _waited = wait_for(lambda: client.call("PUT", path, data=b"after\n", timeout=20).status_code == 200, 90,
                              interval=0.5)
    seconds = round(time.monotonic() - back, 1) if works else None
    problems = read_marker(client, marker)
    clear = upload.status_code >= 500 and upload_seconds < 30 and cause is not None
    record_figure("MinIO down: artifact upload", f"{upload.status_code} in {upload_seconds:.1f} s, "
                  + ("logged" if cause else "NOT LOGGED"), "5xx, logged", clear)
    record_figure("MinIO down: tracking calls", " ".join(str(r.status_code) for r in tracking), "all 200",
                  all(r.status_code == 200 for r in tracking))
    record_figure("MinIO back: uploads work", None if seconds is None else f"{seconds} s", f"<= {RECOVERY_LIMIT}",
                  seconds is not None and seconds <= RECOVERY_LIMIT and not problems)
    assert clear, (upload.status_code, upload_seconds, cause)
    assert all(r.status_code == 200 for r in tracking), [(r.status_code, r.text[:200]) for r in tracking]
    assert seconds is not None and seconds <= RECOVERY_LIMIT, seconds
    assert not problems, problems


def wait_booted(host, timeout=120):
    """Wait (bounded) until systemd in the container has booted; returns its state."""
    def state():
        try:
            rc, out, err = exec_in(host, ["systemctl", "is-system-running", "--wait"], timeout=60)
        except docker.errors.APIError:  # the container is not running yet
            return None
        return out.strip() if out.strip() in ("running", "degraded") else None

    booted, _waited = wait_for(state, timeout, interval=1)
    return booted


def test_reboot_every_container(writer):
    client, experiment_id = writer
    marker = write_marker(client, experiment_id, "reboot")
    addresses = {host: container_ip(host) for host in HOSTS}
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
        for future in [pool.submit(container(h).restart, timeout=60) for h in HOSTS]:
            future.result(timeout=180)
    booted = {host: wait_booted(host) for host in HOSTS}
    assert all(booted.values()), booted
    assert {host: container_ip(host) for host in HOSTS} == addresses, "the containers' addresses changed"
    url = client.url
    healthy = wait_healthy(url, 300)
    healthy_at = time.monotonic()
    units = {service: (host, unit, unit_show(host, unit)) for service, host, unit in service_units()}
    failed = {host: exec_in(host, ["systemctl", "--failed", "--plain", "--no-legend"])[1].split() for host in HOSTS}
    # When each unit became active, in seconds after the restarts began (the containers share the
    # controller's kernel, so its monotonic clock is theirs).
    up = {s: round(int(state["ActiveEnterTimestampMonotonic"]) / 1e6 - start, 1) for s, (_h, _u, state) in units.items()}
    order_ok = 0 <= up["postgresql"] <= up["pgbouncer"] and all(0 <= v <= healthy_at - start for v in up.values())
    for service in sorted(up, key=up.get):
        record_figure(f"reboot: {service} active", f"{up[service]} s", "after pg" if service == "pgbouncer" else "-",
                      order_ok)
    record_figure("reboot: stack healthy", f"{healthy_at - start:.1f} s" if healthy else None, "-",
                  healthy is not None)
    record_figure("reboot: MLflow restarts", units["mlflow"][2]["NRestarts"], "-",
                  units["mlflow"][2]["ActiveState"] == "active")
    assert healthy is not None, stack_problem(url)
    for service, (host, unit, state) in units.items():
        assert state["ActiveState"] == "active" and state["UnitFileState"] == "enabled", (service, host, unit, state)
    assert not any(u in failed[h] for _s, h, u in service_units()), failed
    assert order_ok, up
    health = run_playbook(str(ROOT / "playbooks" / "health.yml"), timeout=600)
    lines = re.findall(r"^\W*(OK|FAIL) {2,}(\S[^\n]*)$", health.stdout, re.M)
    record_figure("reboot: health.yml", f"rc {health.returncode}, {sum(s == 'OK' for s, _l in lines)} of "
                  f"{len(lines)} OK", "7 of 7 OK", health.returncode == 0 and len(lines) == 7)
    assert health.returncode == 0, mask(health.stdout[-3000:])
    assert read_marker(client, marker) == []


def test_every_write_before_every_fault_reads_back(writer):
    client = writer[0]
    problems = [p for marker in MARKERS for p in read_marker(client, marker)]
    record_figure("pre-fault writes lost", f"{len(problems)} of {len(MARKERS)} runs", "0",
                  not problems and bool(MARKERS))
    assert MARKERS, "no fault drill ran"
    assert not problems, problems
