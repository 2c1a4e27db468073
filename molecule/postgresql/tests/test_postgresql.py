"""The postgresql role, seen from a client and from the host: the cluster runs under the hardened
unit with the derived settings, pg_hba lets in the listed user from the listed addresses only,
passwords are SCRAM secrets, data survives a restart, a bad inventory is refused before anything
changes, and converging again with a new password or new settings reloads or restarts as needed.

The tests at the end converge again (from the controller) and put the inventory back at the end;
they run in file order."""
import json
import os
import pathlib
import subprocess
import tempfile
import time
import uuid

import pytest
from mlsp_testlib import assert_scram_secrets, scram_query

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
PASSWORD = "Mlsp-Test-7vQ2kX9pLm4R"  # molecule.yml: mlsp_test_mlflow_password
NEW_PASSWORD = "Mlsp-Test-Rotated-3hW8qZ"
REPORTING_PASSWORD = "Mlsp-Test-Rp3nW8zT5c"
EXPECTED_MAJOR = {"12": "15", "13": "17"}


def converge(**extra_vars):
    """Run the scenario's converge playbook again, with extra vars; returns (rc, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(extra_vars, f)
    try:
        proc = subprocess.run(
            ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
             str(SCENARIO / "converge.yml"), "-e", "@" + f.name],
            capture_output=True, text=True, timeout=600, check=False,
        )
    finally:
        os.unlink(f.name)
    return proc.returncode, proc.stdout + proc.stderr


def major(host):
    return EXPECTED_MAJOR[host.system_info.release.split(".")[0]]


def unit(host):
    return f"postgresql@{major(host)}-main"


def sql(host, query):
    """Run a query as the postgres superuser over the Unix socket (peer)."""
    cmd = host.run("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -c %s", query)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def client(host, query, user="mlflow", password=PASSWORD, dbname="mlflow", address="127.0.0.1"):
    """Run a query as a client over TCP with a password; returns the command result."""
    return host.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -XAtq -v ON_ERROR_STOP=1 %s -c %s",
        password, f"host={address} port=5432 dbname={dbname} user={user}", query,
    )


def memtotal_mb(host):
    kib = int(host.file("/proc/meminfo").content_string.split("MemTotal:")[1].split()[0])
    return kib // 1024


def start_time(host):
    return sql(host, "SELECT pg_postmaster_start_time()")


def wait_ready(host):
    for _attempt in range(30):
        if host.run("pg_isready -q -h /var/run/postgresql -p 5432").rc == 0:
            return
        time.sleep(1)
    pytest.fail("PostgreSQL did not come back within 30 s")


def test_distribution_postgresql_is_enabled_and_running(host):
    assert sql(host, "SHOW server_version_num")[:2] == major(host)
    cluster = host.service(unit(host))
    assert cluster.is_running
    assert cluster.is_enabled
    assert host.service("postgresql").is_enabled


def test_cluster_runs_under_the_hardening_drop_in(host):
    pid = host.run("systemctl show -p MainPID --value %s", unit(host)).stdout.strip()
    assert pid not in ("", "0")
    status = host.file(f"/proc/{pid}/status").content_string
    assert host.run("stat -c %%U /proc/%s", pid).stdout.strip() == "postgres"
    assert "NoNewPrivs:\t1" in status
    assert "CapEff:\t0000000000000000" in status
    props = host.run("systemctl show -p ProtectSystem -p PrivateTmp %s", unit(host)).stdout
    assert "ProtectSystem=strict" in props
    assert "PrivateTmp=yes" in props


def test_settings_are_derived_from_the_host(host):
    mem = memtotal_mb(host)
    settings = dict(
        line.split("|", 1)
        for line in sql(host, "SELECT name, setting FROM pg_settings WHERE name IN ("
                              "'shared_buffers', 'effective_cache_size', 'maintenance_work_mem',"
                              "'work_mem', 'max_connections', 'password_encryption',"
                              "'listen_addresses', 'data_checksums', 'log_connections')").splitlines()
    )
    assert int(settings["shared_buffers"]) == int(mem * 0.25) * 128  # 8 kB pages
    assert int(settings["effective_cache_size"]) == int(mem * 0.75) * 128
    assert int(settings["maintenance_work_mem"]) == min(mem // 16, 2048) * 1024  # kB
    # Overridden in molecule.yml, through the role's variables and postgresql_settings.
    assert settings["work_mem"] == "8192"
    assert settings["max_connections"] == "120"
    assert settings["log_connections"] == "on"
    assert settings["password_encryption"] == "scram-sha-256"
    assert settings["listen_addresses"] == "*"
    assert settings["data_checksums"] == "on"


@pytest.mark.parametrize("dbname", ["mlflow", "mlflow_auth"])
def test_mlflow_connects_to_its_databases(host, dbname):
    cmd = client(host, "SELECT current_user, pg_get_userbyid(datdba), pg_encoding_to_char(encoding)"
                       " FROM pg_database WHERE datname = current_database()", dbname=dbname)
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == "mlflow|mlflow|UTF8"


def test_wrong_password_is_refused(host):
    cmd = client(host, "SELECT 1", password="Not-The-Password-123")
    assert cmd.rc != 0
    assert 'password authentication failed for user "mlflow"' in cmd.stderr


def test_user_not_in_pg_hba_is_refused(host):
    # reporting exists, with this password, but no pg_hba line names it.
    assert sql(host, "SELECT count(*) FROM pg_roles WHERE rolname = 'reporting'") == "1"
    cmd = client(host, "SELECT 1", user="reporting", password=REPORTING_PASSWORD)
    assert cmd.rc != 0
    assert 'no pg_hba.conf entry for host "127.0.0.1", user "reporting"' in cmd.stderr


def test_address_not_in_pg_hba_is_refused(host):
    # PostgreSQL listens on every address here; pg_hba lists only the loopback ones.
    address = host.run("hostname -I").stdout.split()[0]
    cmd = client(host, "SELECT 1", address=address)
    assert cmd.rc != 0
    assert f'no pg_hba.conf entry for host "{address}", user "mlflow"' in cmd.stderr


def test_postgres_superuser_only_by_peer(host):
    cmd = client(host, "SELECT 1", user="postgres", password="anything-at-all")
    assert cmd.rc != 0
    assert "no pg_hba.conf entry" in cmd.stderr


def test_passwords_are_stored_as_scram(host):
    roles = ("mlflow", "reporting")
    assert_scram_secrets(sql(host, scram_query(roles)), roles)


def test_config_files_are_not_world_readable(host):
    hba = host.file(f"/etc/postgresql/{major(host)}/main/pg_hba.conf")
    assert (hba.user, hba.group, hba.mode) == ("postgres", "postgres", 0o640)


def test_row_survives_a_restart(host):
    token = uuid.uuid4().hex
    cmd = client(host, "CREATE TABLE IF NOT EXISTS mlsp_restart_check (token text);"
                       f"INSERT INTO mlsp_restart_check VALUES ('{token}')")
    assert cmd.rc == 0, cmd.stderr
    before = start_time(host)
    assert host.run("systemctl restart %s", unit(host)).rc == 0
    wait_ready(host)
    assert start_time(host) != before
    cmd = client(host, f"SELECT count(*) FROM mlsp_restart_check WHERE token = '{token}'")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == "1"


BAD_SECRETS = {
    "empty": "",
    "short": "Sh0rt-pw",
    "placeholder": "change_me",
    "change_in_production": "Xy-change_in_production-42",
}
BAD_HBA_ENTRIES = {
    # Refused by the argument spec (method choices) before the preflight even runs.
    "trust": {"type": "host", "database": "mlflow", "user": "mlflow", "address": "0.0.0.0/0",
              "method": "trust"},
    "no-address": {"type": "host", "database": "mlflow", "user": "mlflow",
                   "method": "scram-sha-256"},
    "bad-address": {"type": "host", "database": "mlflow", "user": "mlflow",
                    "address": "10.0.0.300/32", "method": "scram-sha-256"},
    "peer-over-tcp": {"type": "host", "database": "all", "user": "all", "address": "10.0.0.0/8",
                      "method": "peer"},
}


def refused_before_any_change(host, extra_vars, name):
    hba = f"/etc/postgresql/{major(host)}/main/pg_hba.conf"
    before = host.file(hba).sha256sum
    rc, out = converge(**extra_vars)
    assert rc != 0
    assert name in out
    assert "changed=0" in out
    assert host.file(hba).sha256sum == before
    return out


@pytest.mark.parametrize("secret", BAD_SECRETS.values(), ids=BAD_SECRETS.keys())
def test_bad_password_is_refused_before_any_change(host, secret):
    refused_before_any_change(
        host, {"postgresql_users": [{"name": "mlflow", "password": secret}]},
        "postgresql_users[mlflow].password")


@pytest.mark.parametrize("case", BAD_HBA_ENTRIES.keys())
def test_malformed_pg_hba_entry_is_refused_before_any_change(host, case):
    # The preflight names the entry; the argument spec names the variable.
    name = "postgresql_hba_entries" if case == "trust" else "postgresql_hba_entries[0]"
    refused_before_any_change(host, {"postgresql_hba_entries": [BAD_HBA_ENTRIES[case]]}, name)


def test_refused_password_is_not_shown(host):
    out = refused_before_any_change(
        host, {"postgresql_users": [{"name": "mlflow", "password": "Sh0rt-pw"}]},
        "postgresql_users[mlflow].password")
    assert "Sh0rt-pw" not in out


def test_setting_postgresql_refuses_is_rolled_back(host):
    # Passes the preflight (postgresql_settings is free-form); postgres -C refuses it.
    settings = f"/etc/postgresql/{major(host)}/main/conf.d/50-mlsp.conf"
    before = host.file(settings).sha256sum
    started = start_time(host)
    rc, out = converge(postgresql_settings={"work_mem": "bogus"})
    assert rc != 0
    assert "PostgreSQL refused the new configuration" in out
    assert "work_mem" in out
    assert host.file(settings).sha256sum == before
    leftovers = host.run("find %s -name %s", os.path.dirname(settings), "50-mlsp.conf.*").stdout
    assert leftovers.strip() == "", f"backup files left behind: {leftovers}"
    assert sql(host, "SHOW work_mem") == "8MB"
    assert start_time(host) == started


def test_new_password_and_reloadable_setting_apply_without_restart(host):
    before = start_time(host)
    rc, out = converge(mlsp_test_mlflow_password=NEW_PASSWORD, mlsp_test_work_mem="16MB")
    assert rc == 0, out
    assert NEW_PASSWORD not in out
    assert start_time(host) == before, "a reloadable change restarted PostgreSQL"
    assert sql(host, "SELECT setting FROM pg_settings WHERE name = 'work_mem'") == "16384"
    assert client(host, "SELECT 1", password=NEW_PASSWORD).rc == 0
    old = client(host, "SELECT 1", password=PASSWORD)
    assert old.rc != 0
    assert "password authentication failed" in old.stderr


def test_setting_that_needs_a_restart_restarts(host):
    # Also puts the inventory's password back: the rotated one must fail again.
    before = start_time(host)
    rc, out = converge(mlsp_test_max_connections=130)
    assert rc == 0, out
    assert start_time(host) != before, "max_connections changed without a restart"
    assert sql(host, "SHOW max_connections") == "130"
    assert client(host, "SELECT 1").rc == 0
    assert client(host, "SELECT 1", password=NEW_PASSWORD).rc != 0
