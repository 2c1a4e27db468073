"""The MLflow tier as its users see it, over HTTP from the controller to the container: the REST
API with `requests` (the controller's venv has no mlflow), MinIO with boto3. The modules run on
the container, several in one ansible-playbook run (`steps`), with the REST calls that check what
they did between them. Loading a model by its alias needs the MLflow client: that one test runs it
in the container, from the server's own virtual environment (/opt/mlflow).

The tests run in file order; the preflight checks and the admin password rotation run the mlflow
role again (converge.yml, the role alone) and come last, the rotation at the very end: it leaves
the server with a password that is not the inventory's, until the next converge.
"""
import json
import os
import pathlib
import subprocess
import time
import uuid

import boto3
import pytest
import requests
import yaml
from botocore.config import Config
from mlsp_testlib import container_address, container_name, run_tasks

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
VARS = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]["group_vars"]["all"]
# Molecule reads $NAME in molecule.yml as an environment variable; $$ is a literal $.
ADMIN = ("admin", VARS["mlflow_admin_password"].replace("$$", "$"))
READER = ("reader", "reader-test-pass-1")
WRITER = ("writer", "writer-test-pass-1")
SECRETS = {
    "database password": VARS["_scenario_db_password"],
    "MinIO mlflow secret key": VARS["_scenario_minio_mlflow_secret"],
    "MinIO root password": VARS["minio_root_password"],
    "admin password": ADMIN[1],
    "Flask secret key": VARS["mlflow_flask_secret_key"],
    "PgBouncer auth password": VARS["pgbouncer_auth_password"],
    "PgBouncer admin password": VARS["pgbouncer_admin_users"][0]["password"],
}
LOCAL = "http://127.0.0.1:5000"  # how the modules, run on the container, reach the server
RUN = f"verify-{uuid.uuid4().hex[:8]}"  # names unique to this verify run


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ip(host):
    """The container's address on the scenario network, as the controller reaches it."""
    return container_address(container_name(host.backend.get_hostname()))


@pytest.fixture(scope="module")
def url(ip):
    return f"http://{ip}:5000"


def api(url, method, path, auth=ADMIN, **kwargs):
    return requests.request(method, f"{url}{path}", auth=auth, timeout=30, **kwargs)


def ok(resp):
    assert resp.status_code == 200, f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text[:300]}"
    return resp.json() if resp.content else {}


def mod(_module, check=False, **args):
    """A task that runs one of the collection's modules on the container (for `steps`)."""
    args.setdefault("tracking_uri", LOCAL)
    args.setdefault("login_password", ADMIN[1])
    return {f"mlsp.mlflow_stack.{_module}": args, "check_mode": check}


def rest(path, auth=ADMIN, method="GET", body=None):
    """A task that calls the server's REST API from the container (for `steps`): its result holds
    the `status` and, from a JSON answer, the `json`."""
    args = {"url": LOCAL + path, "method": method, "url_username": auth[0], "url_password": auth[1],
            "force_basic_auth": True, "status_code": [200, 400, 401, 403, 404]}
    if body is not None:
        args.update(body_format="json", body=body)
    return {"ansible.builtin.uri": args}


def steps(host, *tasks):
    """Run tasks (`mod`, `rest`, any task) in order in one ansible-playbook run on the container
    (mlsp_testlib.run_tasks) and return each one's result."""
    return run_tasks(os.environ["MOLECULE_INVENTORY_FILE"], host.backend.get_hostname(), tasks)


def succeeded(result):
    assert not result.get("failed"), result.get("msg", result)
    return result


def failed(result):
    """The result of a module run that must fail (the modules return a msg only when they fail)."""
    assert result.get("failed") and "msg" in result, f"did not fail: {result}"
    return result


def wait_health(url, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # refused, or accepted but not answered yet
            pass
        time.sleep(3)
    pytest.fail(f"{url}/health did not answer within {seconds} s")


def run_mlflow_role(extra_vars, tmp_path):
    """ansible-playbook converge.yml (the mlflow role alone) on the scenario's inventory with extra
    variables (from a file: no secret on a command line). Returns (rc, output)."""
    vars_file = tmp_path / "extra-vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    vars_file.chmod(0o600)
    proc = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"),
         "-e", f"@{vars_file}"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def logged_run(url):
    """An experiment and a run with parameters, metrics and a file artifact, logged as the admin."""
    exp_id = ok(api(url, "POST", "/api/2.0/mlflow/experiments/create", json={"name": f"{RUN}-run"}))["experiment_id"]
    run = ok(api(url, "POST", "/api/2.0/mlflow/runs/create",
                 json={"experiment_id": exp_id, "run_name": "rf-v1", "start_time": int(time.time() * 1000)}))
    run_id = run["run"]["info"]["run_id"]
    ok(api(url, "POST", "/api/2.0/mlflow/runs/log-batch", json={
        "run_id": run_id,
        "params": [{"key": "n_estimators", "value": "100"}, {"key": "max_depth", "value": "10"}],
        "metrics": [{"key": "accuracy", "value": 0.85, "timestamp": 1, "step": 0},
                    {"key": "f1", "value": 0.82, "timestamp": 1, "step": 0}],
    }))
    content = f"confusion matrix of {RUN}\n".encode()
    ok(api(url, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/reports/notes.txt",
           data=content))
    ok(api(url, "POST", "/api/2.0/mlflow/runs/update", json={"run_id": run_id, "status": "FINISHED"}))
    return {"experiment_id": exp_id, "run_id": run_id, "content": content}


# --- cut off from the registries ---------------------------------------------------------------

def _registry_endpoints():
    """(host, port) of what the controller itself installs from: the mirrors of its apt sources
    and pip's index (PIP_INDEX_URL, else pip's default). Read here, not written in the repo."""
    import glob
    import re
    from urllib.parse import urlsplit

    from pip._internal.models.index import PyPI

    urls = []
    for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
        urls += re.findall(r"^URIs:\s*(.+)$", pathlib.Path(path).read_text(), re.M)
    for path in ["/etc/apt/sources.list"] + glob.glob("/etc/apt/sources.list.d/*.list"):
        if os.path.exists(path):
            urls += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", pathlib.Path(path).read_text(), re.M)
    urls.append(os.environ.get("PIP_INDEX_URL") or PyPI.simple_url)
    out = set()
    for u in " ".join(urls).split():
        parts = urlsplit(u)
        if parts.hostname:
            out.add((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
    return sorted(out)


def _connects(run, address, port):
    return run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}'").rc == 0


def test_host_has_no_route_to_the_registries(host):
    """The scenario's network is internal: the registries the controller reaches (each tried from
    the controller first, so that the test cannot pass for want of a registry) stay out of the
    host's reach, by address as by name."""
    import socket

    tried = []
    for name, port in _registry_endpoints():
        try:
            addresses = {a[4][0] for a in socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)}
        except OSError:
            continue
        for address in sorted(addresses)[:2]:
            if subprocess.run(["bash", "-c", f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}'"],
                              check=False, timeout=30).returncode != 0:
                continue  # the controller cannot reach it either: proves nothing
            tried.append((name, address, port))
            assert not _connects(host.run, address, port), f"the host reaches {name} ({address}:{port})"
        assert host.run(f"timeout 10 getent hosts {name}").rc != 0, f"the host resolves {name}"
    assert tried, "no registry reachable from the controller to try from the host"


def test_host_installs_through_the_proxy_and_the_wheelhouse(host):
    """What the host was given instead: the apt proxy, which it reaches, and the wheels it
    installed from, with no index."""
    proxy = os.environ.get("MLSP_APT_PROXY", "")
    assert proxy, "MLSP_APT_PROXY is not set: run scripts/setup.sh (scripts/apt-proxy.sh)"
    conf = host.file("/etc/apt/apt.conf.d/01mlsp-proxy")
    assert conf.exists and f'Acquire::http::Proxy "{proxy}";' in conf.content_string
    address, port = proxy.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    assert _connects(host.run, address, port)
    sets = host.check_output("ls /var/cache/mlsp-wheelhouse").split()
    assert len(sets) >= 2, sets  # MLflow's and the MinIO admin venv's
    # and pip, without the wheelhouse, finds no index
    assert host.run("/opt/mlflow/bin/pip download --no-deps --dest /tmp/x --quiet --timeout 5 --retries 0 "
                    "requests").rc != 0


# --- the service --------------------------------------------------------------------------------

def test_service_enabled_and_running_as_mlflow(host):
    svc = host.service("mlflow")
    assert svc.is_enabled and svc.is_running
    main_pid = host.check_output("systemctl show -p MainPID --value mlflow")
    assert host.check_output(f"stat -c %U /proc/{main_pid}") == "mlflow"


def test_unit_is_hardened(host):
    props = host.check_output(
        "systemctl show mlflow -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp "
        "-p CapabilityBoundingSet -p User")
    assert "NoNewPrivileges=yes" in props
    assert "ProtectSystem=strict" in props
    assert "ProtectHome=yes" in props
    assert "PrivateTmp=yes" in props
    assert "User=mlflow" in props


@pytest.mark.parametrize("path, mode", [
    ("/etc/mlflow/mlflow.env", 0o600),
    ("/etc/mlflow/admin.env", 0o600),
    ("/etc/mlflow/basic_auth.ini", 0o640),
])
def test_config_files_are_private(host, path, mode):
    f = host.file(path)
    assert f.exists and f.user == "root" and f.group == "mlflow" and f.mode == mode


def test_no_secret_on_any_command_line(host):
    # Every process's argv, one per line (xargs -0 splits /proc/PID/cmdline at its NULs).
    cmdlines = host.check_output("for f in /proc/[0-9]*/cmdline; do xargs -0 -r < $f 2>/dev/null; done; true")
    assert "mlflow server --app-name basic-auth" in cmdlines  # we did read the server's
    assert "--backend-store-uri postgresql+psycopg2://mlflow@127.0.0.1:6432/mlflow" in cmdlines
    for what, secret in SECRETS.items():
        assert secret not in cmdlines, f"the {what} shows on a command line"
    for path in ("/etc/systemd/system/mlflow.service", "/etc/mlflow/basic_auth.ini"):
        text = host.file(path).content_string
        for what, secret in SECRETS.items():
            assert secret not in text, f"the {what} is in {path}"


def test_artifacts_use_the_least_privilege_minio_user(host):
    env = host.file("/etc/mlflow/mlflow.env").content_string
    assert 'AWS_ACCESS_KEY_ID="mlflow"' in env
    assert VARS["minio_root_user"] not in env and VARS["minio_root_password"] not in env


def test_schema_upgrade_stamped_for_this_version(host):
    assert host.file("/var/lib/mlflow/schema-stamp").content_string.startswith("3.17.2 ")
    assert host.check_output("/opt/mlflow/bin/python -c "
                             "\"import importlib.metadata as m; print(m.version('mlflow'))\"") == "3.17.2"


def test_upgrade_ran_once_per_version_and_kept_the_data(host, url):
    """prepare.yml installed the previous release and logged an experiment; converge upgraded."""
    assert api(url, "GET", "/version").text.strip() == "3.17.2"
    ok(api(url, "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "before-the-upgrade"}))
    journal = host.check_output("journalctl --unit mlflow-migrate --no-pager --output cat")
    # Once at the first install (3.16.1), once at the upgrade; not at the idempotence run.
    assert journal.count("Finished mlflow-migrate.service") == 2, journal[-3000:]


# --- authentication -----------------------------------------------------------------------------

def test_health_answers(url):
    resp = requests.get(f"{url}/health", timeout=10)
    assert resp.status_code == 200 and resp.text.strip() == "OK"


def test_unauthenticated_call_is_refused(url):
    assert requests.get(f"{url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10).status_code == 401


def test_wrong_password_is_refused(url):
    assert api(url, "GET", "/api/2.0/mlflow/experiments/search?max_results=1",
               auth=("admin", "not-the-password")).status_code == 401
    assert api(url, "GET", "/api/2.0/mlflow/users/current", auth=(READER[0], "wrong-password-1")).status_code == 401


def test_admin_and_users_log_in(url):
    assert ok(api(url, "GET", "/api/2.0/mlflow/users/current"))["user"]["is_admin"] is True
    assert ok(api(url, "GET", "/api/2.0/mlflow/users/current", auth=READER))["user"]["is_admin"] is False


# --- the modules, against the real server -------------------------------------------------------

def test_mlflow_user_module_lifecycle(host):
    name, first, second = f"{RUN}-u", "first-password-1", "second-password-2"
    user = f"/api/2.0/mlflow/users/get?username={name}"
    current = "/api/2.0/mlflow/users/current"
    res = steps(
        host,
        mod("mlflow_user", check=True, name=name, password=first),        # 0
        rest(user),                                                       # 1
        mod("mlflow_user", name=name, password=first),                    # 2
        rest(current, auth=(name, first)),                                # 3
        mod("mlflow_user", name=name, password=first),                    # 4
        mod("mlflow_user", check=True, name=name, password=second),       # 5
        rest(current, auth=(name, second)),                               # 6
        mod("mlflow_user", name=name, password=second),                   # 7
        rest(current, auth=(name, second)),                               # 8
        mod("mlflow_user", name=name, password=first, update_password="on_create"),  # 9
        mod("mlflow_user", name=name, password=second, admin=True),       # 10
        rest(user),                                                       # 11
        mod("mlflow_user", name=name, password=second, admin=True),       # 12
        mod("mlflow_user_info", name=[name, "reader", "nobody"]),         # 13
        mod("mlflow_user", name=name, state="absent"),                    # 14
        rest(user),                                                       # 15
        mod("mlflow_user", name=name, state="absent"),                    # 16
    )
    for result in res:
        succeeded(result)
    assert res[0]["changed"] is True and res[0]["user"] == {"id": None, "username": name, "is_admin": False}
    assert res[1]["status"] == 404, "check mode wrote"
    assert res[2]["changed"] is True and res[3]["status"] == 200
    assert res[4]["changed"] is False
    # Check mode predicts the password change and writes nothing: the new password is refused.
    assert res[5]["changed"] is True and res[6]["status"] == 401, "check mode changed the password"
    assert res[7]["changed"] is True and res[7]["actions"] == ["password"] and res[8]["status"] == 200
    assert res[9]["changed"] is False
    assert res[10]["changed"] is True and res[10]["user"]["is_admin"] is True
    assert res[11]["json"]["user"]["is_admin"] is True
    assert res[12]["changed"] is False
    assert [(u["username"], u["is_admin"]) for u in res[13]["users"]] == [("reader", False), (name, True)]
    assert res[13]["missing"] == ["nobody"]
    assert res[14]["changed"] is True and res[15]["status"] == 404
    assert res[16]["changed"] is False


def test_modules_fail_clearly(host):
    bad_login, down, missing, not_admin = (failed(r) for r in steps(
        host,
        mod("mlflow_user_info", login_password="wrong-admin-pass"),
        mod("mlflow_user_info", tracking_uri="http://127.0.0.1:5999"),
        mod("mlflow_permission", user="nobody-here", experiment_id="0", permission="READ"),
        mod("mlflow_user_info", login_username=READER[0], login_password=READER[1]),
    ))
    assert "refused the login credentials (HTTP 401)" in bad_login["msg"]
    assert "wrong-admin-pass" not in json.dumps(bad_login)
    assert "cannot reach the MLflow server at http://127.0.0.1:5999" in down["msg"]
    assert "user nobody-here does not exist" in missing["msg"]
    assert "not an MLflow admin" in not_admin["msg"]


def test_default_read_then_granted_edit(host, url):
    exp = f"{RUN}-perm"
    exp_id = ok(api(url, "POST", "/api/2.0/mlflow/experiments/create", json={"name": exp}))["experiment_id"]
    get = f"/api/2.0/mlflow/experiments/get?experiment_id={exp_id}"
    new_run = rest("/api/2.0/mlflow/runs/create", auth=READER, method="POST", body={"experiment_id": exp_id})
    res = steps(
        host,
        rest(get, auth=READER),                                                                      # 0
        new_run,                                                                                     # 1
        rest("/api/2.0/mlflow/experiments/update", auth=READER, method="POST",
             body={"experiment_id": exp_id, "new_name": exp + "-renamed"}),                          # 2
        mod("mlflow_permission", check=True, user="reader", experiment_name=exp, permission="EDIT"),  # 3
        new_run,                                                                                     # 4
        mod("mlflow_permission", user="reader", experiment_name=exp, permission="EDIT"),             # 5
        mod("mlflow_permission", user="reader", experiment_id=exp_id, permission="EDIT"),            # 6
        new_run,                                                                                     # 7
        mod("mlflow_permission", user="reader", experiment_id=exp_id, permission="NO_PERMISSIONS"),  # 8
        rest(get, auth=READER),                                                                      # 9
        mod("mlflow_permission", user="reader", experiment_id=exp_id, state="absent"),               # 10
        mod("mlflow_permission", user="reader", experiment_id=exp_id, state="absent"),               # 11
        rest(get, auth=READER),                                                                      # 12
        new_run,                                                                                     # 13
    )
    for result in res:
        succeeded(result)
    # default_permission READ: the reader sees the experiment but may not write to it.
    assert [res[0]["status"], res[1]["status"], res[2]["status"]] == [200, 403, 403]
    # Check mode returns the predicted grant, as the minio modules do, and grants nothing.
    assert res[3]["changed"] is True and res[3]["permission"] == "EDIT" and res[4]["status"] == 403
    assert res[5]["changed"] is True and res[5]["permission"] == "EDIT" and res[5]["resource_id"] == exp_id
    assert res[6]["changed"] is False and res[7]["status"] == 200
    # NO_PERMISSIONS (written as DENY) hides it even from default READ.
    assert res[8]["changed"] is True and res[8]["permission"] == "DENY" and res[9]["status"] == 403
    # Removed: back to the default, READ.
    assert res[10]["changed"] is True and res[11]["changed"] is False
    assert res[12]["status"] == 200 and res[13]["status"] == 403


def test_registered_model_permission(host, url):
    model = f"{RUN}-perm-model"
    ok(api(url, "POST", "/api/2.0/mlflow/registered-models/create", json={"name": model}))
    update = rest("/api/2.0/mlflow/registered-models/update", auth=WRITER, method="PATCH",
                  body={"name": model, "description": "by the writer"})
    res = [succeeded(r) for r in steps(
        host, update, mod("mlflow_permission", user="writer", registered_model=model, permission="EDIT"), update)]
    assert res[0]["status"] == 403 and res[1]["changed"] is True and res[2]["status"] == 200


# --- tracking, artifacts, registry --------------------------------------------------------------

def test_run_reads_back(url, logged_run):
    run = ok(api(url, "GET", f"/api/2.0/mlflow/runs/get?run_id={logged_run['run_id']}"))["run"]
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert params == {"n_estimators": "100", "max_depth": "10"}
    assert metrics == {"accuracy": 0.85, "f1": 0.82}
    assert run["info"]["status"] == "FINISHED"


def test_artifact_reads_back_and_is_in_minio(url, ip, logged_run):
    exp_id, run_id = logged_run["experiment_id"], logged_run["run_id"]
    listing = ok(api(url, "GET", "/api/2.0/mlflow/artifacts/list",
                     params={"run_id": run_id, "path": "reports"}))
    assert [f["path"] for f in listing["files"]] == ["reports/notes.txt"]
    resp = api(url, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/reports/notes.txt")
    assert resp.status_code == 200 and resp.content == logged_run["content"]

    s3 = boto3.client("s3", endpoint_url=f"http://{ip}:9000", region_name="us-east-1",
                      aws_access_key_id=VARS["minio_root_user"],
                      aws_secret_access_key=VARS["minio_root_password"],
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))
    obj = s3.get_object(Bucket="mlflow", Key=f"{exp_id}/{run_id}/artifacts/reports/notes.txt")
    assert obj["Body"].read() == logged_run["content"]


def test_artifacts_need_a_login(url, logged_run):
    path = f"/api/2.0/mlflow-artifacts/artifacts/{logged_run['experiment_id']}/{logged_run['run_id']}/artifacts/reports/notes.txt"
    assert requests.get(f"{url}{path}", timeout=10).status_code == 401


MODEL_SCRIPT = r'''
import json, os, sys
creds = json.load(open(sys.argv[1]))
os.environ["MLFLOW_TRACKING_USERNAME"] = creds["username"]
os.environ["MLFLOW_TRACKING_PASSWORD"] = creds["password"]
import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient

class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [2 * x for x in model_input]

mlflow.set_tracking_uri("http://127.0.0.1:5000")
name = creds["model"]
mlflow.set_experiment(name + "-exp")
with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(name="model", python_model=Doubler(), pip_requirements=["mlflow"])
version = mlflow.register_model(info.model_uri, name)
client = MlflowClient()
client.set_registered_model_alias(name, "champion", version.version)
model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
print(json.dumps({"version": version.version, "prediction": list(model.predict([1.5, 4.0])),
                  "run_id": run.info.run_id}))
'''


def test_model_version_loads_by_alias(host, url):
    """A pyfunc model logged, registered, aliased `champion`, then loaded by `models:/<name>@champion`
    with the real MLflow client (the server's venv on the container, over HTTP to the server)."""
    model = f"{RUN}-model"
    creds = {"username": "writer", "password": WRITER[1], "model": model}
    for result in steps(host, *({"ansible.builtin.copy": {"dest": dest, "content": content, "mode": mode}}
                                for dest, content, mode in (("/root/mlsp-model-test.py", MODEL_SCRIPT, "0644"),
                                                            ("/root/mlsp-model-test.json", json.dumps(creds), "0600")))):
        succeeded(result)
    out = host.run("cd /tmp && /opt/mlflow/bin/python /root/mlsp-model-test.py /root/mlsp-model-test.json")
    assert out.rc == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["prediction"] == [3.0, 8.0]

    # The same alias, read over the REST API from the controller.
    alias = ok(api(url, "GET", "/api/2.0/mlflow/registered-models/alias", params={"name": model, "alias": "champion"}))
    assert alias["model_version"]["version"] == str(result["version"])
    assert alias["model_version"]["run_id"] == result["run_id"]


def test_restart_keeps_the_data_and_forgets_cached_passwords(host, url, logged_run):
    """What the role does after a password change: restart MLflow. The workers' credential caches
    (mlflow_auth_cache_ttl_seconds, on by default) go with it: a password checked before the change
    is refused after the restart. The module alone would leave it accepted until the TTL ends."""
    name, old, new = f"{RUN}-r", "old-password-1", "new-password-2"
    current = "/api/2.0/mlflow/users/current"
    res = [succeeded(r) for r in steps(
        host,
        mod("mlflow_user", name=name, password=old),
        rest(current, auth=(name, old)),
        mod("mlflow_user", name=name, password=new),
        {"ansible.builtin.systemd_service": {"name": "mlflow", "state": "restarted"}},
    )]
    assert res[1]["status"] == 200 and res[2]["changed"] is True and res[3]["changed"] is True
    wait_health(url)
    assert api(url, "GET", current, auth=(name, old)).status_code == 401
    assert api(url, "GET", current, auth=(name, new)).status_code == 200
    ok(api(url, "DELETE", "/api/2.0/mlflow/users/delete", json={"username": name}))

    run = ok(api(url, "GET", f"/api/2.0/mlflow/runs/get?run_id={logged_run['run_id']}"))["run"]
    assert {p["key"] for p in run["data"]["params"]} == {"n_estimators", "max_depth"}
    resp = api(url, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{logged_run['experiment_id']}/"
                           f"{logged_run['run_id']}/artifacts/reports/notes.txt")
    assert resp.content == logged_run["content"]
    assert ok(api(url, "GET", "/api/2.0/mlflow/users/current", auth=READER))


# --- the role again: admin password rotation, preflight -----------------------------------------

@pytest.mark.parametrize("bad, variable", [
    ({"mlflow_admin_password": "change_me"}, "mlflow_admin_password"),
    ({"mlflow_admin_password": "short-pw"}, "mlflow_admin_password"),
    ({"mlflow_flask_secret_key": ""}, "mlflow_flask_secret_key"),
    ({"mlflow_default_permission": "WRITE"}, "mlflow_default_permission"),
    ({"mlflow_s3_access_key": ""}, "mlflow_s3_access_key"),
    ({"mlflow_graceful_shutdown_timeout": 60}, "mlflow_graceful_shutdown_timeout '60' (1-50)"),
    # The argument spec's suboptions: the message names the list and the field.
    ({"mlflow_users": [{"name": "reader", "password": "reader-test-pass-1"}, {"name": "bob"}]},
     "password found in mlflow_users"),
    ({"mlflow_permissions": [{"user": "reader", "experiment_name": "x", "permission": "WRITE"}]},
     "got: WRITE found in mlflow_permissions"),
])
def test_preflight_refuses_before_any_change(host, bad, variable, tmp_path):
    before = host.check_output("stat -c %Y /etc/mlflow/mlflow.env /etc/mlflow/basic_auth.ini "
                               "/etc/systemd/system/mlflow.service")
    rc, out = run_mlflow_role(bad, tmp_path)
    assert rc != 0
    assert variable in out
    assert "changed=0" in out
    assert host.check_output("stat -c %Y /etc/mlflow/mlflow.env /etc/mlflow/basic_auth.ini "
                             "/etc/systemd/system/mlflow.service") == before


def test_preflight_names_what_the_wheelhouse_lacks(host, tmp_path):
    """A version the wheelhouse has no wheel of: the preflight says which requirement is missing
    for which Python, and the running server is left alone."""
    before = host.check_output("systemctl show -p MainPID --value mlflow")
    rc, out = run_mlflow_role({"mlflow_version": "3.99.0"}, tmp_path)
    assert rc != 0
    assert "lacks mlflow[auth]==3.99.0 for Python 3." in out and "mlflow_version" in out
    assert "changed=0" in out
    assert host.check_output("systemctl show -p MainPID --value mlflow") == before


def test_rejected_secret_is_not_printed(tmp_path):
    rc, out = run_mlflow_role({"mlflow_admin_password": "Shrt-Secret"}, tmp_path)  # 11 characters
    assert rc != 0 and "mlflow_admin_password" in out
    assert "Shrt-Secret" not in out


def test_admin_password_rotation(url, tmp_path):
    """Last: the server keeps the new password (the inventory's is back with the next converge)."""
    old, new = ADMIN[1], "Rotated-admin-test-7c1e"
    rc, out = run_mlflow_role({"mlflow_admin_password": new}, tmp_path)
    assert rc == 0, out[-3000:]
    assert api(url, "GET", "/api/2.0/mlflow/users/current", auth=("admin", new)).status_code == 200
    assert api(url, "GET", "/api/2.0/mlflow/users/current", auth=("admin", old)).status_code == 401
    # The auth database was kept: the users are still there with their passwords.
    assert ok(api(url, "GET", "/api/2.0/mlflow/users/current", auth=READER))
    for secret in (old, new):
        assert secret not in out
