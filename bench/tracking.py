"""Benchmark 2, tracking throughput: authenticated log_metric, log_batch and search_runs against
MLflow servers on the benchmark stack's container, at 1, 4 and 16 concurrent clients.

Variants (all on the same container, same PostgreSQL, same MLflow virtual environment):
  a   the server as the mlflow role deploys it (port 5000: basic auth, auth DB in PostgreSQL, both
      databases through PgBouncer, the role's workers and credential cache);
  b   the design guide's way: `mlflow server --app-name basic-auth` with MLflow's default settings
      (4 workers, MLflow's own basic_auth.ini: auth DB in SQLite, no credential cache), tracking
      store on PostgreSQL directly (port 5432; the URI says postgresql+psycopg2://, because a bare
      postgresql:// needs psycopg 3, which MLflow's venv does not have);
  c   the same server as b without --app-name basic-auth: no authentication, the ceiling;
  a@ttl=N,workers=N,auth=0,authdirect=1,dbdirect=1   a copy of the role's server (its unit and
      basic_auth.ini, on another port) with another credential cache TTL, number of workers,
      without the basic-auth app (auth=0), with the auth database (authdirect=1) or the tracking
      database (dbdirect=1) reached straight on PostgreSQL's port 5432 instead of through
      PgBouncer: what a default change is worth, and what authentication costs on our setup.

Each client is a thread with its own requests session that calls MLflow's REST API in a loop for a
fixed time; the points run variant after variant for each operation and client count (the order
rotates), so that the variants of one row share the machine's conditions. Authenticated variants
log in as a non-admin user ("bench", created by this script), which owns its experiment.

The servers the script starts (all but a) run without MLflow's job runner, to fit in memory.

Run by bench/tracking.sh (which makes the stack when it is missing); the secrets come from the
benchmark inventory ($BENCH_INV), never from a command line, and are never printed.
"""
import argparse
import importlib.util
import json
import math
import os
import pathlib
import secrets
import subprocess
import sys
import threading
import time

import requests
import yaml

import judge  # bench/judge.py: when a target may be called met

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "helpers"))
from mlsp_testlib import container_address  # noqa: E402  pylint: disable=wrong-import-position
# The collection's quoting of environment files (the filter env_quote), for the files written here.
# The filter imports Ansible's to_text, which the client venv this runs in does not have: for the
# str values given here, str() is what to_text returns.
try:
    import ansible.module_utils.common.text.converters  # noqa: F401  pylint: disable=unused-import
except ImportError:
    import types
    for _name in ("ansible", "ansible.module_utils", "ansible.module_utils.common",
                  "ansible.module_utils.common.text", "ansible.module_utils.common.text.converters"):
        sys.modules.setdefault(_name, types.ModuleType(_name))
    sys.modules["ansible.module_utils.common.text.converters"].to_text = str
_SPEC = importlib.util.spec_from_file_location(
    "env_file", pathlib.Path(__file__).resolve().parents[1] / "plugins" / "filter" / "env_file.py")
env_file = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(env_file)

OPS = ("log_metric", "log_batch", "search_runs")
BENCH_USER = "bench"
SEED_RUNS = 20
BATCH_METRICS = 10
SEARCH_MAX_RESULTS = 50


# --- the container ------------------------------------------------------------------------------

class Container:
    def __init__(self, name):
        self.name = name
        self.ip = container_address(name)

    def sh(self, script, stdin=None, check=True):
        """Run a shell script in the container (script text on stdin when `stdin` is None is not
        used: secrets only ever travel on stdin)."""
        proc = subprocess.run(["docker", "exec", "-i", self.name, "sh", "-ec", script],
                              input=stdin, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"in {self.name}: {script.splitlines()[0]}...: {proc.stderr.strip()[-800:]}")
        return proc.stdout

    def write(self, path, text, mode="0600", owner="root:root"):
        self.sh(f"umask 077; cat > {path}; chown {owner} {path}; chmod {mode} {path}", stdin=text)


# --- the servers --------------------------------------------------------------------------------

VARIANT_OPTIONS = ("ttl", "workers", "auth", "authdirect", "dbdirect")
PGBOUNCER_PORT, POSTGRESQL_PORT = 6432, 5432


class Variant:
    """One server to measure: its name, port, whether it needs a login, how to start it."""

    def __init__(self, spec, port):
        self.spec = spec
        self.port = port
        self.auth = spec != "c"
        self.unit = None  # systemd unit this script starts (None: the role's own server)
        self.workers = None  # of a unit this script starts
        self.url = None
        self.options = {}
        if spec.startswith("a@"):
            for item in spec[2:].split(","):
                key, value = item.split("=")
                if key not in VARIANT_OPTIONS:
                    raise SystemExit(f"unknown variant option {key!r} in {spec!r} ({', '.join(VARIANT_OPTIONS)})")
                self.options[key] = int(value)
            self.auth = self.options.get("auth", 1) == 1
            self.unit = "mlsp-bench-role-" + "-".join(f"{k}{v}" for k, v in sorted(self.options.items()))
        elif spec == "b":
            self.unit = "mlsp-bench-guide"
        elif spec == "c":
            self.unit = "mlsp-bench-noauth"
        elif spec != "a":
            raise SystemExit(f"unknown variant {spec!r}: a, b, c or a@ttl=N,workers=N,auth=0|1")

    @property
    def label(self):
        return {"a": "a: our roles", "b": "b: design guide", "c": "c: no auth (ceiling)"}.get(self.spec, self.spec)


# The servers this script starts run without MLflow's job runner (eight idle huey consumer
# processes, about 1.9 GB, that no request measured here uses), so that six servers fit in memory
# beside the rest of the machine's work; the role's own server (a) keeps it, as deployed.
NO_JOB_RUNNER = 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"\n'

GUIDE_UNIT = """[Unit]
Description=MLflow as the design guide runs it (benchmark variant {spec})
After=network-online.target postgresql.service

[Service]
User=mlflow
Group=mlflow
WorkingDirectory={workdir}
Environment=HOME={workdir}
EnvironmentFile=/etc/mlsp-bench/guide.env
ExecStart=/opt/mlflow/bin/mlflow server {app} --backend-store-uri postgresql+psycopg2://mlflow@127.0.0.1:5432/mlflow \
--host 0.0.0.0 --port {port}
TimeoutStopSec=30
"""


def role_unit(container, variant):
    """The role's unit, moved to another port, working folder and basic_auth.ini."""
    workdir = f"/var/lib/mlsp-bench/{variant.unit}"
    unit = container.sh("cat /etc/systemd/system/mlflow.service")
    ini = container.sh("cat /etc/mlflow/basic_auth.ini")
    replacements = [
        ("--port 5000 ", f"--port {variant.port} "),
        ("WorkingDirectory=/var/lib/mlflow\n", f"WorkingDirectory={workdir}\n"),
        ("Environment=HOME=/var/lib/mlflow\n", f"Environment=HOME={workdir}\n"),
        ("ReadWritePaths=/var/lib/mlflow\n", f"ReadWritePaths={workdir}\n"),
        ("EnvironmentFile=/etc/mlflow/admin.env\n",
         f"EnvironmentFile=/etc/mlflow/admin.env\nEnvironmentFile=/etc/mlsp-bench/{variant.unit}.env\n"),
    ]
    if not variant.auth:
        replacements.append(("    --app-name basic-auth \\\n", ""))
    if "workers" in variant.options:
        current = unit.split("--workers ")[1].split()[0]
        replacements.append((f"--workers {current} ", f"--workers {variant.options['workers']} "))
    for old, new in replacements:
        if old not in unit:
            raise RuntimeError(f"the role's mlflow.service has no {old.strip()!r}: update bench/tracking.py")
        unit = unit.replace(old, new, 1)
    if variant.options.get("dbdirect"):
        db = f"@127.0.0.1:{PGBOUNCER_PORT}/mlflow "
        if unit.count(db) != 2:
            raise RuntimeError(f"the role's mlflow.service has no {db.strip()!r} twice: update bench/tracking.py")
        unit = unit.replace(db, f"@127.0.0.1:{POSTGRESQL_PORT}/mlflow ")
    if variant.options.get("authdirect"):
        db = f"@127.0.0.1:{PGBOUNCER_PORT}/mlflow_auth"
        if db not in ini:
            raise RuntimeError(f"the role's basic_auth.ini has no {db!r}: update bench/tracking.py")
        ini = ini.replace(db, f"@127.0.0.1:{POSTGRESQL_PORT}/mlflow_auth")
    if "ttl" in variant.options:
        lines = [ln for ln in ini.splitlines() if not ln.startswith("auth_cache_ttl_seconds")]
        ini = "\n".join(lines + [f"auth_cache_ttl_seconds = {variant.options['ttl']}"]) + "\n"
    container.sh(f"mkdir -p {workdir} && chown mlflow:mlflow {workdir}")
    container.write(f"/etc/mlsp-bench/{variant.unit}.ini", ini, mode="0640", owner="root:mlflow")
    container.write(f"/etc/mlsp-bench/{variant.unit}.env",
                    f'MLFLOW_AUTH_CONFIG_PATH="/etc/mlsp-bench/{variant.unit}.ini"\n{NO_JOB_RUNNER}')
    return unit


def start_servers(container, variants, secrets_):
    container.sh("mkdir -p /etc/mlsp-bench")
    # b and c: only what MLflow itself needs to start (the database password through PGPASSWORD,
    # the Flask key the basic-auth app requires, the admin's first password for its new SQLite).
    container.write("/etc/mlsp-bench/guide.env", "".join(
        f"{k}={env_file.env_quote(v)}\n"
        for k, v in (("PGPASSWORD", secrets_["vault_postgresql_mlflow_password"]),
                     ("MLFLOW_FLASK_SERVER_SECRET_KEY", secrets_["vault_mlflow_flask_secret_key"]),
                     ("MLFLOW_AUTH_ADMIN_PASSWORD", secrets_["vault_mlflow_admin_password"])))
                    + NO_JOB_RUNNER)
    for v in variants:
        if v.unit is None:
            continue
        if v.spec in ("b", "c"):
            workdir = f"/var/lib/mlsp-bench/{v.unit}"
            container.sh(f"mkdir -p {workdir} && chown mlflow:mlflow {workdir}")
            unit = GUIDE_UNIT.format(spec=v.spec, workdir=workdir, port=v.port,
                                     app="--app-name basic-auth" if v.spec == "b" else "")
        else:
            unit = role_unit(container, v)
        container.write(f"/etc/systemd/system/{v.unit}.service", unit, mode="0644")
        v.workers = int(unit.split("--workers ")[1].split()[0]) if "--workers " in unit else 4  # MLflow's default
    units = [f"{v.unit}.service" for v in variants if v.unit]
    if units:
        container.sh(f"systemctl daemon-reload && systemctl restart {' '.join(units)}")


def stop_servers(container, variants):
    units = [f"{v.unit}.service" for v in variants if v.unit]
    if units:
        container.sh(f"systemctl stop {' '.join(units)}; rm -f "
                     + " ".join(f"/etc/systemd/system/{u}" for u in units) + "; systemctl daemon-reload",
                     check=False)


def wait_ready(container, variant, seconds):
    """Until /health answers and, for a server this script started, every worker has started:
    uvicorn's parent accepts connections long before its workers have imported MLflow."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{variant.url}/health", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(2)
    else:
        raise SystemExit(f"{variant.url}/health did not answer within {seconds} s")
    if variant.unit is None:
        return
    while time.monotonic() < deadline:
        started = int(container.sh(
            f"journalctl -o cat _SYSTEMD_INVOCATION_ID=$(systemctl show -p InvocationID --value {variant.unit}) "
            "| grep -c 'Application startup complete' || true").strip() or 0)
        if started >= variant.workers:
            return
        time.sleep(2)
    raise SystemExit(f"{variant.unit}: not every worker started within {seconds} s")


# --- the data each variant works on -------------------------------------------------------------

def call(session, url, method, path, body=None, ok=(200,)):
    for attempt in range(3):
        try:
            resp = session.request(method, f"{url}/api/2.0/mlflow/{path}", json=body, timeout=120)
            break
        except requests.ConnectionError:
            if attempt == 2:
                raise
            time.sleep(5)
    if resp.status_code not in ok:
        raise RuntimeError(f"{method} {path}: HTTP {resp.status_code} {resp.text[:300]}")
    return resp.json() if resp.content else {}


def ensure_user(url, admin, password):
    """The non-admin user the clients log in as, with this run's password."""
    s = requests.Session()
    s.auth = admin
    resp = s.post(f"{url}/api/2.0/mlflow/users/create", json={"username": BENCH_USER, "password": password},
                  timeout=120)
    if resp.status_code != 200:
        if "RESOURCE_ALREADY_EXISTS" not in resp.text:
            raise RuntimeError(f"users/create: HTTP {resp.status_code} {resp.text[:300]}")
        call(s, url, "PATCH", "users/update-password", {"username": BENCH_USER, "password": password})


def prepare(variant, url, auth, max_clients):
    """An experiment of the bench user's with SEED_RUNS finished runs (what search_runs returns)
    and one run per client to log to."""
    s = requests.Session()
    s.auth = auth
    name = f"bench-{variant.unit or 'role'}-{time.time_ns()}"
    exp = call(s, url, "POST", "experiments/create", {"name": name})["experiment_id"]
    now = int(time.time() * 1000)
    for i in range(SEED_RUNS):
        run = call(s, url, "POST", "runs/create", {"experiment_id": exp, "start_time": now})["run"]["info"]["run_id"]
        call(s, url, "POST", "runs/log-batch", {
            "run_id": run,
            "params": [{"key": f"p{k}", "value": str(i * k)} for k in range(5)],
            "metrics": [{"key": f"m{k}", "value": i * 0.1 + k, "timestamp": now, "step": 0} for k in range(5)],
            "tags": [{"key": "seed", "value": "yes"}]})
        call(s, url, "POST", "runs/update", {"run_id": run, "status": "FINISHED", "end_time": now})
    runs = [call(s, url, "POST", "runs/create", {"experiment_id": exp, "start_time": now})["run"]["info"]["run_id"]
            for client in range(max_clients)]
    return exp, runs


# --- the load -----------------------------------------------------------------------------------

def request_body(op, exp, run, step):
    ts = int(time.time() * 1000)
    if op == "log_metric":
        return "runs/log-metric", {"run_id": run, "key": "m", "value": step * 0.5, "timestamp": ts, "step": step}
    if op == "log_batch":
        return "runs/log-batch", {"run_id": run, "metrics": [
            {"key": f"b{k}", "value": step + k, "timestamp": ts, "step": step} for k in range(BATCH_METRICS)]}
    return "runs/search", {"experiment_ids": [exp], "max_results": SEARCH_MAX_RESULTS}


def load_point(url, auth, op, exp, runs, clients, duration):
    """`clients` threads, each with its own session, for `duration` seconds. Returns the figures."""
    latencies, errors, lock = [], [], threading.Lock()
    start_barrier = threading.Barrier(clients + 1)
    bounds = {}

    def client(i):
        s = requests.Session()
        if auth:
            s.auth = auth
        run = runs[i]
        mine, bad = [], []
        # One untimed request per client opens its connection (and warms the worker it lands on).
        path, body = request_body(op, exp, run, 0)
        try:
            s.post(f"{url}/api/2.0/mlflow/{path}", json=body, timeout=120)
        except requests.RequestException:
            pass
        start_barrier.wait()
        step = 1
        while time.monotonic() < bounds["end"]:
            path, body = request_body(op, exp, run, step)
            t0 = time.perf_counter()
            try:
                resp = s.post(f"{url}/api/2.0/mlflow/{path}", json=body, timeout=120)
                status = resp.status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - t0
            if status == 200:
                mine.append(elapsed)
            else:
                bad.append(status)
            step += 1
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    bounds["end"] = time.monotonic() + 1e9
    start_barrier.wait()
    t0 = time.monotonic()
    bounds["end"] = t0 + duration
    for t in threads:
        t.join(duration + 180)
    wall = time.monotonic() - t0
    lat = sorted(latencies)

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] * 1000 if lat else float("nan")

    return {"requests": len(lat), "errors": len(errors), "error_kinds": sorted({str(e) for e in errors}),
            "seconds": wall, "rps": len(lat) / wall, "p50_ms": pct(50), "p99_ms": pct(99)}


def pgbouncer_stats(container, password):
    """(transactions, microseconds clients waited for a server connection), both databases."""
    out = container.sh("PGPASSWORD=$(cat) psql -h 127.0.0.1 -p 6432 -U pgbouncer_admin -A -F, -P footer=off "
                       "pgbouncer -c 'SHOW STATS'", stdin=password, check=False)
    lines = out.splitlines()
    if not lines:
        return 0, 0
    names = lines[0].split(",")
    xact = wait = 0
    for line in lines[1:]:
        row = dict(zip(names, line.split(",")))
        if row.get("database") in ("mlflow", "mlflow_auth"):
            xact += int(row["total_xact_count"])
            wait += int(row["total_wait_time"])
    return xact, wait


def hash_cost_ms(container):
    """Median CPU time of one password check as the auth app makes it (werkzeug, the server's venv)."""
    script = ("import statistics, time\n"
              "from werkzeug.security import check_password_hash, generate_password_hash\n"
              "h = generate_password_hash('bench-password-0')\n"
              "t = []\n"
              "for _ in range(5):\n"
              "    t0 = time.process_time(); check_password_hash(h, 'bench-password-0')\n"
              "    t.append(time.process_time() - t0)\n"
              "print(statistics.median(t) * 1000, h.split('$')[0])\n")
    out = container.sh("/opt/mlflow/bin/python -", stdin=script).split()
    return float(out[0]), out[1]


# --- output -------------------------------------------------------------------------------------

def fmt(x, digits=0):
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"  # NaN: no successful request


TARGETS = (("b", 20), ("c", 0.9))  # a/b >= 20 and a/c >= 0.9 at 16 clients


def verdicts(results, variants, clients_list, ops, load_before):
    """The targets at 16 clients, judged only on a quiet machine and when both servers ran in
    this run."""
    specs = {v.spec for v in variants}
    out = []
    for op in ops:
        for base, target in TARGETS:
            name = f"{op}, a/{base} >= {target:g} at 16 clients"
            if "a" not in specs or base not in specs or 16 not in clients_list:
                out.append((name, None, judge.verdict(False, load_before, measured=False)))
                continue
            row = results[op]["16"]
            ratio = row["a"]["rps"] / row[base]["rps"] if row[base]["rps"] else float("nan")
            out.append((name, ratio, judge.verdict(ratio >= target, load_before)))
    return out


def print_tables(results, variants, clients_list, ops, header):
    print(header)
    for op in ops:
        print(f"\n{op}")
        print("| clients | server | req/s | p50 ms | p99 ms | errors |")
        print("|---:|---|---:|---:|---:|---:|")
        for n in clients_list:
            for v in variants:
                r = results[op][str(n)][v.spec]
                errs = f"{r['errors']}" + (f" ({', '.join(r['error_kinds'])})" if r["errors"] else "")
                print(f"| {n} | {v.label} | {fmt(r['rps'], 1)} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {errs} |")
    by = {v.spec: v for v in variants}
    if "a" in by and ("b" in by or "c" in by):
        others = [v for v in variants if v.spec not in ("b", "c")]
        print("\nRatios of req/s (target at 16 clients: a/b >= 20, a/c >= 0.9)")
        cols = [(v, base) for v in others for base in ("b", "c") if base in by]
        print("| operation | clients | " + " | ".join(f"{v.spec}/{base}" for v, base in cols) + " |")
        print("|---|---:|" + "---:|" * len(cols))
        for op in ops:
            for n in clients_list:
                row = results[op][str(n)]
                cells = []
                for v, base in cols:
                    den = row[base]["rps"]
                    cells.append(f"{row[v.spec]['rps'] / den:.2f}" if den else "n/a")
                print(f"| {op} | {n} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--container", default=os.environ.get("BENCH_STACK", "mlsp-bench-stack"))
    ap.add_argument("--inventory", default=os.environ.get("BENCH_INV"),
                    help="the benchmark inventory (its group_vars/all/secrets.yml)")
    ap.add_argument("--duration", type=float, default=15, help="seconds per point (default 15)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--variants", default="a,b,c",
                    help="comma-free list separated by spaces or ';': a b c a@ttl=0 a@workers=2 ...")
    ap.add_argument("--pause", type=float, default=2, help="seconds of rest between points")
    ap.add_argument("--login", choices=("user", "admin"), default="user",
                    help="log in as the non-admin user 'bench' (default; MLflow checks its permissions on "
                         "every request) or as the admin (no permission checks)")
    ap.add_argument("--json", help="write the figures to this file too")
    ap.add_argument("--keep-servers", action="store_true", help="leave the extra servers running")
    args = ap.parse_args()

    if not args.inventory:
        raise SystemExit("--inventory (or BENCH_INV) is required")
    secrets_ = yaml.safe_load(pathlib.Path(args.inventory, "group_vars/all/secrets.yml").read_text())
    clients_list = [int(x) for x in args.clients.split(",")]
    ops = args.ops.split(",")
    for op in ops:
        if op not in OPS:
            raise SystemExit(f"unknown operation {op!r}: {', '.join(OPS)}")
    specs = args.variants.replace(";", " ").split()
    if len(specs) != len(set(specs)):
        raise SystemExit("a variant is listed twice")
    variants = []
    for spec in specs:
        port = 5000 if spec == "a" else {"b": 5001, "c": 5002}.get(spec, 5010 + len(variants))
        variants.append(Variant(spec, port))

    container = Container(args.container)
    # The role's server and its copies serve HTTPS with the CA site.yml made beside the inventory
    # (TLS, the default: docs/tls.md), checked as a client does; b and c, the design guide's, HTTP.
    ca = pathlib.Path(args.inventory, ".pki", "ca.crt")
    if ca.exists():  # outright: the environment may name another bundle (the system's)
        os.environ["REQUESTS_CA_BUNDLE"] = str(ca)
    admin = ("admin", secrets_["vault_mlflow_admin_password"])
    state = pathlib.Path(args.inventory).parent
    pw_file = state / "bench-user-password"
    if not pw_file.exists():
        pw_file.write_text(f"Bench-user-{secrets.token_hex(10)}")
        pw_file.chmod(0o600)
    user = (BENCH_USER, pw_file.read_text().strip()) if args.login == "user" else admin

    load_before = judge.loadavg()
    print(f"starting the servers of {', '.join(v.spec for v in variants)} on {container.name}", file=sys.stderr)
    start_servers(container, variants, secrets_)
    try:
        for v in variants:
            scheme = "https" if ca.exists() and v.spec not in ("b", "c") else "http"
            v.url = f"{scheme}://{container.ip}:{v.port}"
            wait_ready(container, v, 600)
        setup = {}
        for v in variants:
            if v.auth and args.login == "user":
                ensure_user(v.url, admin, user[1])
            setup[v.spec] = prepare(v, v.url, user if v.auth else None, max(clients_list))
        results = {op: {str(n): {} for n in clients_list} for op in ops}
        turn = 0
        total = len(ops) * len(clients_list) * len(variants)
        for op in ops:
            for n in clients_list:
                order = variants[turn % len(variants):] + variants[:turn % len(variants)]
                turn += 1
                for v in order:
                    exp, runs = setup[v.spec]
                    measure_pgb = v.spec.startswith("a") and n == max(clients_list)
                    before = pgbouncer_stats(container, secrets_["vault_pgbouncer_admin_password"]) \
                        if measure_pgb else None
                    r = load_point(v.url, user if v.auth else None, op, exp, runs, n, args.duration)
                    if measure_pgb:
                        after = pgbouncer_stats(container, secrets_["vault_pgbouncer_admin_password"])
                        xacts = after[0] - before[0]
                        r["pgbouncer"] = {
                            "xact_per_request": xacts / r["requests"] if r["requests"] else float("nan"),
                            "wait_ms_per_xact": (after[1] - before[1]) / 1000 / xacts if xacts else 0.0}
                    results[op][str(n)][v.spec] = r
                    done = sum(len(x) for y in results.values() for x in y.values())
                    print(f"  [{done}/{total}] {op} x{n} {v.spec}: {r['rps']:.1f} req/s, p50 {fmt(r['p50_ms'])} ms,"
                          f" p99 {fmt(r['p99_ms'])} ms, {r['errors']} errors", file=sys.stderr)
                    time.sleep(args.pause)
        load_after = judge.loadavg()
        hash_ms, hash_method = hash_cost_ms(container)
        workers = container.sh("grep -o -- '--workers [0-9]*' /etc/systemd/system/mlflow.service").split()[-1]
        ttl = container.sh("sed -n 's/^auth_cache_ttl_seconds = //p' /etc/mlflow/basic_auth.ini").strip()
        header = (f"Tracking benchmark: {args.duration:g} s per point, variants interleaved; server container "
                  f"{container.name} ({os.cpu_count()} cores shared with the load generator on the host); "
                  f"clients log in as {'the non-admin user bench' if args.login == 'user' else 'the admin'}; "
                  f"a = the role's server: {workers} workers, auth_cache_ttl_seconds = {ttl}. One password check "
                  f"({hash_method}, in the server's venv) takes {hash_ms:.0f} ms of CPU.\n"
                  + judge.load_line(load_before, load_after))
        print()
        print_tables(results, variants, clients_list, ops, header)
        judged = verdicts(results, variants, clients_list, ops, load_before)
        print("\nTargets")
        for name, ratio, word in judged:
            print(f"- {name}: " + (f"{ratio:.2f}, " if ratio is not None else "") + word)
        top = str(max(clients_list))
        pgb_variants = [v for v in variants if v.spec.startswith("a")]
        if pgb_variants:
            print(f"\nPgBouncer at {top} clients (SHOW STATS): transactions per successful request / ms a "
                  "transaction waited for a server connection (pool too small if above 0)")
            print("| operation | " + " | ".join(v.spec for v in pgb_variants) + " |")
            print("|---|" + "---:|" * len(pgb_variants))
            for op in ops:
                cells = [results[op][top][v.spec].get("pgbouncer") for v in pgb_variants]
                print(f"| {op} | " + " | ".join(
                    f"{c['xact_per_request']:.1f} / {c['wait_ms_per_xact']:.2f}" if c else "n/a" for c in cells) + " |")
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps({
                "results": results, "variants": [v.spec for v in variants],
                **judge.load_json(load_before, load_after), "duration": args.duration,
                "targets": [{"target": name, "ratio": ratio, "verdict": word} for name, ratio, word in judged],
                "role_workers": workers, "role_ttl": ttl, "hash_ms": hash_ms, "login": args.login}, indent=1))
    finally:
        if not args.keep_servers:
            stop_servers(container, variants)


if __name__ == "__main__":
    main()
