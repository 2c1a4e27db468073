"""The two parts of a scenario's verify that has drills (molecule/stack, molecule/cluster), so that
scripts/test.sh can run the part that times nothing beside other jobs and keep the CPU of the
machine to the drills that time recoveries against limits. Standard library and pytest only.

MLSP_VERIFY_PART=untimed runs the tests without the `timed` mark, =timed only those with it; unset
(or empty), every test runs, in file order, as `molecule verify` always did. A test is `timed`
when a limit it checks is a time or a count of failed requests under load, which another job's
load on the same cores would move (a recovery within 30 s, no request failed during a rotation).
"""
import os

import pytest

PARTS = ("untimed", "timed")
TIMED = pytest.mark.timed


def configure(config):
    """pytest_configure of the scenario: the mark, and the part asked for (checked)."""
    config.addinivalue_line("markers", "timed: a drill that times a recovery or counts failed requests "
                                       "under load (MLSP_VERIFY_PART=timed runs these only)")
    part = part_asked()
    if part and part not in PARTS:
        raise pytest.UsageError(f"MLSP_VERIFY_PART is {part!r}: use one of {', '.join(PARTS)}, or leave it unset for all")


def part_asked():
    return os.environ.get("MLSP_VERIFY_PART", "").strip()


def select(config, items):
    """pytest_collection_modifyitems of the scenario: leave out the other part's tests."""
    part = part_asked()
    if not part:
        return
    keep, drop = [], []
    for item in items:
        (keep if (item.get_closest_marker("timed") is not None) == (part == "timed") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
