"""PostgreSQL behind PgBouncer, on one host (mlsp-pgb-allinone) and on two (mlsp-pgb-db behind
mlsp-pgb-pooler), as MLflow will use it: user mlflow through PgBouncer with its password (psql,
and SQLAlchemy with psycopg2), refused with a wrong one; pg_hba refuses what it does not list;
SCRAM secrets; the admin console; data through a restart of both services; a bad inventory
refused before any change; and a converge with a new password and a new pool setting, during
which connected clients stay connected (reload, not restart).

The last tests converge again from the controller and put the inventory back; they run in file
order."""
import json
import os
import pathlib
import subprocess
import tempfile
import time
import uuid

import pytest
import testinfra
from mlsp_testlib import assert_scram_secrets, scram_query

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PASSWORD = "Mlsp-Test-Bq4nZ7xW2kPe"  # molecule.yml: mlsp_test_mlflow_password
NEW_PASSWORD = "Mlsp-Test-Rotated-8sKd2W"
ADMIN = ("pgbouncer_admin", "Mlsp-Test-Ad7pK4wN1sQz")
STATS = ("pgbouncer_stats", "Mlsp-Test-St3hM9vB6rLx")
REPORTING_PASSWORD = "Mlsp-Test-Rp5cX2nJ9wHs"
EXPECTED_MAJOR = {"12": "15", "13": "17"}
# topology: (PgBouncer host, PostgreSQL host)
TOPOLOGIES = {
    "same-host": ("mlsp-pgb-allinone", "mlsp-pgb-allinone"),
    "two-hosts": ("mlsp-pgb-pooler", "mlsp-pgb-db"),
}


def get(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)


@pytest.fixture(scope="module", params=TOPOLOGIES.keys())
def topology(request):
    pooler, db = TOPOLOGIES[request.param]
    return get(pooler), get(db)


def converge(*args, **extra_vars):
    """Run the scenario's converge playbook again; returns (rc, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(extra_vars, f)
    try:
        proc = subprocess.run(
            ["ansible-playbook", "-i", INVENTORY, str(SCENARIO / "converge.yml"),
             "-e", "@" + f.name, *args],
            capture_output=True, text=True, timeout=900, check=False,
        )
    finally:
        os.unlink(f.name)
    return proc.returncode, proc.stdout + proc.stderr


def psql(host, query, user="mlflow", password=PASSWORD, dbname="mlflow", address="127.0.0.1",
         port=6432):
    """A client connection with a password over TCP (to PgBouncer by default)."""
    return host.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -XAtq -v ON_ERROR_STOP=1 %s -c %s",
        password, f"host={address} port={port} dbname={dbname} user={user}", query,
    )


def admin(host, command, user=ADMIN):
    cmd = psql(host, command, user=user[0], password=user[1], dbname="pgbouncer")
    return cmd


def superuser(host, query):
    cmd = host.run("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -c %s", query)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def pg_unit(host):
    return f"postgresql@{EXPECTED_MAJOR[host.system_info.release.split('.')[0]]}-main"


def main_pid(host, unit):
    return host.run("systemctl show -p MainPID --value %s", unit).stdout.strip()


def wait_for_mlflow(pooler):
    for _attempt in range(30):
        if psql(pooler, "SELECT 1").rc == 0:
            return
        time.sleep(1)
    pytest.fail("mlflow could not connect through PgBouncer within 30 s")


def test_services_are_enabled_and_running(topology):
    pooler, db = topology
    assert pooler.service("pgbouncer").is_enabled
    assert pooler.service("pgbouncer").is_running
    assert db.service(pg_unit(db)).is_enabled
    assert db.service(pg_unit(db)).is_running


def test_pgbouncer_runs_as_its_own_user_under_the_drop_in(topology):
    pooler, _db = topology
    pid = main_pid(pooler, "pgbouncer")
    assert pid not in ("", "0")
    assert pooler.run("stat -c %%U /proc/%s", pid).stdout.strip() == "pgbouncer"
    status = pooler.file(f"/proc/{pid}/status").content_string
    assert "NoNewPrivs:\t1" in status
    assert "CapEff:\t0000000000000000" in status
    auth_file = pooler.file("/etc/pgbouncer/userlist.txt")
    assert (auth_file.user, auth_file.group, auth_file.mode) == ("root", "pgbouncer", 0o640)


@pytest.mark.parametrize("dbname", ["mlflow", "mlflow_auth"])
def test_mlflow_connects_through_pgbouncer(topology, dbname):
    pooler, _db = topology
    cmd = psql(pooler, "SELECT current_user, current_database()", dbname=dbname)
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == f"mlflow|{dbname}"


def test_remote_client_connects_through_pgbouncer():
    # From another host over the network, as an MLflow server elsewhere would.
    cmd = psql(get("mlsp-pgb-db"), "SELECT current_user", address="mlsp-pgb-pooler")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == "mlflow"


def test_wrong_password_is_refused_by_pgbouncer(topology):
    pooler, _db = topology
    cmd = psql(pooler, "SELECT 1", password="Not-The-Password-123")
    assert cmd.rc != 0
    assert "authentication failed" in cmd.stderr


def test_superuser_cannot_log_in_through_pgbouncer(topology):
    pooler, _db = topology
    cmd = psql(pooler, "SELECT 1", user="postgres", password="anything-at-all-1")
    assert cmd.rc != 0
    assert "FATAL" in cmd.stderr


def test_pg_hba_refuses_an_address_it_does_not_list():
    # mlsp-pgb-db lets in the pooler's address only; the same user from another host is refused.
    client = get("mlsp-pgb-allinone")
    address = client.run("hostname -I").stdout.split()[0]
    cmd = psql(client, "SELECT 1", address="mlsp-pgb-db", port=5432)
    assert cmd.rc != 0
    assert f'no pg_hba.conf entry for host "{address}", user "mlflow"' in cmd.stderr


def test_pg_hba_refuses_a_user_it_does_not_list():
    # From the listed address, with the right password, but a user pg_hba does not name.
    cmd = psql(get("mlsp-pgb-pooler"), "SELECT 1", user="reporting", password=REPORTING_PASSWORD,
               address="mlsp-pgb-db", port=5432)
    assert cmd.rc != 0
    assert 'user "reporting"' in cmd.stderr
    assert "no pg_hba.conf entry" in cmd.stderr


def test_passwords_are_stored_as_scram(topology):
    _pooler, db = topology
    roles = ("mlflow", "pgbouncer_auth", "reporting")
    assert_scram_secrets(superuser(db, scram_query(roles)), roles)


def test_show_pools_lists_the_mlflow_pools(topology):
    pooler, _db = topology
    for dbname in ("mlflow", "mlflow_auth"):
        assert psql(pooler, "SELECT 1", dbname=dbname).rc == 0
    cmd = admin(pooler, "SHOW POOLS")
    assert cmd.rc == 0, cmd.stderr
    pools = {tuple(line.split("|")[:2]) for line in cmd.stdout.splitlines()}
    assert ("mlflow", "mlflow") in pools
    assert ("mlflow_auth", "mlflow") in pools


def test_stats_user_may_look_but_not_control(topology):
    pooler, _db = topology
    assert admin(pooler, "SHOW STATS", user=STATS).rc == 0
    cmd = admin(pooler, "RELOAD", user=STATS)
    assert cmd.rc != 0
    assert "admin access needed" in cmd.stderr


def test_unknown_admin_console_user_is_refused_at_once(topology):
    pooler, _db = topology
    start = time.monotonic()
    cmd = admin(pooler, "SHOW POOLS", user=("nobody", "Whatever-123456"))
    assert cmd.rc != 0
    assert "authentication failed" in cmd.stderr
    assert time.monotonic() - start < 4


SQLALCHEMY_CHECK = r"""
import os, sys, urllib.parse
import sqlalchemy as sa
url = "postgresql+psycopg2://mlflow:%s@%s:6432/mlflow" % (
    urllib.parse.quote_plus(os.environ["MLSP_PASSWORD"]), sys.argv[1])
engine = sa.create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)
table = "mlsp_sqla_" + sys.argv[2]
# DDL inside a transaction, rolled back, as an alembic migration that fails would be.
with engine.connect() as conn:
    tx = conn.begin()
    conn.execute(sa.text("CREATE TABLE %s (id int)" % table))
    tx.rollback()
with engine.connect() as conn:
    assert conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None
# DDL and rows committed together.
with engine.begin() as conn:
    conn.execute(sa.text("CREATE TABLE %s (id serial PRIMARY KEY, v text)" % table))
    conn.execute(sa.text("INSERT INTO %s (v) VALUES (:v)" % table), [{"v": str(i)} for i in range(20)])
# Many short transactions with bound parameters, over the engine's pooled connections.
for i in range(100):
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM %s WHERE v = :v" % table), {"v": str(i % 20)}).scalar() == 1
with engine.begin() as conn:
    conn.execute(sa.text("DROP TABLE %s" % table))
print("sqlalchemy ok", sa.__version__)
"""


def test_sqlalchemy_with_psycopg2_works_through_pgbouncer(topology):
    pooler, _db = topology
    cmd = pooler.run("MLSP_PASSWORD=%s python3 -c %s 127.0.0.1 %s", PASSWORD, SQLALCHEMY_CHECK,
                     uuid.uuid4().hex[:12])
    assert cmd.rc == 0, cmd.stderr
    assert "sqlalchemy ok" in cmd.stdout


def test_row_survives_a_restart_of_both_services(topology):
    pooler, db = topology
    token = uuid.uuid4().hex
    cmd = psql(pooler, "CREATE TABLE IF NOT EXISTS mlsp_restart_check (token text);"
                       f"INSERT INTO mlsp_restart_check VALUES ('{token}')")
    assert cmd.rc == 0, cmd.stderr
    pid = main_pid(pooler, "pgbouncer")
    assert db.run("systemctl restart %s", pg_unit(db)).rc == 0
    assert pooler.run("systemctl restart pgbouncer").rc == 0
    assert main_pid(pooler, "pgbouncer") != pid
    wait_for_mlflow(pooler)
    cmd = psql(pooler, f"SELECT count(*) FROM mlsp_restart_check WHERE token = '{token}'")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == "1"


BAD_INVENTORIES = {
    "empty-auth-password": ({"pgbouncer_auth_password": ""}, "pgbouncer_auth_password"),
    "short-auth-password": ({"pgbouncer_auth_password": "Sh0rt-Pb"}, "pgbouncer_auth_password"),
    "placeholder-admin-password": (
        {"pgbouncer_admin_users": [{"name": "pgbouncer_admin", "password": "change_me"}]},
        "pgbouncer_admin_users[pgbouncer_admin].password"),
    "admin-console-name": ({"pgbouncer_databases": [{"name": "pgbouncer"}]},
                           "pgbouncer_databases[0]"),
}


@pytest.mark.parametrize("case", BAD_INVENTORIES.keys())
def test_bad_inventory_is_refused_before_any_change(case):
    pooler = get("mlsp-pgb-pooler")
    extra_vars, name = BAD_INVENTORIES[case]
    before = pooler.file("/etc/pgbouncer/pgbouncer.ini").sha256sum
    rc, out = converge("--limit", "mlsp-pgb-pooler", **extra_vars)
    assert rc != 0
    assert name in out
    assert "changed=0" in out
    assert pooler.file("/etc/pgbouncer/pgbouncer.ini").sha256sum == before


HELD_CLIENT = r"""
import os, sys, time
import psycopg2
conn = psycopg2.connect(host="127.0.0.1", port=6432, dbname="mlflow", user="mlflow",
                        password=os.environ["MLSP_PASSWORD"], connect_timeout=5)
conn.autocommit = True
queries = 0
deadline = time.monotonic() + 600
with open("/run/mlsp-held-client.log", "w") as log:
    try:
        while not os.path.exists("/run/mlsp-held-client.stop"):
            if time.monotonic() > deadline:
                print("timed out", file=log)
                sys.exit(3)
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                queries += 1
            time.sleep(0.5)
        with conn.cursor() as cur:
            cur.execute("SELECT current_user")
            print("held ok", cur.fetchone()[0], queries, file=log)
    except Exception as exc:
        print("dropped after", queries, "queries:", exc, file=log)
        sys.exit(1)
"""


def start_held_client(host):
    host.run("rm -f /run/mlsp-held-client.stop /run/mlsp-held-client.log")
    host.run("systemctl reset-failed mlsp-held-client")
    cmd = host.run("systemd-run --unit mlsp-held-client -p RuntimeMaxSec=900 --setenv MLSP_PASSWORD=%s"
                   " python3 -c %s", PASSWORD, HELD_CLIENT)
    assert cmd.rc == 0, cmd.stderr
    for _attempt in range(20):
        if "mlflow" in psql(host, "SHOW CLIENTS", user=ADMIN[0], password=ADMIN[1],
                            dbname="pgbouncer").stdout:
            return
        time.sleep(0.5)
    pytest.fail("the held client did not connect")


def stop_held_client(host):
    host.run("touch /run/mlsp-held-client.stop")
    for _attempt in range(30):
        if not host.service("mlsp-held-client").is_running:
            break
        time.sleep(0.5)
    return host.file("/run/mlsp-held-client.log").content_string.strip()


def test_new_password_and_pool_setting_apply_without_dropping_clients():
    poolers = [get(TOPOLOGIES[t][0]) for t in TOPOLOGIES]
    dbs = [get(TOPOLOGIES[t][1]) for t in TOPOLOGIES]
    for pooler in poolers:
        start_held_client(pooler)
    pids = [main_pid(p, "pgbouncer") for p in poolers]
    started = [superuser(db, "SELECT pg_postmaster_start_time()") for db in dbs]

    rc, out = converge(mlsp_test_mlflow_password=NEW_PASSWORD, mlsp_test_max_client_conn=450)
    assert rc == 0, out
    assert NEW_PASSWORD not in out

    for pooler, pid in zip(poolers, pids):
        assert main_pid(pooler, "pgbouncer") == pid, "PgBouncer restarted instead of reloading"
        config = dict(line.split("|")[:2] for line in admin(pooler, "SHOW CONFIG").stdout.splitlines())
        assert config["max_client_conn"] == "450"
        assert psql(pooler, "SELECT 1", password=NEW_PASSWORD).rc == 0
        old = psql(pooler, "SELECT 1", password=PASSWORD)
        assert old.rc != 0
        assert "authentication failed" in old.stderr
        assert stop_held_client(pooler).startswith("held ok mlflow")
    for db, start in zip(dbs, started):
        assert superuser(db, "SELECT pg_postmaster_start_time()") == start
