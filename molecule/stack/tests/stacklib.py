"""What the stack scenario's tests share: the scenario's hosts and secrets, commands and probes in
the containers, MLflow over REST, ansible-playbook on the scenario's inventory (its JSON output
parsed), and `check`/`note`, the one way a drill records and asserts its figures.

Containers are reached through the Docker SDK (secrets go in an exec's environment, never in an
argv); MLflow and MinIO over HTTPS at the containers' addresses, their certificates checked against
the stack's CA (TLS is on by default, docs/tls.md), as a user's client does. Every wait is bounded
in time and count, and every request has a timeout.
"""
import functools
import io
import json
import os
import pathlib
import subprocess
import tarfile
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
# molecule.yml writes each $ of a value as $$ (Molecule's interpolation).
SECRETS = {name: value.replace("$$", "$") if isinstance(value, str) else value for name, value in
           yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]["group_vars"]["all"].items()}
# The hosts' containers (molecule.yml: `container`).
DB, MINIO, MLFLOW = (container_name(name) for name in ("mlsp-stack-db", "mlsp-stack-minio", "mlsp-stack-mlflow"))
HOSTS = (DB, MINIO, MLFLOW)
ADMIN = ("admin", SECRETS["vault_mlflow_admin_password"])
MINIO_ROOT_USER = "mlsp-admin"
MLFLOW_S3_ACCESS_KEY = "mlflow"
HTTP_TIMEOUT = 30
RECOVERY_LIMIT = 30  # seconds, from a fault's end to a stack that serves again
RUN = uuid.uuid4().hex[:6]  # names unique to this verify run


# --- figures ------------------------------------------------------------------------------------

def secret_env():
    """The test secrets as the probes read them: SECRET_<name>=<value>."""
    return {f"SECRET_{name}": value for name, value in SECRETS.items()}


def mask(text):
    """`text` with every test secret replaced by ***, for assertion messages."""
    text = str(text)
    for secret in SECRETS.values():
        text = text.replace(secret, "***")
    return text


def check(drill, figure, limit, passed, detail=""):
    """Record a drill's measured figure against its limit and assert it (drill_figures.check), with
    the test secrets masked in the failure."""
    _check(drill, figure, limit, passed, detail, mask=mask)


# --- containers ---------------------------------------------------------------------------------

def container(name):
    return docker.from_env().containers.get(name)


PROBE_DIR = "/root/mlsp-probes"


def probe(name, script, *args, env=None, timeout=120, python="python3"):
    """Copy probes/<script> into container `name` and run it with `args` (no secret among them;
    they come in `env`). Returns (exit code, stdout, stderr)."""
    data = (TESTS / "probes" / script).read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(script)
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
    exec_in(name, ["mkdir", "-p", "-m", "0700", PROBE_DIR], timeout=30)
    container(name).put_archive(PROBE_DIR, buf.getvalue())
    return exec_in(name, [python, f"{PROBE_DIR}/{script}", *args], env=env, timeout=timeout)


@functools.lru_cache(maxsize=1)
def pg_unit():
    """The systemd unit of the PostgreSQL cluster, from Debian's cluster list (not from systemd's
    list of loaded units, which a drill may catch in the middle of a change)."""
    rc, out, err = exec_in(DB, ["pg_lsclusters", "--no-header"])
    assert rc == 0, err
    clusters = [line.split()[:2] for line in out.splitlines() if line.strip()]
    assert len(clusters) == 1, out
    return "postgresql@{}-{}.service".format(*clusters[0])


def service_units():
    """(service, host, unit) of each of our long-running services."""
    return [("postgresql", DB, pg_unit()), ("pgbouncer", DB, "pgbouncer.service"),
            ("minio", MINIO, "minio.service"), ("mlflow", MLFLOW, "mlflow.service")]


def unit_show(host, unit, props=("MainPID", "NRestarts", "ActiveState", "ActiveEnterTimestamp",
                                 "ActiveEnterTimestampMonotonic", "UnitFileState")):
    rc, out, err = exec_in(host, ["systemctl", "show", unit, "--property=" + ",".join(props)], timeout=30)
    assert rc == 0, err
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_for(predicate, timeout, interval=1.0):
    """Call predicate() until it returns a true value or `timeout` seconds have passed (bounded in
    time, and so in count). Returns (value, seconds waited)."""
    start = time.monotonic()
    value = None
    for _attempt in range(int(timeout / max(interval, 0.05)) + 2):
        value = predicate()
        elapsed = time.monotonic() - start
        if value or elapsed >= timeout:
            return value, elapsed
        time.sleep(interval)
    return value, time.monotonic() - start


# --- secrets in argv ------------------------------------------------------------------------------

def argv_hits(host):
    rc, out, err = probe(host, "secret_scan.py", "argv", env=secret_env(), timeout=30)
    assert rc == 0, err
    return [dict(hit, host=host) for hit in json.loads(out)]


def controller_argv_hits():
    hits = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        hits += [{"pid": int(pid), "secret": n, "host": "controller"} for n, v in SECRETS.items() if v.encode() in argv]
    return hits


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
                    self.hits += argv_hits(host)
                self.hits += controller_argv_hits()
                self.rounds += 1
            except Exception as exc:  # pylint: disable=broad-exception-caught  # reported by the test
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.stop.wait(1)


# --- Ansible ------------------------------------------------------------------------------------

def inventory():
    return pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"


def ca_file():
    """The stack's CA certificate, which site.yml made on the controller (<inventory>/.pki)."""
    return inventory() / ".pki" / "ca.crt"


# The machine's own CA settings, kept before the override below: pip reaches the package index
# with them when it makes the client venv (client_python), not with the stack's CA.
MACHINE_CA_ENV = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE")}

# Every request and S3 call of the tests checks the servers against the stack's CA only. The
# variables are set outright: the environment may carry others (the system bundle).
if "MOLECULE_EPHEMERAL_DIRECTORY" in os.environ:
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"] = str(ca_file())


def run_playbook(playbook, *args, inventory_path=None, extra_vars=None, timeout=900):
    """ansible-playbook on the scenario's inventory (or another), its JSON output parsed."""
    return _run_playbook(playbook, inventory_path or inventory(), *args, extra_vars=extra_vars, timeout=timeout)


def _report(msg):
    return isinstance(msg, list) and msg and all(isinstance(m, str) and m.split(" ", 1)[0] in ("OK", "FAIL")
                                                 for m in msg)


def health_lines(run):
    """(status, check) of each line of health.yml's first report (the stack's): status OK or FAIL."""
    for _play, _task, _host, result in run.results():
        if _report(result.get("msg")):
            return [tuple(m.split(None, 1)) for m in result["msg"]]
    return []


def all_health_lines(run):
    """(host, status, check) of every line of every report of health.yml, the certificates' of each
    host included."""
    return [(host, *m.split(None, 1)) for _play, _task, host, result in run.results() if _report(result.get("msg"))
            for m in result["msg"]]


# --- MLflow and MinIO ---------------------------------------------------------------------------

def mlflow_url():
    return f"https://{container_address(MLFLOW)}:5000"


def minio_url():
    return f"https://{container_address(MINIO)}:9000"


def s3(access_key, secret_key):
    return boto3.client("s3", endpoint_url=minio_url(), region_name="us-east-1", aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key,
                        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30,
                                      s3={"addressing_style": "path"}))


@functools.lru_cache(maxsize=1)
def client_python():
    """The python of the cached MLflow client venv (scripts/client-venv.sh), made with the machine's
    CA settings when it is not there yet (the first test to ask, on a cold cache)."""
    env = dict(os.environ)
    for name, value in MACHINE_CA_ENV.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    proc = subprocess.run([str(ROOT / "scripts" / "client-venv.sh")], capture_output=True, text=True, env=env,
                          check=False, timeout=900)
    assert proc.returncode == 0, f"scripts/client-venv.sh failed: {proc.stderr[-2000:]}"
    return proc.stdout.strip().splitlines()[-1]


def client_env(**extra):
    """The environment of an MLflow client script run against the stack as its admin, with bounded
    retries."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=mlflow_url(), MLFLOW_TRACKING_SERVER_CERT_PATH=str(ca_file()),
               MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD="false",
               MLFLOW_TRACKING_USERNAME=ADMIN[0],
               MLFLOW_TRACKING_PASSWORD=ADMIN[1], MLFLOW_HTTP_REQUEST_TIMEOUT="60", MLFLOW_HTTP_REQUEST_MAX_RETRIES="2")
    env.update(extra)
    return env


def api(method, path, auth=ADMIN, timeout=HTTP_TIMEOUT, **kwargs):
    """One MLflow REST call from the controller."""
    return requests.request(method, mlflow_url() + path, auth=auth, timeout=timeout, **kwargs)


def ok(resp):
    assert resp.status_code == 200, f"{resp.request.method} {resp.url}: {resp.status_code} {mask(resp.text[:300])}"
    return resp.json() if resp.content else {}


def create_user(name):
    """A non-admin MLflow user made through the REST API (as the admin); returns (name, password)."""
    password = "Drill-" + uuid.uuid4().hex[:20]
    ok(api("POST", "/api/2.0/mlflow/users/create", json={"username": name, "password": password}))
    return name, password


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


# A marker run: parameter `fault`, metric `marker` with these values, and marker.txt; all of it
# follows from the run, so any marker can be read back later from the server alone.
MARKER_VALUES = [0.0, 3.0, 6.0, 9.0, 12.0]


def marker_content(tag, run_id):
    return f"{tag} {run_id}\n".encode()


def write_marker(client, experiment_id, tag):
    """A marker run, all of it acknowledged (HTTP 200); returns (tag, run info)."""
    info = client.run(experiment_id, f"{tag}-{RUN}")
    now = int(time.time() * 1000)
    metrics = [{"key": "marker", "value": value, "timestamp": now, "step": step} for step, value in enumerate(MARKER_VALUES)]
    ok(client.call("POST", "/api/2.0/mlflow/runs/log-batch", json={
        "run_id": info["run_id"], "metrics": metrics, "params": [{"key": "fault", "value": tag}]}))
    ok(client.call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{artifact_path(info)}/marker.txt",
                   data=marker_content(tag, info["run_id"])))
    return tag, info


def markers_in(client, experiment_id):
    """(tag, run info) of every marker run in the experiment."""
    runs = ok(client.call("POST", "/api/2.0/mlflow/runs/search", json={
        "experiment_ids": [experiment_id], "max_results": 1000})).get("runs", [])
    params = [{p["key"]: p["value"] for p in run["data"].get("params", [])} for run in runs]
    return [(p["fault"], run["info"]) for run, p in zip(runs, params) if "fault" in p]


def read_marker(client, marker):
    """What of the marker is missing or different now (empty: all of it reads back)."""
    tag, info = marker
    run_id = info["run_id"]
    problems = []
    try:
        run = client.call("GET", "/api/2.0/mlflow/runs/get", params={"run_id": run_id})
        params = {p["key"]: p["value"] for p in run.json()["run"]["data"].get("params", [])} if run.ok else {}
        if params.get("fault") != tag:
            problems.append(f"run {run_id}: HTTP {run.status_code}, params {params}")
        hist = client.call("GET", "/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "marker"})
        values = sorted(m["value"] for m in hist.json().get("metrics", [])) if hist.ok else None
        if values != MARKER_VALUES:
            problems.append(f"metric history of {run_id}: {values} != {MARKER_VALUES}")
        art = client.call("GET", f"/api/2.0/mlflow-artifacts/artifacts/{artifact_path(info)}/marker.txt")
        if art.status_code != 200 or art.content != marker_content(tag, run_id):
            problems.append(f"artifact of {run_id}: HTTP {art.status_code}")
    except (requests.RequestException, ValueError, KeyError) as exc:
        problems.append(f"{tag}: {type(exc).__name__}: {exc}")
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
    healthy, seconds = wait_for(lambda: stack_problem(url) is None, timeout, interval=0.5)
    return round(seconds, 1) if healthy else None
