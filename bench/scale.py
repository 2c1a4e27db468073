"""Benchmark 4, scale-out: what the second MLflow host and the MinIO cluster give, on the cluster
sandbox (scripts/sandbox.sh up --topology cluster: HAProxy on the database host, two MLflow hosts,
four MinIO hosts with two drives each).

Tracking: authenticated log_metric and search_runs through the load balancer, with one MLflow host
in service (the other set to maintenance through HAProxy's runtime API, so that no request reaches
it) and with both. Each round measures every point once in each mode, the mode order alternating
between rounds; the table gives the median requests per second over the rounds, and HAProxy's own
count of the requests each server took, so that the split is seen, not assumed.

Artifacts: one object put and got with boto3 (as MLflow's artifact proxy does, with MLflow's own
credentials) against the cluster through the load balancer, against one node of the cluster
directly, and against a single-host MinIO (a transient server of the same binary on one node's
container, on a directory of its own; removed at the end), each with 1 and with several
concurrent streams. Transfers alternate between the targets; the table gives median MB/s
(1 MB = 10^6 bytes) of all streams together.

Run by bench/scale.sh, which passes the sandbox's secrets (ansible-vault view) on standard input;
they are never printed. Every client, the load balancer and every server share the machine's
cores: see docs/performance.md for what that means for these figures.
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import secrets
import statistics
import subprocess
import sys
import time

import boto3
import requests
import yaml
from botocore.config import Config

import judge  # bench/judge.py: when a target may be called met
import tracking  # bench/tracking.py: the load generator and the bench user's data

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "helpers"))
from mlsp_testlib import container_address  # noqa: E402  pylint: disable=wrong-import-position

CHUNK = 1 << 20
SINGLE_PORT = 9100
SINGLE_UNIT = "mlsp-bench-single-minio"
SINGLE_DIR = "/var/tmp/mlsp-bench-single"
SINGLE_ENV = "/run/mlsp-bench-single.env"
SINGLE_BUCKET = "bench"
MINIO_CERTS = "/etc/ssl/mlsp/minio"  # the minio role's certs-dir (public.crt, private.key, CAs/)

_RUNTIME_API = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect("/run/haproxy/admin.sock")
s.sendall(sys.stdin.read().encode() + b"\\n")
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode())
"""


def sh(container, script, stdin=None, timeout=120):
    proc = subprocess.run(["docker", "exec", "-i", container, "sh", "-ec", script], input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"in {container}: {script.splitlines()[0]}: {proc.stderr.strip()[-600:]}")
    return proc.stdout


class LoadBalancer:
    """HAProxy's runtime API on the load balancer's host (root only, reached with docker exec)."""

    def __init__(self, container):
        self.container = container

    def command(self, text):
        proc = subprocess.run(["docker", "exec", "-i", self.container, "python3", "-c", _RUNTIME_API], input=text,
                              capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"HAProxy's runtime API on {self.container}: {proc.stderr.strip()[-600:]}")
        return proc.stdout

    def servers(self, backend):
        """{server: row of show stat} of one backend."""
        header, *lines = self.command("show stat").splitlines()
        rows = [dict(zip(header.lstrip("# ").split(","), line.split(","))) for line in lines if line]
        return {r["svname"]: r for r in rows
                if r.get("pxname") == backend and r.get("svname") not in ("FRONTEND", "BACKEND")}

    def set_state(self, backend, server, state, timeout=60):
        """ready or maint, and wait until show stat says UP or MAINT."""
        out = self.command(f"set server {backend}/{server} state {state}").strip()
        if out:
            raise RuntimeError(f"HAProxy refused 'set server {backend}/{server} state {state}': {out}")
        want = "MAINT" if state == "maint" else "UP"
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.servers(backend)[server]["status"].startswith(want):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{backend}/{server} is not {want} after {timeout} s")

    def taken(self, backend):
        """{server: requests it has taken (stot)}."""
        return {name: int(row["stot"] or 0) for name, row in self.servers(backend).items()}


# --- tracking -------------------------------------------------------------------------------------

def bench_tracking(args, lb, url, admin):
    servers = sorted(lb.servers("mlflow"))
    if len(servers) < 2:
        raise SystemExit(f"the mlflow backend has {len(servers)} server(s); this needs two")
    spare = servers[-1]  # the host taken out of service for the one-host mode
    password = f"Bench-{secrets.token_hex(12)}"
    tracking.ensure_user(url, admin, password)
    auth = (tracking.BENCH_USER, password)
    clients = [int(c) for c in args.clients.split(",")]
    ops = args.ops.split(",")
    exp, runs = tracking.prepare(type("V", (), {"unit": "scale"})(), url, auth, max(clients))
    results = {}  # (op, clients, mode) -> list of points
    try:
        for rnd in range(args.rounds):
            modes = ("one", "two") if rnd % 2 == 0 else ("two", "one")
            for mode in modes:
                lb.set_state("mlflow", spare, "maint" if mode == "one" else "ready")
                time.sleep(args.pause)
                for op in ops:
                    for n in clients:
                        before = lb.taken("mlflow")
                        point = tracking.load_point(url, auth, op, exp, runs, n, args.duration)
                        after = lb.taken("mlflow")
                        point["taken"] = {s: after[s] - before.get(s, 0) for s in after}
                        results.setdefault((op, n, mode), []).append(point)
                        print(f"  round {rnd + 1}/{args.rounds} {mode} host(s) {op} x{n}: {point['rps']:.1f}/s, "
                              f"{point['errors']} failed, taken {point['taken']}", file=sys.stderr)
                        time.sleep(args.pause)
    finally:
        lb.set_state("mlflow", spare, "ready")
    return results, spare


def tracking_table(results, args, spare):
    rows, figures = [], {}
    for op in args.ops.split(","):
        for n in (int(c) for c in args.clients.split(",")):
            one, two = results[(op, n, "one")], results[(op, n, "two")]
            r1, r2 = statistics.median(p["rps"] for p in one), statistics.median(p["rps"] for p in two)
            failed = sum(p["errors"] for p in one + two)
            taken_one = sum(p["taken"].get(spare, 0) for p in one)
            split = [sum(p["taken"].get(s, 0) for p in two) for s in sorted(two[0]["taken"])]
            share = min(split) / sum(split) if sum(split) else 0.0
            p50_1 = statistics.median(p["p50_ms"] for p in one)
            p50_2 = statistics.median(p["p50_ms"] for p in two)
            rows.append(f"| {op} | {n} | {r1:.1f} | {r2:.1f} | {r2 / r1:.2f} | {p50_1:.0f} / {p50_2:.0f} | "
                        f"{taken_one} | {share:.0%} | {failed} |")
            figures[f"{op}@{n}"] = {"one_rps": r1, "two_rps": r2, "ratio": r2 / r1, "p50_ms_one": p50_1,
                                    "p50_ms_two": p50_2, "failed": failed, "spare_took_in_one_mode": taken_one,
                                    "smaller_share_in_two_mode": share,
                                    "points": {m: [p["rps"] for p in results[(op, n, m)]] for m in ("one", "two")}}
    print(f"\nTracking through the load balancer: one MLflow host in service against two; median of "
          f"{args.rounds} rounds of {args.duration:.0f} s points, requests per second.")
    print("| operation | clients | 1 host req/s | 2 hosts req/s | 2 / 1 | p50 ms (1 / 2) "
          "| requests the spare took in 1-host mode | smaller server's share with 2 | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    return figures


# --- artifacts ------------------------------------------------------------------------------------

def start_single(node, password, scheme):
    """A single-host MinIO (one drive) on `node`'s container: the same binary, its own directory
    and port, a transient systemd unit; its root password goes through a 0600 file. With https, it
    serves the node's certificate (the cluster's certs-dir), as the cluster does."""
    certs = f"--certs-dir {MINIO_CERTS} " if scheme == "https" else ""
    sh(node, f"umask 077; cat > {SINGLE_ENV}",
       stdin=f"MINIO_ROOT_USER=mlsp-bench\nMINIO_ROOT_PASSWORD={password}\n")
    sh(node, f"systemctl stop {SINGLE_UNIT} 2>/dev/null || true; systemctl reset-failed {SINGLE_UNIT} "
             f"2>/dev/null || true; rm -rf {SINGLE_DIR}; install -d -o minio -g minio -m 0750 {SINGLE_DIR}; "
             f"systemd-run --unit {SINGLE_UNIT} -p User=minio -p Group=minio -p EnvironmentFile={SINGLE_ENV} "
             f"/usr/local/bin/minio server --quiet {certs}--address :{SINGLE_PORT} "
             f"--console-address 127.0.0.1:{SINGLE_PORT + 1} {SINGLE_DIR}")
    url = f"{scheme}://{container_address(node)}:{SINGLE_PORT}"
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            if requests.get(f"{url}/minio/health/ready", timeout=5).status_code == 200:
                return url
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"the single-host MinIO on {node} is not ready after 120 s")


def stop_single(node):
    sh(node, f"systemctl stop {SINGLE_UNIT} 2>/dev/null || true; systemctl reset-failed {SINGLE_UNIT} "
             f"2>/dev/null || true; rm -rf {SINGLE_DIR} {SINGLE_ENV}")


def s3_client(url, key, secret):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"},
                                      max_pool_connections=32))


def bench_artifacts(args, targets):
    """targets: {name: (client, bucket)}. Returns {(name, direction, streams): [seconds]}."""
    size = args.size_mb * 1000 * 1000
    payload = os.urandom(size)
    streams_list = [int(s) for s in args.streams.split(",")]
    times = {}
    prefix = f"bench-scale/{time.time_ns()}"
    names = list(targets)
    with concurrent.futures.ThreadPoolExecutor(max(streams_list)) as pool:
        for i in range(args.repeat):
            order = names[i % len(names):] + names[:i % len(names)]  # rotate who goes first
            for streams in streams_list:
                for name in order:
                    client, bucket = targets[name]
                    keys = [f"{prefix}/{streams}-{i}-{k}.bin" for k in range(streams)]

                    def put(key, client=client, bucket=bucket):
                        client.put_object(Bucket=bucket, Key=key, Body=payload)

                    def get(key, client=client, bucket=bucket):
                        got = 0
                        for chunk in client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(CHUNK):
                            got += len(chunk)
                        if got != size:
                            raise RuntimeError(f"{name}: {key} read back {got} bytes, not {size}")

                    for direction, fn in (("upload", put), ("download", get)):
                        t0 = time.perf_counter()
                        list(pool.map(fn, keys))
                        times.setdefault((name, direction, streams), []).append(time.perf_counter() - t0)
            print(f"  repetition {i + 1}/{args.repeat}: " + ", ".join(
                f"{n} {d} x{s} {size * s / 1e6 / t[-1]:.0f} MB/s" for (n, d, s), t in times.items()),
                file=sys.stderr)
    return times, prefix, size


def artifacts_table(times, args, size, names):
    print(f"\nArtifacts: a {args.size_mb} MB object per stream, S3 put and get with MLflow's credentials; "
          f"median of {args.repeat}, MB/s of all streams together.")
    print("| transfer | streams | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    figures = {}
    for direction in ("upload", "download"):
        for streams in (int(s) for s in args.streams.split(",")):
            cells = []
            for name in names:
                mb_s = size * streams / 1e6 / statistics.median(times[(name, direction, streams)])
                figures[f"{name}/{direction}/x{streams}"] = mb_s
                cells.append(f"{mb_s:.0f}")
            print(f"| {direction} | {streams} | " + " | ".join(cells) + " |")
    return figures


def remove_versions(client, bucket, prefix):
    """Every version of what this run wrote under `prefix` (the MLflow bucket is versioned)."""
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        doomed = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                  for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            client.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--prefix", required=True, help="the sandbox's container names' prefix (mlsp-<name>)")
    ap.add_argument("--duration", type=float, default=15, help="seconds per tracking point (default 15)")
    ap.add_argument("--rounds", type=int, default=3, help="tracking rounds, each mode once a round (default 3)")
    ap.add_argument("--clients", default="4,16")
    ap.add_argument("--ops", default="log_metric,search_runs")
    ap.add_argument("--pause", type=float, default=2, help="seconds of rest between points")
    ap.add_argument("--size-mb", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of each artifact transfer")
    ap.add_argument("--streams", default="1,4", help="concurrent artifact streams")
    ap.add_argument("--settle", type=float, default=240,
                    help="seconds to wait at most for the 1-minute load to drop below the cores (default 240)")
    ap.add_argument("--skip", choices=("tracking", "artifacts"), help="leave one half out")
    ap.add_argument("--json", help="write the figures to this file too")
    ap.add_argument("--ca", help="the sandbox's CA certificate (<inventory>/.pki/ca.crt): HTTPS, checked against it")
    args = ap.parse_args()
    vault = yaml.safe_load(sys.stdin.read())
    if not isinstance(vault, dict) or "vault_mlflow_admin_password" not in vault:
        raise SystemExit("expected the sandbox's vault.yml on standard input (bench/scale.sh passes it)")
    scheme = "http"
    if args.ca:  # outright: the environment may name another bundle (the system's)
        os.environ["REQUESTS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"] = args.ca
        scheme = "https"

    # The deploy just before leaves the load high: let it settle (bounded), so the run can start quiet.
    end = time.monotonic() + args.settle
    while judge.loadavg()[0] >= judge.cores() and time.monotonic() < end:
        time.sleep(5)
    lb = LoadBalancer(f"{args.prefix}-db")
    lb_ip = container_address(lb.container)
    node = f"{args.prefix}-s3-1"
    load_before = judge.loadavg()
    out = {"machine": {"cores": judge.cores()}}

    if args.skip != "tracking":
        results, spare = bench_tracking(args, lb, f"{scheme}://{lb_ip}:8080",
                                        ("admin", vault["vault_mlflow_admin_password"]))
        out["tracking"] = tracking_table(results, args, spare)

    if args.skip != "artifacts":
        mlflow_key = ("mlflow", vault["vault_minio_mlflow_secret_key"])
        single_password = secrets.token_urlsafe(24)
        targets = {
            "cluster via load balancer": (s3_client(f"{scheme}://{lb_ip}:9080", *mlflow_key), "mlflow"),
            "cluster, one node": (s3_client(f"{scheme}://{container_address(node)}:9000", *mlflow_key), "mlflow"),
        }
        single_url = start_single(node, single_password, scheme)
        try:
            single = s3_client(single_url, "mlsp-bench", single_password)
            single.create_bucket(Bucket=SINGLE_BUCKET)
            targets["single-host MinIO"] = (single, SINGLE_BUCKET)
            times, prefix, size = bench_artifacts(args, targets)
        finally:
            stop_single(node)
        remove_versions(s3_client(f"{scheme}://{lb_ip}:9080", "mlsp-admin", vault["vault_minio_root_password"]),
                        "mlflow", prefix + "/")
        out["artifacts"] = artifacts_table(times, args, size, list(targets))

    load_after = judge.loadavg()
    print("\n" + judge.load_line(load_before, load_after))
    print("Every client, HAProxy and all seven containers share the machine's cores: a second host adds "
          "processes, not cores (docs/performance.md).")
    if args.json:
        out.update(judge.load_json(load_before, load_after))
        pathlib.Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
