"""The role itself, run again with other settings: the preflight refuses bad ones before anything
changes, and the install methods replace the binary (and restart MinIO) only when its checksum
changes. The host ends as converge left it."""
import json
import uuid

import pytest
from conftest import ROLE_DEFAULTS, main_pid, run_converge, run_playbook, wait_ready

BINARY = ROLE_DEFAULTS["minio_binary_path"]
MIRROR_DIR = "/srv/mlsp-test-mirror"
MIRROR_URL = "http://127.0.0.1:8765"


def failure_messages(output):
    """Every failure message in a json-callback output, loop items included."""
    messages = []
    for play in output["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                for item in [result] + result.get("results", []):
                    if item.get("failed") and item.get("msg"):
                        messages.append(item["msg"])
    return messages


def task_result(output, name_part):
    """The result of the one task whose name contains name_part (None if it did not run)."""
    found = [result for play in output["plays"] for task in play["tasks"]
             for result in task["hosts"].values() if name_part in task["task"]["name"]]
    assert len(found) <= 1, name_part
    return found[0] if found else None


def changed_tasks(output):
    return [task["task"]["name"] for play in output["plays"] for task in play["tasks"]
            if any(r.get("changed") for r in task["hosts"].values())]


def sha256(host, path):
    return host.check_output("sha256sum %s" % path).split()[0]


def state(host):
    """What a run must not touch when it fails early: the binary, the config, the process."""
    return {
        "binary": sha256(host, BINARY),
        "env": host.check_output("stat -c '%%Y %%s' %s" % ROLE_DEFAULTS["minio_env_file"]),
        "unit": host.check_output("stat -c '%Y %s' /etc/systemd/system/minio.service"),
        "pid": main_pid(host),
    }


PREFLIGHT_CASES = {
    "placeholder root password": ({"minio_root_password": "change_me"}, "minio_root_password"),
    "short root password": ({"minio_root_password": "Short-pw-1"}, "minio_root_password"),
    "short root user": ({"minio_root_user": "ab"}, "minio_root_user"),
    "mlflow user is root": ({"minio_mlflow_secret_key": "{{ minio_root_password }}"}, "minio_mlflow_secret_key"),
    "invalid mlflow bucket": ({"minio_mlflow_bucket": "MLflow_Artifacts"}, "minio_mlflow_bucket"),
    "invalid extra bucket": ({"minio_buckets": [{"name": "bad..name"}]}, "minio_buckets"),
    "extra bucket like an IP": ({"minio_buckets": [{"name": "10.20.30.40"}]}, "minio_buckets"),
    "url without sha256": ({"minio_install_method": "url", "minio_url": MIRROR_URL + "/minio"}, "minio_url_sha256"),
    "local without binary": ({"minio_install_method": "local"}, "minio_local_binary"),
    "unknown method": ({"minio_install_method": "apt"}, "minio_install_method"),
}


@pytest.fixture(scope="module")
def preflight(host):
    """Every case in one playbook run (a run costs seconds): the whole role, included with the
    case's settings, in a block whose rescue records the failure. Returns
    ({case: failed result}, changed task names, state before, state after)."""
    target = host.backend.get_hostname()
    tasks = []
    for case, (case_vars, _variable) in sorted(PREFLIGHT_CASES.items()):
        tasks.append({"name": case, "block": [
            {"name": "Run the role (%s)" % case,
             "ansible.builtin.include_role": {"name": "mlsp.mlflow_stack.minio"}, "vars": case_vars},
            {"name": "Not reached (%s)" % case, "ansible.builtin.set_fact": {"__reached": True}},
        ], "rescue": [
            {"name": "Record (%s)" % case, "ansible.builtin.set_fact": {
                "__cases": "{{ __cases | default({}) | combine({%r: ansible_failed_result}) }}" % case}},
        ]})
    tasks.append({"name": "Report", "ansible.builtin.debug": {"var": "__cases"}})
    before = state(host)
    returncode, output = run_playbook([{"hosts": target, "gather_facts": True, "tasks": tasks}])
    assert returncode == 0, failure_messages(output)
    report = [t for t in output["plays"][0]["tasks"] if t["task"]["name"] == "Report"][0]
    assert "__reached" not in json.dumps(output)
    changed = [name for name in changed_tasks(output) if not name.startswith("Record (")]
    return report["hosts"][target]["__cases"], changed, before, state(host)


@pytest.mark.parametrize("case", sorted(PREFLIGHT_CASES))
def test_preflight_refuses_naming_the_variable(preflight, case):
    results, _changed, _before, _after = preflight
    variable = PREFLIGHT_CASES[case][1]
    messages = [item.get("msg", "") for item in [results[case]] + results[case].get("results", [])]
    assert any(variable in m for m in messages), messages


def test_preflight_fails_before_any_change(preflight):
    _results, changed, before, after = preflight
    assert changed == []
    assert after == before


@pytest.fixture(scope="module")
def mirror(host):
    """A web server on the container's loopback serving a copy of the installed binary (the
    tests' stand-in for a mirror), and a rebuilt-looking variant with other bytes."""
    host.run_expect([0], "mkdir -p %s && cp %s %s/minio && cp %s %s/minio-other && printf mlsp-test >> %s/minio-other"
                    % (MIRROR_DIR, BINARY, MIRROR_DIR, BINARY, MIRROR_DIR, MIRROR_DIR))
    host.run_expect([0], "systemd-run --unit=mlsp-test-mirror python3 -m http.server 8765 --bind 127.0.0.1 "
                    "--directory %s" % MIRROR_DIR)
    host.run_expect([0], "for i in $(seq 50); do python3 -c \"import urllib.request as u; "
                    "u.urlopen('%s/minio', timeout=2)\" 2>/dev/null && exit 0; sleep 0.2; done; exit 1" % MIRROR_URL)
    yield {"same": sha256(host, MIRROR_DIR + "/minio"), "other": sha256(host, MIRROR_DIR + "/minio-other")}
    host.run("systemctl stop mlsp-test-mirror")
    host.run("rm -rf %s" % MIRROR_DIR)


INSTALL_TAGS = "minio_install,minio_run"


def test_url_method_with_the_same_binary_changes_nothing(host, mirror):
    pid = main_pid(host)
    returncode, output = run_converge({"minio_install_method": "url", "minio_url": MIRROR_URL + "/minio",
                                       "minio_url_sha256": mirror["same"]}, tags=INSTALL_TAGS)
    assert returncode == 0, failure_messages(output)
    assert task_result(output, "Download the MinIO binary")["changed"] is False
    assert changed_tasks(output) == []
    assert main_pid(host) == pid


def test_url_method_refuses_a_wrong_checksum(host, mirror):
    # The declared checksum is neither the installed binary's nor the served file's.
    before = state(host)
    returncode, output = run_converge({"minio_install_method": "url", "minio_url": MIRROR_URL + "/minio",
                                       "minio_url_sha256": mirror["other"]}, tags=INSTALL_TAGS)
    assert returncode != 0
    assert task_result(output, "Download the MinIO binary")["failed"]
    assert any("checksum" in m.lower() for m in failure_messages(output)), failure_messages(output)
    assert state(host) == before


def test_new_binary_is_installed_and_restarts_minio_then_local_puts_the_build_back(host, endpoint, root_s3, mirror):
    key = "install/%s.txt" % uuid.uuid4()
    root_s3.put_object(Bucket="mlflow", Key=key, Body=b"kept across binaries")
    pid = main_pid(host)

    # url: another binary (other checksum) replaces the installed one and restarts MinIO
    returncode, output = run_converge({"minio_install_method": "url", "minio_url": MIRROR_URL + "/minio-other",
                                       "minio_url_sha256": mirror["other"]}, tags=INSTALL_TAGS)
    assert returncode == 0, failure_messages(output)
    assert task_result(output, "Download the MinIO binary")["changed"] is True
    assert sha256(host, BINARY) == mirror["other"]
    new_pid = main_pid(host)
    assert new_pid not in (0, pid)
    assert wait_ready(endpoint, timeout=5) == 200  # the role waited for it

    # local: the controller's cached build goes back in place, and MinIO restarts again
    cached = "{{ minio_build_cache_dir }}/{{ minio_release }}-{{ minio_commit }}-linux-{{ minio_build_goarch }}/minio"
    returncode, output = run_converge({"minio_install_method": "local", "minio_local_binary": cached},
                                      tags=INSTALL_TAGS)
    assert returncode == 0, failure_messages(output)
    assert task_result(output, "Install the MinIO binary from the controller")["changed"] is True
    assert sha256(host, BINARY) == mirror["same"]
    assert main_pid(host) not in (0, new_pid)
    assert root_s3.get_object(Bucket="mlflow", Key=key)["Body"].read() == b"kept across binaries"
    root_s3.delete_object(Bucket="mlflow", Key=key)


def test_role_fails_with_minio_log_when_minio_does_not_come_up(host, endpoint, hostvars):
    # A setting MinIO refuses (a root user too short, slipped past the preflight through
    # minio_extra_env): the role restarts it, waits (bounded) and fails with MinIO's own words.
    returncode, output = run_converge({"minio_extra_env": {"MINIO_ROOT_USER": "x"}, "minio_health_timeout": 10},
                                      tags="minio_configure,minio_run")
    assert returncode != 0
    messages = " ".join(failure_messages(output))
    assert "did not answer 200" in messages and "minio_health_timeout (10 s)" in messages, messages
    assert "MINIO_ROOT_USER length should be at least 3" in messages, messages
    assert hostvars["minio_root_password"] not in messages
    assert wait_ready(endpoint, timeout=3) != 200

    # Back to the converged settings: the environment file changes again, MinIO restarts, ready.
    returncode, output = run_converge({}, tags="minio_configure,minio_run")
    assert returncode == 0, failure_messages(output)
    assert wait_ready(endpoint, timeout=5) == 200
