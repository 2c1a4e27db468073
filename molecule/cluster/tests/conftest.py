"""Fixtures of the cluster scenario's tests, and the drill table printed at the end.

test_1_*.py use the platform as its users do and look at what they rely on; the drills
(test_2_*.py) disturb it under load and run after them. Every drill records its figures through
clusterlib.check/note; `pytest_terminal_summary` prints them as one table and writes it to
$MOLECULE_EPHEMERAL_DIRECTORY/drills.txt. MLSP_DRILLS=0 skips the drills.
"""
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "helpers"))

from clusterlib import RUN, api, create_user, ok  # noqa: E402  pylint: disable=wrong-import-position
from drill_figures import terminal_summary  # noqa: E402  pylint: disable=wrong-import-position
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
def loader():
    """A non-admin user with an experiment of its own, for the load of the drills:
    (auth, experiment id)."""
    auth = create_user(f"load-{RUN}")
    experiment = ok(api("POST", "/api/2.0/mlflow/experiments/create", auth=auth,
                        json={"name": f"load-{RUN}"}))["experiment_id"]
    return auth, experiment
