"""Shared by the stack scenario's tests: test_1_stack.py (the product as its users meet it) and
test_2_drills.py (faults, load, bad input, secrets and exposure drills, which disturb the stack
and therefore run last).

Helpers reach the containers through the Docker SDK (secrets go in an exec's environment, never
in an argv), MLflow and MinIO over HTTP at the containers' addresses, and Ansible through
ansible-playbook on the scenario's inventory. Every drill records its measured figure with
`record_figure`; `pytest_terminal_summary` prints them as one table at the end of the verifier's
output and writes the same table to $MOLECULE_EPHEMERAL_DIRECTORY/drills.txt. Molecule wraps its
output at the terminal's width (80 columns without a terminal, or $COLUMNS): the drills keep their
labels short so that a row fits in 76.
"""
import functools
import os
import pathlib
import subprocess
import time

import docker
import requests
import yaml

SCENARIO = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).parents[1]))
ROOT = SCENARIO.parents[1]
# molecule.yml writes each $ of a value as $$ (Molecule's interpolation).
SECRETS = {name: value.replace("$$", "$") if isinstance(value, str) else value for name, value in
           yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]["group_vars"]["all"].items()}
DB, MINIO, MLFLOW = "mlsp-stack-db", "mlsp-stack-minio", "mlsp-stack-mlflow"
HOSTS = (DB, MINIO, MLFLOW)
ADMIN = ("admin", SECRETS["vault_mlflow_admin_password"])
MINIO_ROOT_USER = "mlsp-admin"
MLFLOW_S3_ACCESS_KEY = "mlflow"
HTTP_TIMEOUT = 30

# Figures the drills measured: (drill, figure, limit, passed), in the order they ran.
FIGURES = []


def record_figure(drill, figure, limit, passed):
    """Note a drill's measured figure for the summary table; returns `passed`."""
    FIGURES.append((str(drill), str(figure), str(limit), "PASS" if passed else "FAIL"))
    return passed


def figures_table():
    rows = [("drill", "figure", "limit", "result")] + FIGURES
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    table = figures_table()
    terminalreporter.section("drill figures")
    terminalreporter.write(table)
    ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if ephemeral:
        path = pathlib.Path(ephemeral) / "drills.txt"
        path.write_text(table)
        terminalreporter.write_line(f"(also in {path})")


def mask(text):
    """`text` with every test secret replaced by ***, for assertion messages."""
    for secret in SECRETS.values():
        text = text.replace(secret, "***")
    return text


def container(name):
    return docker.from_env().containers.get(name)


def container_ip(name):
    return next(iter(container(name).attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]


def exec_in(name, argv, env=None, timeout=120):
    """Run argv in a container, bounded by `timeout` seconds; secrets go in `env`, never argv.
    Returns (exit code, stdout, stderr)."""
    res = container(name).exec_run(["timeout", str(timeout)] + list(argv), environment=env or {}, demux=True)
    out, err = (b.decode(errors="replace") if b else "" for b in res.output)
    return res.exit_code, out, err


def python_in(name, script, env=None, timeout=120, python="python3"):
    """Run a Python script in a container (the script text is on the command line: no secrets in
    it; they come from `env`)."""
    return exec_in(name, [python, "-c", script], env=env, timeout=timeout)


def inventory():
    return str(pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory")


def ansible_env(**extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".ansible" / "collections"),
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    env.update(extra)
    return env


def run_playbook(*args, inventory_path=None, timeout=900, env=None):
    """ansible-playbook on the scenario's inventory (or another); extra vars go in files (-e @file),
    never on the command line."""
    return subprocess.run(["ansible-playbook", "-i", inventory_path or inventory(), *args],
                          env=env or ansible_env(), capture_output=True, text=True, timeout=timeout, check=False)


def mlflow_url():
    return f"http://{container_ip(MLFLOW)}:5000"


def minio_url():
    return f"http://{container_ip(MINIO)}:9000"


@functools.lru_cache(maxsize=1)
def client_python():
    """The python of the cached MLflow client venv (scripts/client-venv.sh)."""
    return subprocess.run([str(ROOT / "scripts" / "client-venv.sh")], capture_output=True, text=True,
                          check=True, timeout=900).stdout.strip().splitlines()[-1]


def api(method, path, auth=ADMIN, timeout=HTTP_TIMEOUT, **kwargs):
    """One MLflow REST call from the controller."""
    return requests.request(method, mlflow_url() + path, auth=auth, timeout=timeout, **kwargs)


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
