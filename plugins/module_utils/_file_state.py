# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to this collection: only the modules of mlsp.mlflow_stack import this file. It is
# not a public API; anything in it may change or go in any release, without deprecation.
# Other collections and your own plugins must not import it.
"""Pure logic of the file_state module: how a path on the host differs from what a task would
make of it. Works on a plain description of the path, so it is unit-tested without a file system."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat


def normalize_mode(mode):
    """'0644', '644', 0o644 or 420 -> 0o644; None stays None. Symbolic modes (u+rw) are refused:
    what they give depends on the mode already there."""
    if mode is None:
        return None
    if isinstance(mode, int):
        return mode & 0o7777
    text = str(mode).strip()
    try:
        return int(text, 8) & 0o7777
    except ValueError:
        raise ValueError("mode %r is not an octal number such as '0644'" % (mode,))


def reasons(wanted, found):
    """What differs between WANTED (dict: state 'file' or 'directory', and optionally owner,
    group, mode, checksum) and FOUND (None when the path does not exist, else a dict: kind
    'file', 'directory' or 'other'; owner, group and uid, gid; mode as an int; checksum of a
    regular file). Returns a list of words, empty when the path is as wanted."""
    if found is None:
        return ["missing"]
    kind = wanted.get("state") or "file"
    if found["kind"] != kind:
        return ["kind"]
    out = []
    if kind == "file" and wanted.get("checksum") is not None:
        if found.get("checksum") != str(wanted["checksum"]).lower():
            out.append("content")
    for key, id_key in (("owner", "uid"), ("group", "gid")):
        want = wanted.get(key)
        if want is None:
            continue
        want = str(want)
        if want != found.get(key) and want != str(found.get(id_key)):
            out.append(key)
    mode = normalize_mode(wanted.get("mode"))
    if mode is not None and mode != found["mode"]:
        out.append("mode")
    return out


def describe(path, digest):
    """What reasons() compares FOUND with, read from PATH (not following a symbolic link), or None
    when it does not exist. DIGEST(path) gives a regular file's checksum. Raises OSError when the
    path cannot be read."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode):
        kind = "file"
    elif stat.S_ISDIR(st.st_mode):
        kind = "directory"
    else:
        kind = "other"
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    found = {"kind": kind, "owner": owner, "group": group, "uid": st.st_uid, "gid": st.st_gid,
             "mode": stat.S_IMODE(st.st_mode)}
    if kind == "file":
        found["checksum"] = digest(path)
    return found


UNIT_PROPERTIES = ("UnitFileState", "ActiveState")


def unit_states(names, output):
    """The state of each systemd unit of NAMES from OUTPUT, what `systemctl show
    --property=UnitFileState,ActiveState NAME...` printed: one block of KEY=VALUE lines a unit,
    in the order given, blocks apart by an empty line. Returns {name: {'enabled': UnitFileState,
    'active': ActiveState}} ('' for a value not printed, as for a unit that does not exist).
    Raises ValueError when the output has another number of blocks than NAMES."""
    blocks = output.strip("\n").split("\n\n") if output.strip() else []
    if len(blocks) != len(names):
        raise ValueError("systemctl printed %d blocks for %d units" % (len(blocks), len(names)))
    states = {}
    for name, block in zip(names, blocks):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        states[name] = {"enabled": values.get("UnitFileState", ""), "active": values.get("ActiveState", "")}
    return states


def units_to_start(states):
    """The units of STATES (unit_states()) that are not both enabled at boot ('enabled', not
    'static', 'masked' or anything else) and active now, in the order given."""
    return [name for name, state in states.items() if (state["enabled"], state["active"]) != ("enabled", "active")]
