"""The scaled-out platform as its users meet it: one address for MLflow and one for S3 (HAProxy),
every server behind them up, MinIO as one erasure-coded cluster, and what the load balancer must
not expose."""
import hashlib
import uuid

import pytest
import requests

from clusterlib import (GROUPS, LB, MINIO, MLFLOW, MLFLOW_S3, RUN, TLS, api, container_address, exec_in, haproxy_servers,
                        haproxy_stat, lb_url, minio_url, ok, s3, s3_url)


def test_every_server_is_up_in_haproxy():
    servers = haproxy_servers()
    want = {("mlflow", h) for h in GROUPS["mlflow"]} | {("s3", h) for h in GROUPS["minio"]}
    assert set(servers) == want, servers
    assert all(status.startswith("UP") for status in servers.values()), servers


def test_mlflow_through_the_load_balancer():
    assert requests.get(lb_url() + "/health", timeout=10).status_code == 200
    assert api("GET", "/api/2.0/mlflow/experiments/search", auth=None, params={"max_results": 1}).status_code == 401
    ok(api("GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1}))


def test_requests_reach_both_mlflow_servers():
    """leastconn over keep-alive-less requests: both servers answer some of 20 sequential calls;
    HAProxy counts the sessions each server has served."""
    before = _sessions()
    for _call in range(20):
        ok(api("GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1}))
    after = _sessions()
    served = {h: after[h] - before[h] for h in GROUPS["mlflow"]}
    assert all(n > 0 for n in served.values()), served


def _sessions():
    return {row["svname"]: int(row["stot"]) for row in haproxy_stat() if row["pxname"] == "mlflow"}


def test_artifacts_through_mlflow_land_in_the_cluster():
    """An artifact written through the load balancer's MLflow is an object that every MinIO node
    serves (they are one cluster, not four servers)."""
    body = uuid.uuid4().hex.encode()
    path = f"cluster-{RUN}/{uuid.uuid4().hex}.txt"
    ok(api("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{path}", data=body))
    for node in MINIO:
        client = s3(MLFLOW_S3, endpoint=minio_url(node))
        got = client.get_object(Bucket="mlflow", Key=path)["Body"].read()
        assert got == body, node


def test_minio_is_one_erasure_coded_cluster():
    """Every node lists the 8 drives of the 4 hosts in MINIO_VOLUMES, by address, and answers
    /minio/health/cluster (write quorum) with 200."""
    addresses = sorted(container_address(n) for n in MINIO)
    for node in MINIO:
        rc, out, err = exec_in(node, ["sh", "-c", ". /etc/default/minio >/dev/null 2>&1; grep '^MINIO_VOLUMES=' /etc/default/minio"])
        assert rc == 0, err
        volumes = out.strip().split("=", 1)[1].strip("'\"").split()
        assert len(volumes) == 8, volumes
        assert sorted({v.split("//", 1)[1].split(":", 1)[0] for v in volumes}) == addresses
        resp = requests.get(minio_url(node) + "/minio/health/cluster", timeout=10)
        assert resp.status_code == 200, (node, resp.status_code)


@pytest.mark.skipif(not TLS, reason="mlsp_tls is false in molecule.yml")
def test_every_hop_refuses_plain_http():
    """TLS is on (the default): the load balancer's two frontends, each MLflow server and each MinIO
    node answer no plain HTTP request; the nodes talk to each other over HTTPS (MINIO_VOLUMES)."""
    plain = {}
    for label, url in ([("LB MLflow", f"http://{container_address(LB)}:8080/health"),
                        ("LB S3", f"http://{container_address(LB)}:9080/minio/health/live")]
                       + [(f"MLflow {n}", f"http://{container_address(n)}:5000/health") for n in MLFLOW]
                       + [(f"MinIO {n}", f"http://{container_address(n)}:9000/minio/health/live") for n in MINIO]):
        try:
            plain[label] = requests.get(url, timeout=10).status_code
        except requests.ConnectionError as exc:
            plain[label] = type(exc).__name__
    assert not [label for label, got in plain.items() if got == 200], plain
    for node in MINIO:
        rc, out, err = exec_in(node, ["grep", "^MINIO_VOLUMES=", "/etc/default/minio"])
        assert rc == 0, err
        volumes = out.strip().split("=", 1)[1].strip("'\"").split()
        assert volumes and all(v.startswith("https://") for v in volumes), volumes


def test_each_drive_is_a_file_system_of_its_own():
    for node in MINIO:
        rc, out, err = exec_in(node, ["findmnt", "--noheadings", "--output", "TARGET", "--target", "/srv/minio/disk1"])
        assert rc == 0 and out.strip() == "/srv/minio/disk1", (node, out, err)


def test_s3_through_the_load_balancer():
    client = s3()
    key = f"s3-{RUN}/{uuid.uuid4().hex}"
    body = uuid.uuid4().bytes * 1000
    client.put_object(Bucket="mlflow", Key=key, Body=body)
    assert hashlib.sha256(client.get_object(Bucket="mlflow", Key=key)["Body"].read()).digest() == hashlib.sha256(body).digest()
    client.delete_object(Bucket="mlflow", Key=key)


def test_haproxy_stats_and_runtime_api_are_local_only():
    """The statistics page answers on the load balancer's 127.0.0.1, not on its address; the
    runtime API is a socket that only root may open."""
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{container_address(LB)}:8404/", timeout=5)
    rc, out, err = exec_in(LB, ["python3", "-c", "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:8404/;csv', timeout=5).status)"])
    assert rc == 0 and out.strip() == "200", (out, err)
    rc, out, err = exec_in(LB, ["stat", "--format", "%U %a", "/run/haproxy/admin.sock"])
    assert rc == 0 and out.split() == ["haproxy", "600"], out


def test_haproxy_runs_hardened_as_its_own_user():
    rc, out, err = exec_in(LB, ["systemctl", "show", "haproxy.service",
                                "--property=User,NoNewPrivileges,ProtectSystem,CapabilityBoundingSet,ActiveState"])
    assert rc == 0, err
    props = dict(line.split("=", 1) for line in out.splitlines())
    assert props["ActiveState"] == "active"
    assert props["User"] == "haproxy"
    assert props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict"
    assert props["CapabilityBoundingSet"] == ""
    rc, out, err = exec_in(LB, ["sh", "-c", "for p in $(pgrep -x haproxy); do stat -c %U /proc/$p; done"])
    assert rc == 0 and set(out.split()) == {"haproxy"}, (out, err)


def test_mlflow_uses_s3_through_the_load_balancer():
    """MLflow's S3 endpoint is the load balancer's S3 frontend, never one MinIO node."""
    for node in MLFLOW:
        rc, out, err = exec_in(node, ["grep", "^MLFLOW_S3_ENDPOINT_URL=", "/etc/mlflow/mlflow.env"])
        assert rc == 0, err
        assert out.strip().split("=", 1)[1].strip("'\"") == s3_url()


def test_periodic_tasks_on_exactly_one_mlflow_host():
    """MLflow's periodic tasks run on the first MLflow host only (the role's default)."""
    flags = []
    for node in MLFLOW:
        rc, out, err = exec_in(node, ["grep", "^MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS=", "/etc/mlflow/mlflow.env"])
        assert rc == 0, err
        flags.append(out.strip().split("=", 1)[1].strip("'\""))
    assert flags == ["true", "false"], flags
