# -*- coding: utf-8 -*-
"""The comparison behind the file_state module, without a file system."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pathlib
import sys

import pytest

try:
    import ansible_collections.mlsp.mlflow_stack  # noqa: F401  pylint: disable=unused-import
except ImportError:
    # Run from the working tree: scripts/lib.sh's link_collection links it under .ansible/.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4] / '.ansible' / 'collections'))

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._file_state import (  # noqa: E402
    normalize_mode, reasons, unit_states, units_to_start)

FILE = {"kind": "file", "owner": "root", "group": "minio", "uid": 0, "gid": 996, "mode": 0o640,
        "checksum": "a" * 40}
DIR = {"kind": "directory", "owner": "minio", "group": "minio", "uid": 996, "gid": 996, "mode": 0o750}


@pytest.mark.parametrize("mode, expected", [("0644", 0o644), ("644", 0o644), ("0750", 0o750),
                                            (0o600, 0o600), ("02750", 0o2750), (None, None)])
def test_normalize_mode(mode, expected):
    assert normalize_mode(mode) == expected


@pytest.mark.parametrize("mode", ["u+rw", "rw-r--r--", "0899", ""])
def test_normalize_mode_refuses_what_is_not_octal(mode):
    with pytest.raises(ValueError, match="octal"):
        normalize_mode(mode)


def test_as_wanted():
    wanted = {"state": "file", "owner": "root", "group": "minio", "mode": "0640", "checksum": "A" * 40}
    assert reasons(wanted, FILE) == []


def test_missing_and_kind():
    assert reasons({"state": "file"}, None) == ["missing"]
    assert reasons({"state": "directory"}, FILE) == ["kind"]
    assert reasons({"state": "file"}, DIR) == ["kind"]
    assert reasons({"state": "file"}, dict(FILE, kind="other")) == ["kind"]


def test_every_difference_is_named():
    wanted = {"state": "file", "owner": "minio", "group": "root", "mode": "0600", "checksum": "b" * 40}
    assert reasons(wanted, FILE) == ["content", "owner", "group", "mode"]


def test_ids_match_too():
    assert reasons({"state": "directory", "owner": "996", "group": "996", "mode": "750"}, DIR) == []


def test_what_is_left_out_is_not_compared():
    assert reasons({"state": "file"}, dict(FILE, mode=0o777, owner="nobody")) == []
    # A folder has no content to compare, whatever checksum is given.
    assert reasons({"state": "directory", "checksum": "c" * 40}, DIR) == []


# --- units -----------------------------------------------------------------------------------

SHOW = (
    "UnitFileState=enabled\nActiveState=active\n\n"
    "UnitFileState=disabled\nActiveState=active\n\n"
    "UnitFileState=\nActiveState=inactive\n"
)


def test_unit_states_in_the_order_given():
    states = unit_states(["a.service", "b.service", "gone.service"], SHOW)
    assert states == {
        "a.service": {"enabled": "enabled", "active": "active"},
        "b.service": {"enabled": "disabled", "active": "active"},
        "gone.service": {"enabled": "", "active": "inactive"},
    }
    assert units_to_start(states) == ["b.service", "gone.service"]


@pytest.mark.parametrize("enabled, active", [
    ("static", "active"), ("masked", "inactive"), ("enabled", "failed"), ("enabled", "activating"),
    ("enabled-runtime", "active"), ("", ""),
])
def test_a_unit_not_enabled_and_active_is_to_start(enabled, active):
    states = unit_states(["x.service"], "UnitFileState=%s\nActiveState=%s\n" % (enabled, active))
    assert units_to_start(states) == ["x.service"]


def test_unit_states_refuses_output_that_does_not_match():
    with pytest.raises(ValueError, match="2 blocks for 1 units"):
        unit_states(["a.service"], SHOW.rsplit("\n\n", 1)[0])
    with pytest.raises(ValueError, match="0 blocks for 1 units"):
        unit_states(["a.service"], "")
