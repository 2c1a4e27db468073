"""docs/client.md and docs/known-issues.md, checked against the deployed stack with the pinned
MLflow client (tests/requirements-client.txt): the example between the client-example markers runs
as written, with only the environment filled in, and its run and model are on the server; each
known issue still behaves as the page says (if MLflow fixes one, this test says the page is stale).
"""
import json
import re
import subprocess
import uuid

import pytest
from mlsp_testlib import ROOT
from stacklib import TESTS, api, client_env, client_python, mask, ok

EXAMPLE = re.compile(r"<!-- client-example:begin -->\n```python\n(.*?)```\n<!-- client-example:end -->", re.S)
# What a user's shell would not have: S3 settings (docs/client.md says clients need none), and any
# CA setting but MLFLOW_TRACKING_SERVER_CERT_PATH (the CA file is all a client is given).
NO_S3 = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "MLFLOW_S3_ENDPOINT_URL",
         "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def user_env(**extra):
    env = client_env(**extra)
    for name in NO_S3:
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The docs' example, run as written; returns (run id, model version) from its last line."""
    blocks = EXAMPLE.findall((ROOT / "docs" / "client.md").read_text())
    assert len(blocks) == 1, "docs/client.md must hold exactly one client-example block"
    script = tmp_path_factory.mktemp("client-example") / "example.py"
    script.write_text(blocks[0])
    proc = subprocess.run([client_python(), str(script)], env=user_env(), cwd=script.parent, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, mask(proc.stderr[-4000:])
    found = re.search(r"^run (\w+) model version (\d+) predicts \[[01 ]+\]$", proc.stdout, re.M)
    assert found, proc.stdout[-2000:]
    return found.group(1), found.group(2)


def test_example_run_is_on_the_server(example):
    run_id, _version = example
    run = ok(api("GET", "/api/2.0/mlflow/runs/get", params={"run_id": run_id}))["run"]
    experiment = ok(api("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": run["info"]["experiment_id"]}))
    assert experiment["experiment"]["name"] == "nfl-prediction"
    assert run["info"]["status"] == "FINISHED" and run["info"]["run_name"] == "random_forest_v1"
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"n_estimators": "100", "max_depth": "10"}
    assert {m["key"] for m in run["data"]["metrics"]} == {"accuracy", "f1_score"}
    files = ok(api("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": run_id, "path": "plots"})).get("files", [])
    assert [f["path"] for f in files] == ["plots/feature_importance.png"], files


def test_example_model_is_registered_under_its_alias(example):
    run_id, version = example
    alias = ok(api("GET", "/api/2.0/mlflow/registered-models/alias",
                   params={"name": "nfl-win-predictor", "alias": "production"}))["model_version"]
    assert alias["version"] == version and alias["run_id"] == run_id, alias


@pytest.fixture(scope="module")
def known_issues():
    proc = subprocess.run([client_python(), str(TESTS / "clients" / "known_issues.py"), f"known-issues-{uuid.uuid4().hex[:8]}"],
                          env=user_env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"), capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, mask(proc.stderr[-4000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_design_guide_log_model_line_is_refused(known_issues):
    outcome = known_issues["log_model_positional"]
    assert "untrusted types" in outcome and "sklearn.tree._tree.Tree" in outcome, outcome


def test_download_with_path_dot_fails_and_named_paths_work(known_issues):
    download = known_issues["download"]
    assert download["."]["outcome"].startswith("MlflowException: Failed to download artifacts from path '.'"), download
    # What the client got: the server's listing of "<run>/artifacts/." answers 500 (that of the
    # folder itself answers 200).
    folder = known_issues["artifact_uri"].split("mlflow-artifacts:/", 1)[1].strip("/")
    listed = {path: api("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": path}).status_code
              for path in (folder, folder + "/.")}
    assert listed == {folder: 200, folder + "/.": 500}, listed
    assert all(download[path]["outcome"] == "ok" for path in ("plots", "notes.txt", "")), download
    assert known_issues["download_all"]["outcome"] == "ok", known_issues["download_all"]
    assert {"plots/a.txt", "notes.txt"} <= set(known_issues["download_all"]["files"]), known_issues["download_all"]


def test_server_hands_out_presigned_downloads():
    """docs/known-issues.md: the server tells clients it hands out presigned URLs for downloads,
    so that a client without MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD=false downloads straight from
    MinIO (the downloads above, with the setting, go through MLflow)."""
    info = ok(api("GET", "/api/3.0/mlflow/server-info"))
    assert info.get("multipart_downloads_enabled") is True, info
