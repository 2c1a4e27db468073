"""Fixtures for the minio scenario: the server is reached from the controller at the container's
address (from outside the service), with boto3 and the minio SDK; the collection's modules run on
the container through testinfra's Ansible backend, with the role's admin venv."""
import json
import os
import pathlib
import tempfile
import sys
import time

import boto3
import pytest
import requests
import yaml
from botocore import UNSIGNED
from botocore.config import Config

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "helpers"))
from mlsp_testlib import container_address, container_name, run_tasks  # noqa: E402  pylint: disable=wrong-import-position
from mlsp_testlib import run_playbook as testlib_run_playbook  # noqa: E402  pylint: disable=wrong-import-position

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
ROLE_DEFAULTS = yaml.safe_load((SCENARIO.parents[1] / "roles" / "minio" / "defaults" / "main.yml").read_text())
ADMIN_PYTHON = ROLE_DEFAULTS["minio_admin_venv"] + "/bin/python"
# The modules' login options, as references to the inventory's variables: Ansible fills them in
# on its side, so no secret is on a command line here either.
LOGIN = {
    "login_access_key": "{{ minio_root_user | default('" + ROLE_DEFAULTS["minio_root_user"] + "') }}",
    "login_secret_key": "{{ minio_root_password }}",
}


@pytest.fixture(scope="module")
def hostvars(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def endpoint(host):
    """http://<container address>:9000, as another machine on the network reaches MinIO."""
    return "http://%s:%d" % (container_address(container_name(host.backend.get_hostname())), ROLE_DEFAULTS["minio_api_port"])


def s3_client(endpoint, access_key=None, secret_key=None):
    """A boto3 S3 client; without keys it sends anonymous (unsigned) requests."""
    config = Config(
        signature_version=UNSIGNED if access_key is None else "s3v4",
        s3={"addressing_style": "path"},
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 1},
    )
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name="us-east-1", config=config)


@pytest.fixture(scope="module")
def root_s3(endpoint, hostvars):
    return s3_client(endpoint, hostvars.get("minio_root_user", ROLE_DEFAULTS["minio_root_user"]),
                     hostvars["minio_root_password"])


@pytest.fixture(scope="module")
def mlflow_s3(endpoint, hostvars):
    return s3_client(endpoint, hostvars.get("minio_mlflow_access_key", ROLE_DEFAULTS["minio_mlflow_access_key"]),
                     hostvars["minio_mlflow_secret_key"])


def wait_ready(endpoint, timeout=60):
    """Wait (bounded) until MinIO answers ready; return the last status code."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        try:
            status = requests.get(endpoint + "/minio/health/ready", timeout=3).status_code
            if status == 200:
                return status
        except requests.RequestException:
            pass
        time.sleep(1)
    return status


def main_pid(host):
    return int(host.check_output("systemctl show -p MainPID --value minio"))


def run_playbook(playbook, extra_vars=None, tags=None, timeout=600):
    """Run a playbook (a path, or a list of plays) on the scenario's inventory through
    mlsp_testlib.run_playbook (the json callback, extra vars in a 0600 file). Returns (returncode,
    parsed output)."""
    with tempfile.TemporaryDirectory() as tmp:
        book = playbook
        if not isinstance(playbook, pathlib.Path):
            book = pathlib.Path(tmp) / "playbook.yml"
            book.write_text(json.dumps(playbook))  # JSON is YAML
        run = testlib_run_playbook(book, os.environ["MOLECULE_INVENTORY_FILE"], *(["--tags", tags] if tags else []),
                                   extra_vars=extra_vars, timeout=timeout)
    return run.returncode, run.doc


@pytest.fixture(scope="module")
def modules(host):
    """Run the collection's modules on the container as the role does (admin venv, local
    endpoint, root login), several in one playbook run (an Ansible run costs seconds):
    modules([(name, args, {"check": True, "diff": True}), ...]) -> their results, in order.
    A step that fails does not stop the next; its result has failed: true."""
    target = host.backend.get_hostname()

    def run(steps):
        tasks = []
        for step in steps:
            name, args = step[0], step[1]
            opts = step[2] if len(step) > 2 else {}
            tasks.append({
                "mlsp.mlflow_stack." + name: dict(LOGIN, **args),
                "check_mode": bool(opts.get("check")),
                "diff": bool(opts.get("diff")),
            })
        return run_tasks(os.environ["MOLECULE_INVENTORY_FILE"], target, tasks,
                         play_vars={"ansible_python_interpreter": ADMIN_PYTHON})
    return run


@pytest.fixture(scope="module")
def module(modules):
    """One module run: module(name, args, check=False, diff=False) -> its result."""
    def run(name, args, check=False, diff=False):
        return modules([(name, args, {"check": check, "diff": diff})])[0]
    return run


def run_converge(extra_vars, tags=None, timeout=600):
    """The scenario's converge playbook with extra vars: (returncode, parsed output)."""
    return run_playbook(SCENARIO / "converge.yml", extra_vars, tags, timeout)
