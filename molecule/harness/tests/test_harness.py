"""The base images boot systemd as PID 1 and can be managed by Ansible."""


def test_systemd_is_pid1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_system_is_running(host):
    cmd = host.run("systemctl is-system-running")
    failed = host.run("systemctl --failed --no-legend --plain").stdout
    assert cmd.stdout.strip() == "running", f"failed units:\n{failed}"


def test_python3_present(host):
    cmd = host.run("python3 -c 'import sys; print(sys.version_info[0])'")
    assert cmd.rc == 0
    assert cmd.stdout.strip() == "3"


def test_distribution_matches_name(host):
    expected = host.backend.get_hostname()[-2:]
    assert host.system_info.distribution == "debian"
    assert host.system_info.release.split(".")[0] == expected


def test_services_can_be_managed(host):
    # dbus answers, so systemctl can start and stop units (the roles rely on it).
    assert host.run("systemctl start systemd-tmpfiles-clean.service").rc == 0
    assert host.service("dbus").is_running
