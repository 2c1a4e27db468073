"""What the cluster scenario's tests share: its hosts and secrets, commands in the containers,
HAProxy's view of its servers (its runtime API), MLflow and S3 through the load balancer, a load
generator that counts every request it sends, and `check`/`note`, the one way a drill records its
figures.

Every wait is bounded in time and count, every request has a timeout, and a failed request is
counted, never retried behind the count's back.
"""
import os
import pathlib
import threading
import time
import uuid

import boto3
import docker
import requests
import yaml
from botocore.config import Config
from drill_figures import FIGURES, check as _check, figures_table, note  # noqa: F401  pylint: disable=unused-import
from mlsp_testlib import ROOT, container_address, container_name, exec_in, run_playbook as _run_playbook

TESTS = pathlib.Path(__file__).resolve().parent
SCENARIO = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", TESTS.parent))
SITE = ROOT / "playbooks" / "site.yml"
HEALTH = ROOT / "playbooks" / "health.yml"
USERS = ROOT / "playbooks" / "users.yml"
_MOLECULE = yaml.safe_load((SCENARIO / "molecule.yml").read_text())
SECRETS = {name: value.replace("$$", "$") if isinstance(value, str) else value
           for name, value in _MOLECULE["provisioner"]["inventory"]["group_vars"]["all"].items()}
# Inventory name -> container, and the containers of each group.
CONTAINERS = {p["name"]: p["container"].split("-${", 1)[0] for p in _MOLECULE["platforms"]}
CONTAINERS = {name: container_name(prefix) for name, prefix in CONTAINERS.items()}
GROUPS = {}
for _p in _MOLECULE["platforms"]:
    for _g in _p["groups"]:
        GROUPS.setdefault(_g, []).append(_p["name"])
LB = CONTAINERS[GROUPS["loadbalancer"][0]]
MINIO = [CONTAINERS[h] for h in GROUPS["minio"]]
MLFLOW = [CONTAINERS[h] for h in GROUPS["mlflow"]]
ADMIN = ("admin", SECRETS["vault_mlflow_admin_password"])
MLFLOW_S3 = ("mlflow", SECRETS["vault_minio_mlflow_secret_key"])
HTTP_TIMEOUT = 30
RUN = uuid.uuid4().hex[:6]


def mask(text):
    text = str(text)
    for secret in SECRETS.values():
        if isinstance(secret, str):
            text = text.replace(secret, "***")
    return text


def check(drill, figure, limit, passed, detail=""):
    """Record a drill's figure against its limit and assert it (drill_figures.check), secrets masked."""
    _check(drill, figure, limit, passed, detail, mask=mask)


# --- containers ---------------------------------------------------------------------------------

def container(name):
    return docker.from_env().containers.get(name)


def wait_for(predicate, timeout, interval=1.0):
    """predicate() until true or `timeout` seconds: (value, seconds waited)."""
    start = time.monotonic()
    value = None
    for _attempt in range(int(timeout / max(interval, 0.05)) + 2):
        value = predicate()
        elapsed = time.monotonic() - start
        if value or elapsed >= timeout:
            return value, elapsed
        time.sleep(interval)
    return value, time.monotonic() - start


def inventory():
    return pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"


def ca_file():
    """The stack's CA certificate, which site.yml made on the controller (<inventory>/.pki)."""
    return inventory() / ".pki" / "ca.crt"


# With TLS (mlsp_tls in molecule.yml, on by default) every request and S3 call checks the servers
# against the stack's CA only. Set outright: the environment may carry other bundles (the system's).
TLS = bool(_MOLECULE["provisioner"]["inventory"]["group_vars"]["all"].get("mlsp_tls", True))
SCHEME = "https" if TLS else "http"
# Seconds HAProxy keeps a MinIO server that is back out of service: the scenario's value, else the
# role's default.
S3_BACK_AFTER = int(_MOLECULE["provisioner"]["inventory"]["group_vars"]["all"].get(
    "haproxy_s3_back_after_s",
    yaml.safe_load((ROOT / "roles" / "haproxy" / "defaults" / "main.yml").read_text())["haproxy_s3_back_after_s"]))
if TLS and "MOLECULE_EPHEMERAL_DIRECTORY" in os.environ:
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"] = str(ca_file())


def run_playbook(playbook, *args, inventory_path=None, extra_vars=None, timeout=1200):
    """ansible-playbook on the scenario's inventory (or another), its JSON output parsed."""
    return _run_playbook(playbook, inventory_path or inventory(), *args, extra_vars=extra_vars, timeout=timeout)


# --- HAProxy --------------------------------------------------------------------------------------

_STAT_SCRIPT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect("/run/haproxy/admin.sock")
s.sendall(b"show stat\\n")
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode())
"""


def haproxy_stat():
    """Every server's row of `show stat` (HAProxy's runtime API on the load balancer), as dicts."""
    rc, out, err = exec_in(LB, ["python3", "-c", _STAT_SCRIPT], timeout=30)
    assert rc == 0, err
    header, *lines = out.splitlines()
    rows = [dict(zip(header.lstrip("# ").split(","), line.split(","))) for line in lines if line]
    return [row for row in rows if row.get("svname") not in ("FRONTEND", "BACKEND")]


def haproxy_servers():
    """{(backend, server): status} of every server in HAProxy."""
    return {(row["pxname"], row["svname"]): row["status"] for row in haproxy_stat()}


def all_up(backend, names):
    servers = haproxy_servers()
    return all(servers.get((backend, n), "").startswith("UP") for n in names)


# --- MLflow and S3 through the load balancer ------------------------------------------------------

def lb_url():
    return f"{SCHEME}://{container_address(LB)}:8080"


def s3_url():
    return f"{SCHEME}://{container_address(LB)}:9080"


def minio_url(name):
    """One MinIO host's own S3 endpoint, not through the load balancer."""
    return f"{SCHEME}://{container_address(name)}:9000"


def mlflow_url(name):
    return f"{SCHEME}://{container_address(name)}:5000"


def s3(auth=MLFLOW_S3, endpoint=None):
    return boto3.client("s3", endpoint_url=endpoint or s3_url(), region_name="us-east-1",
                        aws_access_key_id=auth[0], aws_secret_access_key=auth[1],
                        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30,
                                      s3={"addressing_style": "path"}))


def api(method, path, auth=ADMIN, url=None, timeout=HTTP_TIMEOUT, **kwargs):
    return requests.request(method, (url or lb_url()) + path, auth=auth, timeout=timeout, **kwargs)


def ok(resp):
    assert resp.status_code == 200, f"{resp.request.method} {resp.url}: {resp.status_code} {mask(resp.text[:300])}"
    return resp.json() if resp.content else {}


def create_user(name):
    password = "Drill-" + uuid.uuid4().hex[:20]
    ok(api("POST", "/api/2.0/mlflow/users/create", json={"username": name, "password": password}))
    return name, password


class Load(threading.Thread):
    """A client of the load balancer, as a user: one request after the other (log a metric, read
    the run back, write and read an artifact), until stopped or `limit` seconds. Each request
    counts once: served (HTTP 200) or failed (anything else, or no answer); none is retried."""

    def __init__(self, auth, experiment_id, limit=600, artifacts=True):
        super().__init__(daemon=True)
        self.auth, self.experiment_id, self.limit, self.artifacts = auth, experiment_id, limit, artifacts
        self.stop = threading.Event()
        self.served = 0
        self.failed = []  # (seconds since start, what)
        self.start_time = None

    def _one(self, session, method, path, **kwargs):
        try:
            resp = session.request(method, lb_url() + path, timeout=HTTP_TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            self.failed.append((round(time.monotonic() - self.start_time, 1), f"{method} {path}: {type(exc).__name__}"))
            return None
        if resp.status_code != 200:
            self.failed.append((round(time.monotonic() - self.start_time, 1), f"{method} {path}: {resp.status_code}"))
            return None
        self.served += 1
        return resp

    def run(self):
        self.start_time = time.monotonic()
        session = requests.Session()
        session.auth = self.auth
        resp = self._one(session, "POST", "/api/2.0/mlflow/runs/create",
                         json={"experiment_id": self.experiment_id, "start_time": int(time.time() * 1000)})
        info = resp.json()["run"]["info"] if resp is not None else {}
        run_id = info.get("run_id")
        # The run's own artifact folder, which its experiment's permissions cover.
        artifacts = info.get("artifact_uri", "").split("mlflow-artifacts:/", 1)[-1].strip("/")
        step = 0
        while not self.stop.is_set() and time.monotonic() - self.start_time < self.limit and run_id:
            step += 1
            self._one(session, "POST", "/api/2.0/mlflow/runs/log-metric",
                      json={"run_id": run_id, "key": "load", "value": step, "timestamp": int(time.time() * 1000),
                            "step": step})
            self._one(session, "GET", "/api/2.0/mlflow/runs/get", params={"run_id": run_id})
            if self.artifacts and step % 5 == 0:
                path = f"/api/2.0/mlflow-artifacts/artifacts/{artifacts}/{step}.txt"
                if self._one(session, "PUT", path, data=f"{step}\n".encode()) is not None:
                    got = self._one(session, "GET", path)
                    if got is not None and got.content != f"{step}\n".encode():
                        self.failed.append((round(time.monotonic() - self.start_time, 1), f"GET {path}: wrong content"))

    def finish(self):
        self.stop.set()
        self.join(timeout=HTTP_TIMEOUT * 3)
        return self.served, self.failed
