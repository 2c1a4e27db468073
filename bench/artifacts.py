"""Benchmark 3, artifacts: a 100 MB artifact uploaded and downloaded through the MLflow server's
artifact proxy (the mlflow-artifacts REST API, authenticated, as clients of the stack do), against
the same object put and got straight to MinIO with boto3 (put_object / get_object, with the
credentials MLflow itself writes with). The four transfers alternate, REPEAT times; the table gives
the median MB/s (1 MB = 10^6 bytes) and the ratio proxy / direct.

Run by bench/artifacts.sh (which makes the stack when it is missing); secrets come from the
benchmark inventory ($BENCH_INV), never from a command line, and are never printed.
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import boto3
import requests
import yaml
from botocore.config import Config

import judge  # bench/judge.py: when a target may be called met

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "helpers"))
from mlsp_testlib import container_address  # noqa: E402  pylint: disable=wrong-import-position

BENCH_USER = "bench"
CHUNK = 1 << 20


def check(resp, what):
    if resp.status_code != 200:
        raise SystemExit(f"{what}: HTTP {resp.status_code} {resp.text[:300]}")
    return resp.json() if resp.content else {}


def ensure_user(url, admin, password):
    resp = requests.post(f"{url}/api/2.0/mlflow/users/create", auth=admin, timeout=60,
                         json={"username": BENCH_USER, "password": password})
    if resp.status_code != 200:
        if "RESOURCE_ALREADY_EXISTS" not in resp.text:
            check(resp, "users/create")
        check(requests.patch(f"{url}/api/2.0/mlflow/users/update-password", auth=admin, timeout=60,
                             json={"username": BENCH_USER, "password": password}), "users/update-password")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--container", default=os.environ.get("BENCH_STACK", "mlsp-bench-stack"))
    ap.add_argument("--inventory", default=os.environ.get("BENCH_INV"))
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", help="write the figures to this file too")
    args = ap.parse_args()
    if not args.inventory:
        raise SystemExit("--inventory (or BENCH_INV) is required")

    secrets_ = yaml.safe_load(pathlib.Path(args.inventory, "group_vars/all/secrets.yml").read_text())
    ip = container_address(args.container)
    # site.yml serves HTTPS with the CA it made beside the inventory (docs/tls.md); checked as a client does.
    ca = pathlib.Path(args.inventory, ".pki", "ca.crt")
    scheme = "https" if ca.exists() else "http"
    if ca.exists():  # outright: the environment may name another bundle (the system's)
        os.environ["REQUESTS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"] = str(ca)
    url = f"{scheme}://{ip}:5000"
    pw_file = pathlib.Path(args.inventory).parent / "bench-user-password"
    if not pw_file.exists():
        pw_file.write_text(f"Bench-user-{os.urandom(10).hex()}")
        pw_file.chmod(0o600)
    user = (BENCH_USER, pw_file.read_text().strip())
    ensure_user(url, ("admin", secrets_["vault_mlflow_admin_password"]), user[1])

    session = requests.Session()
    session.auth = user
    exp = check(session.post(f"{url}/api/2.0/mlflow/experiments/create", timeout=60,
                             json={"name": f"bench-artifacts-{time.time_ns()}"}), "experiments/create")["experiment_id"]
    run = check(session.post(f"{url}/api/2.0/mlflow/runs/create", timeout=60,
                             json={"experiment_id": exp}), "runs/create")["run"]["info"]
    # The run's artifact root is mlflow-artifacts:/<experiment>/<run>/artifacts: the proxy's path.
    root = run["artifact_uri"].split("mlflow-artifacts:", 1)[1].lstrip("/")

    bucket = "mlflow"
    s3 = boto3.client("s3", endpoint_url=f"{scheme}://{ip}:9000", region_name="us-east-1",
                      aws_access_key_id="mlflow", aws_secret_access_key=secrets_["vault_minio_mlflow_secret_key"],
                      config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    size = args.size_mb * 1000 * 1000
    payload = os.urandom(size)

    def proxy_up(i):
        resp = session.put(f"{url}/api/2.0/mlflow-artifacts/artifacts/{root}/blob-{i}.bin", data=payload,
                           timeout=600)
        check(resp, "artifact upload")

    def proxy_down(i):
        got = 0
        with session.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/{root}/blob-{i}.bin", stream=True,
                         timeout=600) as resp:
            if resp.status_code != 200:
                raise SystemExit(f"artifact download: HTTP {resp.status_code}")
            for chunk in resp.iter_content(CHUNK):
                got += len(chunk)
        if got != size:
            raise SystemExit(f"artifact download: {got} bytes, not {size}")

    direct_key = f"bench-direct/{exp}"

    def direct_up(i):
        s3.put_object(Bucket=bucket, Key=f"{direct_key}/blob-{i}.bin", Body=payload)

    def direct_down(i):
        body = s3.get_object(Bucket=bucket, Key=f"{direct_key}/blob-{i}.bin")["Body"]
        got = 0
        for chunk in body.iter_chunks(CHUNK):
            got += len(chunk)
        if got != size:
            raise SystemExit(f"direct download: {got} bytes, not {size}")

    transfers = {"upload": (proxy_up, direct_up), "download": (proxy_down, direct_down)}
    times = {(d, w): [] for d in transfers for w in ("proxy", "direct")}
    load_before = judge.loadavg()
    for i in range(args.repeat):
        # Alternate which path goes first, so that neither always meets a warmer cache.
        order = ("proxy", "direct") if i % 2 == 0 else ("direct", "proxy")
        for direction, (via_proxy, via_direct) in transfers.items():
            for way in order:
                fn = via_proxy if way == "proxy" else via_direct
                t0 = time.perf_counter()
                fn(i)
                times[(direction, way)].append(time.perf_counter() - t0)
        print(f"  repetition {i + 1}/{args.repeat}: " + ", ".join(
            f"{d} {w} {size / 1e6 / t[-1]:.0f} MB/s" for (d, w), t in times.items()), file=sys.stderr)
    load_after = judge.loadavg()

    # Leave the bucket as it was: every version of what this run wrote (the bucket is versioned).
    admin_s3 = boto3.client("s3", endpoint_url=f"{scheme}://{ip}:9000", region_name="us-east-1",
                            aws_access_key_id="mlsp-admin", aws_secret_access_key=secrets_["vault_minio_root_password"])
    for prefix in (f"{root}/", f"{direct_key}/"):
        listing = admin_s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        doomed = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                  for o in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]
        if doomed:
            admin_s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})

    print(f"\nArtifact benchmark: {args.size_mb} MB object, median of {args.repeat}; client on the host, "
          f"MLflow and MinIO on {args.container} ({os.cpu_count()} cores shared).")
    print(judge.load_line(load_before, load_after))
    print("| transfer | through MLflow MB/s | straight to MinIO MB/s | proxy / direct (target >= 0.70) | verdict |")
    print("|---|---:|---:|---:|---|")
    figures = {}
    for direction in transfers:
        proxy = size / 1e6 / statistics.median(times[(direction, "proxy")])
        direct = size / 1e6 / statistics.median(times[(direction, "direct")])
        word = judge.verdict(proxy / direct >= 0.70, load_before)
        figures[direction] = {"proxy_mb_s": proxy, "direct_mb_s": direct, "ratio": proxy / direct, "verdict": word}
        print(f"| {direction} | {proxy:.0f} | {direct:.0f} | {proxy / direct:.2f} | {word} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({
            "size_mb": args.size_mb, "repeat": args.repeat, "transfers": figures,
            **judge.load_json(load_before, load_after)}, indent=1))


if __name__ == "__main__":
    main()
