"""Drills: where the secrets are, and where they must never be.

- at rest: the files that hold a secret are the documented ones, 0600/0640 with their documented
  owners, and every secret is in one of them (else the scan is broken); the MLflow host holds no
  MinIO root credentials;
- in output and argv: a real site.yml run at -vvv shows no secret in any encoding, while the argv
  of every process on every host and on the controller, sampled about once a second during it,
  holds none; nor does any process list afterwards.
"""
import base64
import json
import re

from stacklib import HOSTS, MINIO_ROOT_USER, MLFLOW, SECRETS, argv_hits, check, controller_argv_hits, exec_in, note

# The files that hold secrets, as the documentation describes them: path pattern, modes, owner:group.
SECRET_FILES = [
    (r"/etc/mlflow/mlflow\.env", {"0600"}, "root:mlflow"),  # docs/mlflow.md
    (r"/etc/mlflow/admin\.env", {"0600"}, "root:mlflow"),  # docs/mlflow.md
    (r"/etc/default/minio", {"0640"}, "root:minio"),  # docs/minio.md
    (r"/etc/pgbouncer/userlist\.txt", {"0640"}, "root:pgbouncer"),  # docs/pgbouncer.md
    # MinIO's own IAM store (the mlflow user's secret key), in its 0750 data folder.
    (r"/var/lib/minio/data/\.minio\.sys/.*", {"0600", "0640"}, "minio:minio"),
]


def encodings(secret):
    """The secret, how Ansible's output would quote it (JSON or YAML double-quoted, YAML
    single-quoted), and how it would look in base64 at each of the three alignments."""
    forms = {secret, json.dumps(secret)[1:-1], secret.replace("'", "''")}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret.encode()).decode()
        forms.add(encoded[(shift * 4 + 2) // 3 + 1:-4])  # drop the characters that mix in neighbours
    return {form for form in forms if len(form) >= 8}


def test_secret_files_are_private_and_owned_as_documented(secret_scan):
    found = [dict(f, host=host) for host, scan in secret_scan.items() for f in scan["files"]]
    wrong = []
    for f in found:
        rule = next((r for r in SECRET_FILES if re.fullmatch(r[0], f["path"])), None)
        owner = f"{f['owner']}:{f['group']}"
        if rule is None or f["mode"] not in rule[1] or owner != rule[2]:
            wrong.append(f"{f['host']}:{f['path']} {f['mode']} {owner} holds {f['secrets']}")
    # Every secret is somewhere on disk where its service reads it (else the scan missed it).
    # The CA's passphrase never reaches a host: only the controller's CA key is encrypted with it
    # (and this scenario runs with TLS off, docs/tls.md).
    unseen = sorted(set(SECRETS) - {"vault_tls_ca_passphrase"} - {s for f in found for s in f["secrets"]})
    check("secrets not found on disk", len(unseen), "0", not unseen, f"the scan found no file with {unseen}")
    check("secret files: wrong mode", f"{len(wrong)} of {len(found)}", "0", not wrong, wrong)


def test_mlflow_host_holds_no_minio_root_credentials(secret_scan):
    scan = secret_scan[MLFLOW]
    files = [f["path"] for f in scan["files"] if "vault_minio_root_password" in f["secrets"]]
    procs = [p for p in scan["environ"] if p["secret"] == "vault_minio_root_password"]
    rc, out, err = exec_in(MLFLOW, ["grep", "-rlw", "-e", MINIO_ROOT_USER, "/etc/mlflow", "/etc/systemd/system"])
    assert rc in (0, 1), err
    named = out.split()
    check("MLflow host: MinIO root key", len(files) + len(procs) + len(named), "0", not (files or procs or named),
          f"password in files {files}, processes {procs}; user named in {named}")
    # What MLflow has instead: the least-privilege user (else the scan would find nothing at all).
    mlflow_env = [f for f in scan["files"] if f["path"] == "/etc/mlflow/mlflow.env"]
    assert mlflow_env and "vault_minio_mlflow_secret_key" in mlflow_env[0]["secrets"], scan["files"]


def test_site_run_at_vvv_shows_no_secret(vvv_run):
    run, seconds, _sampler = vvv_run
    output = run.output
    leaks = sorted(name for name, secret in SECRETS.items() if any(form in output for form in encodings(secret)))
    check("site.yml -vvv: run", f"rc {run.returncode}, {len(run.stats)} hosts, {seconds} s", "rc 0, 3 hosts",
          run.returncode == 0 and len(run.stats) == 3, run.failures()[:5])
    check("site.yml -vvv: secrets shown", f"{len(leaks)} in {len(output) // 1024} KiB", "0", not leaks,
          f"the -vvv output shows {leaks}")


def test_no_argv_holds_a_secret_during_the_run(vvv_run):
    _run, _seconds, sampler = vvv_run
    note("argv samples, site.yml run", sampler.rounds)
    assert sampler.rounds >= 5, sampler.errors[-3:]
    # The names of the secrets, never their values.
    check("argv with a secret", len(sampler.hits), "0", not sampler.hits, sampler.hits[:10])


def test_no_argv_holds_a_secret_now():
    hits = [hit for host in HOSTS for hit in argv_hits(host)] + controller_argv_hits()
    check("argv with a secret, after", len(hits), "0", not hits, hits[:10])
