"""Drills: TLS on every hop (docs/tls.md). A plain-text connection is refused on each hop that
requires TLS; a certificate from another CA is refused by its clients, and the next site.yml run
replaces it; a rotation of every certificate under load fails no request and restarts nothing;
health.yml reports the certificates that expire within 30 days."""
import concurrent.futures
import socket
import ssl
import threading
import time
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry
from stacklib import (ADMIN, DB, HEALTH, MINIO, MLFLOW, RUN, SECRETS, SITE, Client, all_health_lines, ca_file, check,
                      container_address, exec_in, health_lines, mask, note, minio_url, mlflow_url, pg_unit, probe, run_playbook, unit_show,
                      wait_for, wait_healthy)

# Each service's certificate on its host, and the port it serves it on.
CERTS = {
    "postgresql": (DB, "/etc/ssl/mlsp/postgresql/server.crt"),
    "pgbouncer": (DB, "/etc/ssl/mlsp/pgbouncer/server.crt"),
    "minio": (MINIO, "/etc/ssl/mlsp/minio/public.crt"),
    "mlflow": (MLFLOW, "/etc/ssl/mlsp/mlflow/server.crt"),
}
MLFLOW_PYTHON = "/opt/mlflow/bin/python"  # mlflow_venv_dir


def pg_login(host, address, port, sslmode, user="mlflow", password_name="vault_postgresql_mlflow_password",
             ca="/etc/ssl/mlsp/mlflow/ca.crt", dbname="mlflow", python=MLFLOW_PYTHON):
    """Log in to PostgreSQL or PgBouncer from `host` with libpq's sslmode; "connected" or the error."""
    rc, out, err = probe(host, "pg_tls.py", address, str(port), dbname, user, sslmode, ca,
                         env={"PGPASSWORD": SECRETS[password_name]}, python=python, timeout=60)
    assert rc == 0, mask(err)
    return out.strip()


def serial(host, path):
    rc, out, err = exec_in(host, ["openssl", "x509", "-noout", "-serial", "-in", path], timeout=30)
    assert rc == 0, err
    return out.strip()


def expires_within_30_days(host, path):
    rc, _out, err = exec_in(host, ["openssl", "x509", "-noout", "-checkend", str(30 * 86400), "-in", path], timeout=30)
    assert rc in (0, 1), err
    return rc == 1


def same_serial(served, installed):
    """Whether a served serial (hex) is the one `openssl x509 -serial` printed (serial=HEX)."""
    return int(served, 16) == int(installed.split("=")[-1], 16)


def served_serial(address, port):
    """The serial number of the certificate a TLS server presents, checked against the stack's CA."""
    ctx = ssl.create_default_context(cafile=str(ca_file()))
    with socket.create_connection((address, port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=address) as tls:
            return "%X" % int(tls.getpeercert()["serialNumber"], 16)


def test_plain_text_is_refused_on_every_hop():
    """MLflow and MinIO answer no plain HTTP request; PgBouncer and PostgreSQL refuse a login
    without TLS (the same login with verify-full succeeds)."""
    mlflow, minio = container_address(MLFLOW), container_address(MINIO)
    plain = {}
    for name, url in (("mlflow", f"http://{mlflow}:5000/api/2.0/mlflow/experiments/search?max_results=1"),
                      ("minio", f"http://{minio}:9000/mlflow")):
        try:
            resp = requests.get(url, auth=ADMIN, timeout=10)
            plain[name] = resp.status_code
        except requests.ConnectionError as exc:
            plain[name] = type(exc).__name__
    check("plain HTTP to MLflow", plain["mlflow"], "no 200", plain["mlflow"] != 200)
    check("plain HTTP to MinIO", plain["minio"], "no 200", plain["minio"] != 200)
    db = container_address(DB)
    # MLflow's host to PgBouncer, as MLflow connects.
    got = pg_login(MLFLOW, db, 6432, "disable")
    check("plain login to PgBouncer", got[:80], "refused", got != "connected" and "SSL" in got, got)
    got = pg_login(MLFLOW, db, 6432, "verify-full")
    check("TLS login to PgBouncer, verify-full", got[:80], "connected", got == "connected", got)
    # PgBouncer's host to PostgreSQL, as PgBouncer connects (its lookup role, from 127.0.0.1).
    got = pg_login(DB, "127.0.0.1", 5432, "disable", user="pgbouncer_auth", password_name="vault_pgbouncer_auth_password",
                   ca="/etc/ssl/mlsp/pgbouncer/ca.crt", python="python3")
    check("plain login to PostgreSQL", got[:80], "refused", got != "connected" and "no encryption" in got, got)
    got = pg_login(DB, "127.0.0.1", 5432, "verify-full", user="pgbouncer_auth", password_name="vault_pgbouncer_auth_password",
                   ca="/etc/ssl/mlsp/pgbouncer/ca.crt", python="python3")
    check("TLS login to PostgreSQL, verify-full", got[:80], "connected", got == "connected", got)


def test_minio_console_is_local_only():
    """The console listens on the MinIO host's 127.0.0.1, not on its address."""
    with pytest.raises(requests.ConnectionError):
        requests.get(f"https://{container_address(MINIO)}:9001/", timeout=5)
    rc, out, err = probe(MINIO, "https_get.py", "https://127.0.0.1:9001/", "/etc/ssl/mlsp/minio/CAs/ca.crt", timeout=30)
    assert rc == 0 and out.strip() == "200", (out, err)


def load(stop, counts, errors):
    """API calls and artifact writes and reads through MLflow (PgBouncer, PostgreSQL, MinIO) until
    `stop` is set (or 15 minutes), each counted; a failed one is recorded. One retry is allowed,
    as HTTP clients make it (MLflow's own retries up to 7 times): for a request sent on a kept-alive
    connection that the server closed as it arrived (a reloaded worker closes its idle
    connections). Any other reason for a retry (a timeout, a refused connection) fails the call."""
    client = Client(ADMIN)
    client.session.mount("https://", HTTPAdapter(max_retries=Retry(
        total=1, connect=1, read=1, status=0, other=0, allowed_methods=None, raise_on_status=False)))
    experiment_id = client.experiment(f"tls-rotation-{RUN}-{uuid.uuid4().hex[:6]}")
    info = client.run(experiment_id, "rotation")
    deadline = time.monotonic() + 900
    step = 0
    while not stop.is_set() and time.monotonic() < deadline:
        step += 1
        path = f"/api/2.0/mlflow-artifacts/artifacts/drills-tls/{RUN}/{uuid.uuid4().hex}.txt"
        calls = (
            ("POST", "/api/2.0/mlflow/runs/log-metric", {"json": {
                "run_id": info["run_id"], "key": "m", "value": step, "timestamp": int(time.time() * 1000), "step": step}}),
            ("PUT", path, {"data": b"rotation\n"}),
            ("GET", path, {}),
        )
        for method, call_path, kwargs in calls:
            try:
                resp = client.call(method, call_path, timeout=30, **kwargs)
                retries = [h.error for h in (resp.raw.retries.history if resp.raw.retries else ())]
                good = resp.status_code == 200 and all(isinstance(e, ProtocolError) for e in retries)
                detail = f"{method} {call_path}: {resp.status_code} {resp.text[:200]} after {retries}"
                if retries:
                    counts["retried"] += 1
            except requests.RequestException as exc:
                good, detail = False, f"{method} {call_path}: {type(exc).__name__}: {exc}"
            with COUNTS_LOCK:
                counts["calls"] += 1
                if not good:
                    errors.append(mask(detail))


COUNTS_LOCK = threading.Lock()


@pytest.mark.timed  # under load, and healthy within a limit (tests/helpers/verify_parts.py)
def test_rotation_under_load_fails_no_request_then_health_warns():
    """Every certificate re-issued (common_tls_renew_days beyond their validity) while clients
    write and read through MLflow: no request fails, no service restarts, each serves its new
    certificate. They are made to expire in 20 days: health.yml fails for each (the next test's
    site.yml run renews them)."""
    old = {name: serial(host, path) for name, (host, path) in CERTS.items()}
    units = {"postgresql": (DB, pg_unit()), "pgbouncer": (DB, "pgbouncer.service"),
             "minio": (MINIO, "minio.service"), "mlflow": (MLFLOW, "mlflow.service")}
    pids = {name: unit_show(host, unit)["MainPID"] for name, (host, unit) in units.items()}
    counts, errors = {"calls": 0, "retried": 0}, []
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(load, stop, counts, errors) for _client in range(3)]
        try:
            time.sleep(5)
            run = run_playbook(SITE, extra_vars={"common_tls_renew_days": 400, "common_tls_cert_days": 20})
            # The load goes on 10 s after the run: the reloads' last workers have taken over by then.
            time.sleep(10)
        finally:
            stop.set()
        for future in futures:
            future.result(timeout=120)
    assert run.returncode == 0, mask(run.failures())
    new = {name: serial(host, path) for name, (host, path) in CERTS.items()}
    check("rotation: calls under load", counts["calls"], "> 0", counts["calls"] > 0)
    check("rotation: failed calls", len(errors), "0", not errors, errors[:5])
    note("rotation: calls sent again", f"{counts['retried']} of {counts['calls']}, on a closed kept-alive connection")
    check("rotation: every certificate new", [n for n in CERTS if new[n] == old[n]], "[]",
          all(new[n] != old[n] for n in CERTS))
    after = {name: unit_show(host, unit)["MainPID"] for name, (host, unit) in units.items()}
    check("rotation: no service restarted", sorted(n for n in pids if pids[n] != after[n]), "[]", pids == after)
    for name, port in (("mlflow", 5000), ("minio", 9000)):
        host = CERTS[name][0]
        served, _seconds = wait_for(lambda: same_serial(served_serial(container_address(host), port), new[name]), 30)
        check(f"rotation: {name} serves its new cert", served, "True", served)

    lines = all_health_lines(run_playbook(HEALTH))
    soon = [(host, c) for host, status, c in lines if status == "FAIL" and "days left" in c]
    check("expiry within 30 days: health.yml FAIL lines", len(soon), ">= 4", len(soon) >= 4, lines)
    # The next test's site.yml run renews them (one run for both drills: a run is a minute).


@pytest.mark.timed  # under load, and healthy within a limit (tests/helpers/verify_parts.py)
def test_certificate_from_another_ca_is_refused_then_replaced():
    """MinIO's certificate swapped for one from another CA: MLflow's host and the controller refuse
    it, health.yml says so; the next plain site.yml run re-issues it from the stack's CA, and
    renews every certificate that expires within 30 days (the rotation drill left them all at 20
    days, when it ran before this one): health.yml passes then."""
    before = {name: serial(host, path) for name, (host, path) in CERTS.items()}
    expiring = [name for name, (host, path) in CERTS.items() if expires_within_30_days(host, path)]
    note("certificates expiring within 30 days", expiring)  # all four after the rotation drill
    script = (
        "set -e; d=$(mktemp -d); cd $d; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=rogue-ca "
        "-keyout ca.key -out ca.crt 2>/dev/null; "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 "
        "-keyout k.pem -out r.csr 2>/dev/null; "
        f"printf 'subjectAltName=IP:127.0.0.1,IP:{container_address(MINIO)}\\n' > ext; "
        "openssl x509 -req -in r.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile ext -out c.pem 2>/dev/null; "
        "install -o minio -g minio -m 0600 k.pem /etc/ssl/mlsp/minio/private.key; "
        "install -o root -g minio -m 0644 c.pem /etc/ssl/mlsp/minio/public.crt; rm -rf $d")
    rc, _out, err = exec_in(MINIO, ["sh", "-c", script + "; systemctl reload minio"], timeout=60)
    assert rc == 0, err
    rogue = serial(MINIO, CERTS["minio"][1])

    def refused():
        try:
            requests.get(minio_url() + "/minio/health/ready", timeout=5)
            return False
        except requests.exceptions.SSLError:
            return True
    wait_for(refused, 30)  # the reload (SIGHUP) returns before MinIO has read the files
    check("another CA: controller refuses MinIO", refused(), "True", refused())
    rc, out, err = probe(MLFLOW, "https_get.py", f"https://{container_address(MINIO)}:9000/minio/health/ready",
                         "/etc/ssl/mlsp/mlflow/ca.crt", timeout=30)
    assert rc == 0, err
    check("another CA: MLflow's host refuses MinIO", out.strip()[:60], "refused: certificate",
          out.startswith("refused") and "CERTIFICATE_VERIFY_FAILED" in out, out)
    lines = health_lines(run_playbook(HEALTH, "--limit", "mlflow"))
    failed = [check_ for status, check_ in lines if status == "FAIL"]
    check("another CA: health.yml", failed, "MinIO FAIL", any("MinIO" in f for f in failed), lines)

    run = run_playbook(SITE)
    assert run.returncode == 0, mask(run.failures())
    after = serial(MINIO, CERTS["minio"][1])
    check("another CA: site.yml re-issues", after, f"!= {rogue}, != {before['minio']}",
          after not in (rogue, before["minio"]))
    # MinIO reloads (the role's SIGHUP), so it serves the new certificate without a restart.
    served, _seconds = wait_for(lambda: same_serial(served_serial(container_address(MINIO), 9000), after), 30)
    check("another CA: MinIO serves the new one", served, "True", served)
    seconds = wait_healthy(mlflow_url(), 60)
    check("another CA: healthy after site.yml", seconds, "<= 60 s", seconds is not None)
    renewed = [n for n in expiring if serial(*CERTS[n]) != before[n]]
    check("expiring within 30 days: site.yml renews", f"{len(renewed)} of {len(expiring)}", "all",
          renewed == expiring, expiring)
    health = run_playbook(HEALTH)
    failed = [(host, c) for host, status, c in all_health_lines(health) if status == "FAIL"]
    check("after site.yml: health.yml", health.returncode, "0", health.returncode == 0 and not failed, failed)
