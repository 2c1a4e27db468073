"""Fixtures of the stack scenario's tests, and the drill table printed at the end.

The tests: test_1_*.py use the stack as its users do; the drills (test_2_* to test_8_*, one file
a kind) disturb it and therefore run after them (pytest runs the files in name order). Every drill
records its figures through stacklib.check/note; `pytest_terminal_summary` prints them as one table
at the end of the verifier's output and writes it to $MOLECULE_EPHEMERAL_DIRECTORY/drills.txt.
Molecule wraps its output at 80 columns without a terminal: the drills keep their labels short so
that a row fits in 76. MLSP_DRILLS=0 skips the drills.
"""
import json
import os
import pathlib
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "helpers"))

import bad_input_cases  # noqa: E402  pylint: disable=wrong-import-position
from drill_figures import terminal_summary  # noqa: E402  pylint: disable=wrong-import-position
from stacklib import (HOSTS, RUN, SITE, Client, Sampler, create_user, probe,  # noqa: E402  pylint: disable=wrong-import-position
                      run_playbook, secret_env)
import verify_parts  # noqa: E402  pylint: disable=wrong-import-position

DRILLS_OFF = os.environ.get("MLSP_DRILLS", "1").lower() in ("0", "false", "no", "off")


def pytest_configure(config):
    verify_parts.configure(config)


def pytest_collection_modifyitems(config, items):
    verify_parts.select(config, items)
    for item in items:
        if not item.path.name.startswith("test_1_") and DRILLS_OFF:
            item.add_marker(pytest.mark.skip(reason="MLSP_DRILLS is off"))


def pytest_terminal_summary(terminalreporter):
    terminal_summary(terminalreporter)


@pytest.fixture(scope="session")
def writer():
    """A non-admin user with an experiment of its own, where the fault drills write their marker
    runs: (Client, experiment id)."""
    client = Client(create_user(f"drill-writer-{RUN}"))
    return client, client.experiment(f"drills-{RUN}")


@pytest.fixture(scope="session")
def reader():
    """A user with MLflow's default permission only (READ): (name, password)."""
    return create_user(f"drill-reader-{RUN}")


@pytest.fixture(scope="session")
def secret_scan():
    """Files and process environments on every host that hold one of the secrets: {host: {"files":
    [...], "environ": [...]}} (probes/secret_scan.py). Taken when no Ansible run is under way:
    while Ansible runs a module, its arguments are in a root-only file under /root/.ansible/tmp."""
    scans = {}
    for host in HOSTS:
        rc, out, err = probe(host, "secret_scan.py", "files", env=secret_env(), timeout=300)
        assert rc == 0, err
        scans[host] = json.loads(out)
    return scans


@pytest.fixture(scope="session")
def vvv_run(secret_scan):  # pylint: disable=unused-argument,redefined-outer-name
    """A real site.yml run at -vvv, with the argv sampler running during it: (run, seconds,
    sampler). It needs the file scan done first: while Ansible runs a module, its arguments are in
    a file on the host that the scan would find."""
    sampler = Sampler(limit=1800)
    sampler.start()
    start = time.monotonic()
    try:
        run = run_playbook(SITE, "-vvv", timeout=1500)
    finally:
        sampler.stop.set()
        sampler.join(timeout=120)
    return run, round(time.monotonic() - start), sampler


@pytest.fixture(scope="session")
def bad_input_results():
    """Every bad-input case run (bad_input_cases.py): {"cases": {name: {"run", "seconds",
    "changed"}}, "seconds": all of them, "after": what differs on the hosts after all of them}."""
    cases, seconds, after = bad_input_cases.run_all()
    return {"cases": cases, "seconds": seconds, "after": after}
