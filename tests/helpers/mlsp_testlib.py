"""Helpers shared by the Molecule scenarios' tests (molecule/*/tests) and the benchmarks (bench/):
the name and address of a test container, a command run in one, the collection path the working tree
links, ansible-playbook with its JSON output parsed, and the check that PostgreSQL stores passwords as
SCRAM secrets.

Each scenario's conftest.py (and each bench script) puts this folder on sys.path. It needs the
standard library only: the benchmarks run it with the MLflow client venv's python.
"""
import json
import os
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Where scripts/lib.sh (link_collection) links the working tree as mlsp.mlflow_stack.
COLLECTIONS_PATH = ROOT / ".ansible" / "collections"


def run_id():
    """The run id that the test containers' names carry: MLSP_RUN_ID (scripts/lib.sh sets it per
    checkout; molecule.yml and Molecule's own environment default it to `local`)."""
    return os.environ.get("MLSP_RUN_ID") or "local"


def container_name(platform):
    """The Docker container of the scenario host named `platform` in molecule.yml:
    `<platform>-<run id>`, as every scenario names its containers."""
    return f"{platform}-{run_id()}"


def container_address(name):
    """The address of container `name` on its network, as the controller reaches it."""
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name],
        capture_output=True, text=True, check=True, timeout=60).stdout.split()
    if not out:
        raise RuntimeError(f"container {name} has no address")
    return out[0]


def exec_in(name, argv, env=None, timeout=120):
    """Run argv as root in container `name`, bounded by `timeout` seconds inside it (exit code 124
    then) and outside it: (exit code, stdout, stderr). The values of `env` reach the command through
    the docker client's environment (`docker exec -e NAME`), never an argv. A container that is not
    running gives the docker client's exit code (1) and its message on stderr.

    The docker client, not the Docker SDK's exec_run: under load, exec_run gave back an empty
    stdout with exit code 0 for a command that had printed (docker/docker-py#2042 and #3332); the
    cluster scenario's cold run of 525384f failed on a `grep` that matched."""
    env = {key: str(value) for key, value in (env or {}).items()}
    command = ["docker", "exec"]
    for key in env:
        command += ["-e", key]
    command += [name, "timeout", str(timeout)] + [str(arg) for arg in argv]
    proc = subprocess.run(command, capture_output=True, env=dict(os.environ, **env), timeout=timeout + 60,
                          check=False)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def ansible_env(**extra):
    """The environment for ansible-playbook from a test: this working tree's collection, no colour,
    and the ansible.posix.json callback (parsed by `ansible_json`)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    env.update(extra)
    return env


def ansible_json(stdout):
    """The JSON document that the ansible.posix.json callback prints at the end of a run (at -v and
    more, Ansible's verbose lines come before it). Raises AssertionError when there is none."""
    start = 0 if stdout.startswith("{\n") else stdout.rfind("\n{\n") + 1
    try:
        return json.loads(stdout[start:])
    except ValueError:
        raise AssertionError(f"ansible-playbook printed no JSON document:\n{stdout[-3000:]}") from None


class PlaybookRun:
    """An ansible-playbook run: returncode, stdout, stderr, and its JSON document (`doc`)."""

    def __init__(self, proc):
        self.returncode, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.doc = ansible_json(proc.stdout)

    @property
    def output(self):
        return self.stdout + self.stderr

    @property
    def stats(self):
        """{host: {"ok", "changed", "failures", "unreachable", ...}} of the play recap."""
        return self.doc["stats"]

    @property
    def plays(self):
        """The names of the plays that ran (a play ran when it started any task)."""
        return [play["play"]["name"] for play in self.doc["plays"] if play["tasks"]]

    def results(self):
        """(play, task, host, result) of every task result, in order."""
        for play in self.doc["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    yield play["play"]["name"], task["task"]["name"], host, result

    def failures(self):
        """The messages of the failed task results (of each failed item of a loop too), each on
        one line."""
        return [" ".join(str(msg).split()) for _play, _task, _host, result in self.results()
                if result.get("failed") for msg in _messages(result)]


def _messages(result):
    messages = [result["msg"]] if "msg" in result else []
    messages += result.get("argument_errors", [])
    for item in result.get("results", []):
        if isinstance(item, dict) and item.get("failed"):
            messages += _messages(item)
    return messages or [result]


def run_playbook(playbook, inventory, *args, extra_vars=None, timeout=900, env=None):
    """ansible-playbook PLAYBOOK on INVENTORY with the JSON callback; returns a PlaybookRun. Extra
    variables go in a 0600 file (-e @file), never on the command line (no secret in an argv)."""
    with tempfile.TemporaryDirectory(prefix="mlsp-test-") as tmp:
        argv = ["ansible-playbook", "-i", str(inventory), str(playbook), *args]
        if extra_vars is not None:
            path = pathlib.Path(tmp) / "extra-vars.json"
            path.touch(mode=0o600)
            path.write_text(json.dumps(extra_vars))
            argv += ["-e", f"@{path}"]
        proc = subprocess.run(argv, env=env or ansible_env(), capture_output=True, text=True, timeout=timeout,
                              check=False)
    return PlaybookRun(proc)


def run_tasks(inventory, target, tasks, play_vars=None, timeout=900):
    """Run TASKS in order, in one ansible-playbook run on host TARGET of INVENTORY (an Ansible run
    costs seconds: a test that calls several modules makes one run, not one a call), and return
    each task's result, in order. A task that fails does not stop the next (each is `step N` with
    ignore_errors): its result has failed: true. PLAY_VARS become the play's vars."""
    play = {"hosts": target, "gather_facts": False,
            "tasks": [dict(task, name=f"step {i}", ignore_errors=True) for i, task in enumerate(tasks)]}
    if play_vars:
        play["vars"] = play_vars
    with tempfile.TemporaryDirectory(prefix="mlsp-steps-") as tmp:
        book = pathlib.Path(tmp) / "steps.yml"
        book.write_text(json.dumps([play]))  # JSON is YAML
        run = run_playbook(book, inventory, timeout=timeout)
    results = [task["hosts"][target] for play_doc in run.doc["plays"] for task in play_doc["tasks"]]
    if len(results) != len(tasks):
        raise AssertionError(f"{len(results)} results for {len(tasks)} tasks:\n{run.output[-3000:]}")
    return results


def scram_query(roles):
    """SQL that lists `name secret` of each of `roles` (run as a superuser)."""
    names = ", ".join(f"'{role}'" for role in roles)
    return f"SELECT rolname || ' ' || rolpassword FROM pg_authid WHERE rolname IN ({names})"


def assert_scram_secrets(rows, roles):
    """`rows` (the output of scram_query) holds one SCRAM-SHA-256 secret for each of `roles`."""
    secrets = dict(row.split(" ", 1) for row in rows.splitlines() if row.strip())
    assert set(secrets) == set(roles), f"roles with a password: {sorted(secrets)}, expected {sorted(roles)}"
    plain = sorted(name for name, secret in secrets.items() if not secret.startswith("SCRAM-SHA-256$4096:"))
    assert not plain, f"not stored as SCRAM secrets: {plain}"
