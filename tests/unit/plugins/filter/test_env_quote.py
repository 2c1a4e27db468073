# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env_quote and env_unquote filters (the one quoting of the collection's environment files),
checked against a shell that reads the file back; then the minio role's environment file that
uses them, rendered by Ansible itself (ansible-playbook, local connection, made-up hosts):
MINIO_VOLUMES for one drive, several drives, and several hosts with several drives each; values
quoted for systemd; the cluster preflight."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
TEMPLATE = os.path.join(ROOT, "roles", "minio", "templates", "minio.env.j2")
SECRETS = {"minio_root_password": "Unit-test-root-9a8b7c", "minio_mlflow_secret_key": "Unit-test-mlflow-1d2e3f"}

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="needs ansible-playbook")


def _collections_path():
    """A folder where mlsp.mlflow_stack resolves to this working tree."""
    tree = os.path.join(tempfile.gettempdir(), "mlsp-unit-%s" % hashlib.sha256(ROOT.encode()).hexdigest()[:12])
    link = os.path.join(tree, "ansible_collections", "mlsp", "mlflow_stack")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return tree


sys.path.insert(0, _collections_path())
from ansible_collections.mlsp.mlflow_stack.plugins.filter.env_file import (  # noqa: E402
    FilterModule, env_quote, env_unquote)

# Values that a careless quoting gets wrong: each escaped character, a backslash before a
# character that systemd does not un-escape, shell syntax, blanks at the ends, non-ASCII.
TRICKY = [
    "", "plain", 'Tricky "pass" $HOME `id` back\\slash 1a', "\\k \\n \\$ \\\\", "ends with \\",
    "$(id) ${HOME} '$1' ;&|<>(){}[]^~!*+,-./:=?@_#%", "  blanks  ", "Grüße €", "a\"b", "``",
]


def test_quoted_values():
    assert env_quote("plain") == '"plain"'
    assert env_quote('a"b$c`d\\e') == '"a\\"b\\$c\\`d\\\\e"'
    assert env_quote(5000) == '"5000"'
    assert env_quote("Grüße") == '"Grüße"'


@pytest.mark.parametrize("value", TRICKY)
def test_unquote_is_the_inverse(value):
    assert env_unquote(env_quote(value)) == value
    assert env_unquote("  " + env_quote(value) + "\n") == value


def test_unquote_keeps_other_backslashes_and_bare_values():
    assert env_unquote('"a\\kb"') == "a\\kb"
    assert env_unquote("bare") == "bare"
    assert env_unquote('"') == '"'


def test_filters_are_registered_under_their_names():
    assert FilterModule().filters() == {"env_quote": env_quote, "env_unquote": env_unquote}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_a_shell_reads_the_values_back(tmp_path):
    """The same double-quote rules as systemd's EnvironmentFile= (backslash before \\ " $ `)."""
    env_file = tmp_path / "test.env"
    env_file.write_text("".join("V%d=%s\n" % (i, env_quote(v)) for i, v in enumerate(TRICKY)), encoding="utf-8")
    script = 'set -a; . "$1"; for i in $(seq 0 %d); do n="V$i"; printf "%%s\\0" "${!n}"; done' % (len(TRICKY) - 1)
    proc = subprocess.run(["bash", "-c", script, "bash", str(env_file)], capture_output=True, check=True,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}, timeout=30)
    assert proc.stdout.decode("utf-8").split("\0")[:-1] == TRICKY


def render(tmp_path, hosts, group_vars):
    """Run the role's preflight, then render minio.env.j2 for every host; return
    (returncode, {host: {name: value}}, output). Values are unquoted as systemd does."""
    inventory = {"all": {"children": {"minio_cluster": {
        "hosts": hosts,
        "vars": dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                     **dict(SECRETS, **group_vars)),
    }}}}
    playbook = [{
        "hosts": "minio_cluster", "gather_facts": False,
        "tasks": [
            {"name": "Preflight", "ansible.builtin.include_role": {
                "name": "mlsp.mlflow_stack.minio", "tasks_from": "preflight", "public": True}},
            {"name": "Render", "ansible.builtin.template": {
                "src": TEMPLATE, "dest": str(tmp_path / "{{ inventory_hostname }}.env"), "mode": "0600"}},
        ],
    }]
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "playbook.yml").write_text(yaml.safe_dump(playbook))
    (tmp_path / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = false\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_path(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "playbook.yml"),
         "-e", "minio_install_method=local", "-e", "minio_local_binary=" + TEMPLATE,
         # The drives are paths on the controller, not mounted disks: the mount check is the
         # preflight's, tested in the cluster scenario.
         "-e", "minio_drives_share_filesystem=true"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    rendered = {}
    for host in hosts:
        path = tmp_path / ("%s.env" % host)
        if path.exists():
            rendered[host] = parse_env_file(path.read_text())
    return proc.returncode, rendered, proc.stdout + proc.stderr


def parse_env_file(text):
    """NAME="value" lines, each value double-quoted and read back with env_unquote."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, raw = line.split("=", 1)
        assert raw.startswith('"') and raw.endswith('"') and env_quote(env_unquote(raw)) == raw, line
        values[name] = env_unquote(raw)
    return values


PASSWORD = 'Tricky "pass" $HOME `id` back\\slash 1a'
SERVERS = {
    "single": {},
    "multi": {"minio_data_dirs": ["/mnt/disk1/minio", "/mnt/disk2/minio"], "minio_listen_address": "10.0.0.5",
              "minio_extra_env": {"MINIO_BROWSER": "off"}},
    # The console on the listen address (minio_console_address ""), not on 127.0.0.1.
    "quoted": {"minio_root_password": PASSWORD, "minio_listen_address": "fd00::5", "minio_console_address": ""},
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Three servers of their own (no cluster group), rendered in one run."""
    rc, env, out = render(tmp_path_factory.mktemp("servers"), SERVERS, {})
    assert rc == 0, out
    return env


def test_one_drive(servers):
    assert servers["single"]["MINIO_VOLUMES"] == "/var/lib/minio/data"
    assert servers["single"]["MINIO_ADDRESS"] == ":9000"
    assert servers["single"]["MINIO_CONSOLE_ADDRESS"] == "127.0.0.1:9001"  # the console is local by default
    assert servers["single"]["MINIO_ROOT_USER"] == "mlsp-admin"


def test_several_drives_and_extra_settings(servers):
    assert servers["multi"]["MINIO_VOLUMES"] == "/mnt/disk1/minio /mnt/disk2/minio"
    assert servers["multi"]["MINIO_ADDRESS"] == "10.0.0.5:9000"
    assert servers["multi"]["MINIO_CONSOLE_ADDRESS"] == "127.0.0.1:9001"
    assert servers["multi"]["MINIO_BROWSER"] == "off"


def test_ipv6_listen_address(servers):
    assert servers["quoted"]["MINIO_ADDRESS"] == "[fd00::5]:9000"
    assert servers["quoted"]["MINIO_CONSOLE_ADDRESS"] == "[fd00::5]:9001"


def test_secrets_are_quoted_for_systemd(servers):
    assert servers["quoted"]["MINIO_ROOT_PASSWORD"] == PASSWORD
    assert servers["single"]["MINIO_ROOT_PASSWORD"] == SECRETS["minio_root_password"]


def test_several_hosts_with_several_drives(tmp_path):
    drives = ["/mnt/disk1/minio", "/mnt/disk2/minio"]
    hosts = {
        "minio1": {"minio_data_dirs": drives},
        "minio2": {"minio_data_dirs": drives, "minio_cluster_address": "minio2.storage.internal"},
        "minio3": {},  # takes the group's drives
    }
    rc, env, out = render(tmp_path, hosts, {"minio_cluster_group": "minio_cluster", "minio_data_dirs": drives})
    assert rc == 0, out
    expected = " ".join([
        "http://minio1:9000/mnt/disk1/minio", "http://minio1:9000/mnt/disk2/minio",
        "http://minio2.storage.internal:9000/mnt/disk1/minio", "http://minio2.storage.internal:9000/mnt/disk2/minio",
        "http://minio3:9000/mnt/disk1/minio", "http://minio3:9000/mnt/disk2/minio",
    ])
    assert {host: values["MINIO_VOLUMES"] for host, values in env.items()} == dict.fromkeys(hosts, expected)


def test_cluster_hosts_must_have_as_many_drives(tmp_path):
    hosts = {"minio1": {"minio_data_dirs": ["/mnt/a", "/mnt/b"]}, "minio2": {"minio_data_dirs": ["/mnt/a"]}}
    rc, env, out = render(tmp_path, hosts, {"minio_cluster_group": "minio_cluster"})
    assert rc != 0 and env == {}
    messages = json.dumps(json.loads(out[:out.rindex("}") + 1]))
    assert "minio_cluster_group is 'minio_cluster'" in messages and "same number of minio_data_dirs" in messages
