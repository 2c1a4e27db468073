"""Drills: the platform under load while its parts change or fail. A client of the load balancer
(clusterlib.Load, a non-admin user) sends one request after the other and counts each one, served
or failed; nothing is retried behind its count.

- an MLflow server with a certificate from another CA: HAProxy takes it out of service (it checks
  each server's certificate), no request fails; site.yml re-issues it and HAProxy takes it back.
  First, on the converged cluster: the run changes the certificate only (a restart of the other
  server meanwhile would leave none in service);
- a rolling restart of the MLflow tier and an admin password rotation, made by site.yml: zero
  failed requests, the hosts restarted one after the other, the old password refused everywhere;
- a password change made by users.yml: the old password refused by every worker of every host
  once the run ends, without a restart;
- an MLflow host killed: requests keep being served, the failed ones counted;
- a MinIO host stopped during uploads and downloads: every object intact, and MinIO heals the
  host's drives once it is back.
"""
import hashlib
import time
import uuid

import pytest
import requests

from clusterlib import (ADMIN, CONTAINERS, TLS, HTTP_TIMEOUT, MINIO, MLFLOW, RUN, S3_BACK_AFTER, SITE, USERS, Load,
                        all_up, check, container, container_address, create_user, exec_in, minio_url, mlflow_url, note,
                        run_playbook, s3, wait_for)

# Timed drills (tests/helpers/verify_parts.py): their limits are times and failed requests under load.
pytestmark = pytest.mark.timed

RECOVERY_LIMIT = 120  # seconds for a host that is back to be in service again


def _start_info(name):
    rc, out, err = exec_in(name, ["systemctl", "show", "mlflow.service",
                                  "--property=MainPID,ExecMainStartTimestampMonotonic"], timeout=30)
    assert rc == 0, err
    props = dict(line.split("=", 1) for line in out.splitlines())
    return int(props["MainPID"]), int(props["ExecMainStartTimestampMonotonic"]) / 1e6


def _refused_everywhere(auth, tries=12):
    """HTTP status of `tries` calls to each MLflow host directly (every worker is reached)."""
    statuses = {}
    for name in MLFLOW:
        statuses[name] = sorted({requests.get(mlflow_url(name) + "/api/2.0/mlflow/experiments/search",
                                              params={"max_results": 1}, auth=auth, timeout=HTTP_TIMEOUT).status_code
                                 for _try in range(tries)})
    return statuses


def _rotate(load_auth, experiment, password, marker):
    """site.yml on the MLflow tier with a new admin password and a changed setting (a restart),
    under load: (run, served, failed, start info before, after)."""
    before = {n: _start_info(n) for n in MLFLOW}
    load = Load(load_auth, experiment)
    load.start()
    time.sleep(3)
    try:
        run = run_playbook(SITE, "--limit", "mlflow", extra_vars={
            "vault_mlflow_admin_password": password, "mlflow_environment": {"MLSP_DRILL": marker}})
    finally:
        time.sleep(3)
        served, failed = load.finish()
    after = {n: _start_info(n) for n in MLFLOW}
    return run, served, failed, before, after


ROGUE_CERT = (
    "set -e; d=$(mktemp -d); cd $d; "
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=rogue-ca "
    "-keyout ca.key -out ca.crt 2>/dev/null; "
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=$1 -keyout k.pem -out r.csr 2>/dev/null; "
    "printf 'subjectAltName=DNS:%s,IP:%s,IP:127.0.0.1\\n' $1 $2 > ext; "
    "openssl x509 -req -in r.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile ext -out c.pem 2>/dev/null; "
    "install -o mlflow -g mlflow -m 0600 k.pem /etc/ssl/mlsp/mlflow/server.key; "
    "install -o root -g mlflow -m 0644 c.pem /etc/ssl/mlsp/mlflow/server.crt; rm -rf $d; "
    "systemctl reload mlflow")


@pytest.mark.skipif(not TLS, reason="mlsp_tls is false in molecule.yml")
def test_server_with_a_certificate_from_another_ca_is_taken_out_of_service(loader):
    """HAProxy checks each MLflow server's certificate against the stack's CA and name: a server
    whose certificate another CA signed (same names) goes DOWN and gets no request; site.yml
    re-issues the certificate, the server reloads and is UP again."""
    auth, experiment = loader
    victim = MLFLOW[-1]
    victim_name = [h for h, c in CONTAINERS.items() if c == victim][0]
    load = Load(auth, experiment)
    load.start()
    time.sleep(3)
    try:
        rc, _out, err = exec_in(victim, ["sh", "-c", ROGUE_CERT, "rogue", victim_name, container_address(victim)],
                                timeout=180)
        assert rc == 0, err
        down, seconds_down = wait_for(lambda: not all_up("mlflow", [victim_name]), RECOVERY_LIMIT, interval=1)
        check("rogue cert: HAProxy takes server out", f"{seconds_down:.0f} s", f"<= {RECOVERY_LIMIT}", down)
        run = run_playbook(SITE, "--limit", "mlflow")
        assert run.returncode == 0, run.failures()
        back, seconds = wait_for(lambda: all_up("mlflow", [victim_name]), RECOVERY_LIMIT, interval=1)
    finally:
        served, failed = load.finish()
    check("rogue cert: server back after site.yml", f"in service {seconds:.0f} s after", f"<= {RECOVERY_LIMIT}", back)
    check("rogue cert: failed requests", f"{len(failed)} of {served + len(failed)}", "0", not failed and served > 0,
          str(failed[:5]))


def test_users_yml_password_change_is_refused_at_once_everywhere(loader):
    """No restart: users.yml reloads MLflow, whose workers are replaced one at a time."""
    auth_load, experiment = loader
    name, old = create_user(f"revoke-{RUN}")
    assert all(v == [200] for v in _refused_everywhere((name, old)).values())  # cached by every worker
    new = "Changed-" + uuid.uuid4().hex
    load = Load(auth_load, experiment, artifacts=False)
    load.start()
    try:
        start = time.monotonic()
        run = run_playbook(USERS, extra_vars={"mlflow_users": [{"name": name, "password": new}]})
        seconds = time.monotonic() - start
    finally:
        served, failed = load.finish()
    assert run.returncode == 0, run.failures()
    statuses = _refused_everywhere((name, old))
    check("users.yml revokes", f"old password: {sorted({s for v in statuses.values() for s in v})} on "
          f"{len(statuses)} hosts", "401 only", all(v == [401] for v in statuses.values()), str(statuses))
    check("users.yml no outage", f"{len(failed)} failed of {served + len(failed)} ({seconds:.0f} s run)", "0",
          not failed, str(failed[:5]))
    assert all(v == [200] for v in _refused_everywhere((name, new)).values())


def test_mlflow_host_killed_under_load(loader):
    auth, experiment = loader
    victim = MLFLOW[-1]
    victim_name = [h for h, c in CONTAINERS.items() if c == victim][0]
    address = container_address(victim)
    load = Load(auth, experiment)
    load.start()
    time.sleep(3)
    served_before = load.served
    container(victim).kill()
    killed_at = time.monotonic()
    time.sleep(20)
    served_down = load.served
    container(victim).start()
    back, seconds = wait_for(lambda: all_up("mlflow", [victim_name]), RECOVERY_LIMIT, interval=1)
    served, failed = load.finish()
    down_failed = [f for f in failed if f[0] >= killed_at - load.start_time - 1]
    note("MLflow host killed", f"{served_down - served_before} served while it was down")
    check("MLflow host killed", f"{len(down_failed)} failed of {served + len(failed)}", "<= 2",
          len(down_failed) <= 2 and served_down > served_before, str(failed[:5]))
    assert container_address(victim) == address, "the container came back with another address"
    check("MLflow host back", f"in service {seconds:.0f} s after its start", f"<= {RECOVERY_LIMIT}", back)


def read_digest(client, key):
    """The sha256 of an object's content, or the name of the error that reading it raised."""
    try:
        return hashlib.sha256(client.get_object(Bucket="mlflow", Key=key)["Body"].read()).hexdigest()
    except Exception as exc:  # pylint: disable=broad-exception-caught  # reported by the caller
        return f"{type(exc).__name__}: {str(exc)[:80]}"


def minio_says_healthy(name):
    """Whether a MinIO host answers 200 on /minio/health/cluster (what HAProxy checks)."""
    try:
        return requests.get(minio_url(name) + "/minio/health/cluster", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_minio_host_stopped_during_uploads_and_downloads(loader):
    auth, experiment = loader
    victim = MINIO[-1]
    victim_name = [h for h, c in CONTAINERS.items() if c == victim][0]
    client = s3()
    before = {}
    for i in range(10):  # objects written before the stop, read back during it
        key = f"heal-{RUN}/before-{i}"
        body = uuid.uuid4().bytes * 4096
        client.put_object(Bucket="mlflow", Key=key, Body=body)
        before[key] = hashlib.sha256(body).hexdigest()
    load = Load(auth, experiment)
    load.start()
    container(victim).stop(timeout=30)
    ops, bad, during = 0, [], {}
    for i in range(20):
        key = f"heal-{RUN}/during-{i}"
        body = uuid.uuid4().bytes * 4096
        try:
            client.put_object(Bucket="mlflow", Key=key, Body=body)
            during[key] = hashlib.sha256(body).hexdigest()
            ops += 1
            for k, digest in list(before.items())[i % 10:i % 10 + 1]:
                if hashlib.sha256(client.get_object(Bucket="mlflow", Key=k)["Body"].read()).hexdigest() != digest:
                    bad.append(f"{k}: content differs")
                ops += 1
        except Exception as exc:  # pylint: disable=broad-exception-caught  # counted, reported below
            bad.append(f"{key}: {type(exc).__name__}")
    container(victim).start()
    started = time.monotonic()
    # What the node itself answers once it says it is healthy: it may not have reached every peer's
    # drives yet (MinIO connects the missing ones on its drive monitor's next round, 15 s later),
    # and then answers NoSuchKey for objects written while it was away (all 20, in our runs).
    # HAProxy keeps it out of service until haproxy_s3_back_after_s of good checks have passed.
    direct = s3(endpoint=minio_url(victim))
    healthy, _seconds = wait_for(lambda: minio_says_healthy(victim), 60, interval=0.5)
    early = [got for got in (read_digest(direct, k) for k in during) if healthy and got not in during.values()]
    note("MinIO node just healthy, read directly", f"{len(early)} of {len(during)} objects written while it was "
         f"away not read back {sorted({e.split(':')[0] for e in early})}, {time.monotonic() - started:.0f} s after its start")
    back, _seconds = wait_for(lambda: all_up("s3", [victim_name]), RECOVERY_LIMIT, interval=1)
    seconds = time.monotonic() - started
    served, failed = load.finish()
    check("MinIO host stopped", f"{len(bad)} failed of {ops + len(bad)} S3 calls, {len(failed)} of "
          f"{served + len(failed)} MLflow", "0", not bad and not failed, f"{bad[:5]} {failed[:5]}")
    check("MinIO host back", f"in service {seconds:.0f} s after its start", f"{S3_BACK_AFTER} to {RECOVERY_LIMIT}",
          back and seconds >= S3_BACK_AFTER)
    objects = {**before, **during}
    intact = [k for k, d in objects.items() if read_digest(client, k) == d]
    # An object not read back is read from each MinIO host directly: which ones answer what.
    each = {}
    for key in sorted(set(objects) - set(intact))[:3]:
        got = {c: read_digest(s3(endpoint=minio_url(c)), key) for c in MINIO}
        each[key] = {c: "intact" if digest == objects[key] else digest for c, digest in got.items()}
    check("objects intact", f"{len(intact)} of {len(objects)}", "all", len(intact) == len(objects), each)

    # MinIO heals what was written while the host was away: each object's metadata comes back on
    # both of its drives. Its queue of partly written objects heals most at once; an object read
    # while a shard is missing is healed then (each poll reads the ones still missing, as users'
    # reads would); its background scanner would get to the rest much later.
    def missing():
        paths = " ".join(f"/srv/minio/disk{d}/mlflow/{k}/xl.meta" for k in during for d in (1, 2))
        rc, out, err = exec_in(victim, ["sh", "-c", f"for f in {paths}; do [ -f $f ] || echo $f; done"], timeout=30)
        assert rc == 0, err
        return sorted({line.split("/mlflow/", 1)[1].rsplit("/", 1)[0] for line in out.split()})

    first = missing()
    note("MinIO heal", f"{2 * len(during) - 2 * len(first)} of {2 * len(during)} shards back before a read")

    def healed():
        keys = missing()
        for key in keys:
            client.get_object(Bucket="mlflow", Key=key)["Body"].read()
        return not keys
    done, heal_seconds = wait_for(healed, 120, interval=3)
    check("MinIO healed the host", f"{2 * len(during)} shards back in {heal_seconds:.0f} s", "<= 120 s", done)


def test_rolling_restart_and_admin_password_rotation_fail_no_request(loader):
    """The last drill: the admin password stays rotated (a second rolling restart to put it back
    would cost a minute and a half); the tests after it do not use the admin account."""
    auth, experiment = loader
    _rotation_drill(auth, experiment, "Rotated-" + uuid.uuid4().hex)


def _rotation_drill(auth, experiment, new_password):
    run, served, failed, before, after = _rotate(auth, experiment, new_password, f"roll-{RUN}")
    assert run.returncode == 0, run.failures()
    restarted = [n for n in MLFLOW if after[n][0] != before[n][0]]
    starts = sorted(after[n][1] for n in MLFLOW)
    note("rolling restart", f"{served} requests, restarts {starts[1] - starts[0]:.0f} s apart")
    check("rolling restart", f"{len(failed)} failed of {served + len(failed)}", "0",
          not failed and len(restarted) == len(MLFLOW) and starts[1] - starts[0] >= 3,
          f"failed {failed[:5]}, restarted {restarted}, starts {starts}")
    statuses_old = _refused_everywhere(ADMIN)
    statuses_new = _refused_everywhere((ADMIN[0], new_password))
    check("admin password rotated", f"old: {sorted({s for v in statuses_old.values() for s in v})}", "401 only",
          all(v == [401] for v in statuses_old.values()) and all(v == [200] for v in statuses_new.values()),
          f"old {statuses_old}, new {statuses_new}")
