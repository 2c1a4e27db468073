"""The MinIO server as its users see it, from outside the container: health, authentication,
the declared bucket settings, the MLflow user's reach, data across a restart, the pinned binary."""
import uuid

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import ROLE_DEFAULTS, main_pid, s3_client, wait_ready


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.mark.parametrize("probe", ["live", "ready"])
def test_health_endpoints_answer_200(endpoint, probe):
    assert requests.get("%s/minio/health/%s" % (endpoint, probe), timeout=5).status_code == 200


def test_console_listens_on_9001_of_127_0_0_1_only(host, endpoint):
    """The console answers on the host's 127.0.0.1 (minio_console_address), not on its address."""
    console = endpoint.rsplit(":", 1)[0] + ":%d" % ROLE_DEFAULTS["minio_console_port"]
    with pytest.raises(requests.ConnectionError):
        requests.get(console, timeout=5)
    cmd = host.run("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                   "'http://127.0.0.1:%d/', timeout=5).status)\"" % ROLE_DEFAULTS["minio_console_port"])
    assert cmd.rc == 0 and cmd.stdout.strip() == "200", cmd.stderr


def test_anonymous_list_of_private_bucket_is_refused(endpoint):
    with pytest.raises(ClientError) as excinfo:
        s3_client(endpoint).list_objects_v2(Bucket="mlflow")
    assert error_code(excinfo) == "AccessDenied"


def test_wrong_root_password_is_refused(endpoint, hostvars):
    wrong = s3_client(endpoint, hostvars.get("minio_root_user", ROLE_DEFAULTS["minio_root_user"]),
                      hostvars["minio_root_password"] + "-wrong")
    with pytest.raises(ClientError) as excinfo:
        wrong.list_buckets()
    assert error_code(excinfo) == "SignatureDoesNotMatch"


def test_root_sees_the_declared_buckets(root_s3):
    names = {b["Name"] for b in root_s3.list_buckets()["Buckets"]}
    assert {"mlflow", "scratch"} <= names


def test_mlflow_bucket_versioning_and_lifecycle(root_s3):
    assert root_s3.get_bucket_versioning(Bucket="mlflow")["Status"] == "Enabled"
    rules = root_s3.get_bucket_lifecycle_configuration(Bucket="mlflow")["Rules"]
    assert len(rules) == 1
    assert rules[0]["ID"] == "expire-noncurrent-versions"
    assert rules[0]["Status"] == "Enabled"
    assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert "Expiration" not in rules[0]


def test_scratch_bucket_as_declared(root_s3):
    assert root_s3.get_bucket_versioning(Bucket="scratch")["Status"] == "Suspended"
    rules = root_s3.get_bucket_lifecycle_configuration(Bucket="scratch")["Rules"]
    assert [(r["ID"], r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules] == [("expire-tmp", "tmp/", 7)]
    assert root_s3.get_bucket_tagging(Bucket="scratch")["TagSet"] == [{"Key": "purpose", "Value": "molecule"}]


def test_mlflow_user_writes_and_reads_its_bucket(mlflow_s3):
    key = "molecule/%s.txt" % uuid.uuid4()
    mlflow_s3.put_object(Bucket="mlflow", Key=key, Body=b"model weights")
    assert mlflow_s3.get_object(Bucket="mlflow", Key=key)["Body"].read() == b"model weights"
    listed = mlflow_s3.list_objects_v2(Bucket="mlflow", Prefix="molecule/")["Contents"]
    assert key in [o["Key"] for o in listed]
    mlflow_s3.delete_object(Bucket="mlflow", Key=key)


def test_mlflow_user_sees_only_its_bucket(mlflow_s3):
    assert [b["Name"] for b in mlflow_s3.list_buckets()["Buckets"]] == ["mlflow"]


@pytest.mark.parametrize("call", ["put", "get", "list", "create_bucket"])
def test_mlflow_user_is_refused_elsewhere(mlflow_s3, call):
    with pytest.raises(ClientError) as excinfo:
        if call == "put":
            mlflow_s3.put_object(Bucket="scratch", Key="x.txt", Body=b"x")
        elif call == "get":
            mlflow_s3.get_object(Bucket="scratch", Key="x.txt")
        elif call == "list":
            mlflow_s3.list_objects_v2(Bucket="scratch")
        else:
            mlflow_s3.create_bucket(Bucket="mlflow-other")
    assert error_code(excinfo) == "AccessDenied"


def test_mlflow_user_secret_is_checked(endpoint, hostvars):
    wrong = s3_client(endpoint, hostvars.get("minio_mlflow_access_key", "mlflow"), "not-the-mlflow-secret")
    with pytest.raises(ClientError) as excinfo:
        wrong.list_objects_v2(Bucket="mlflow")
    assert error_code(excinfo) == "SignatureDoesNotMatch"


def test_object_survives_a_restart(host, endpoint, root_s3):
    key = "restart/%s.txt" % uuid.uuid4()
    root_s3.put_object(Bucket="mlflow", Key=key, Body=b"before the restart")
    pid = main_pid(host)
    host.run_expect([0], "systemctl restart minio")
    assert wait_ready(endpoint) == 200
    assert main_pid(host) != pid
    assert root_s3.get_object(Bucket="mlflow", Key=key)["Body"].read() == b"before the restart"
    root_s3.delete_object(Bucket="mlflow", Key=key)


def test_binary_reports_the_pinned_release(host):
    out = host.check_output("%s --version" % ROLE_DEFAULTS["minio_binary_path"])
    assert "version %s " % ROLE_DEFAULTS["minio_release"] in out
    assert "commit-id=%s" % ROLE_DEFAULTS["minio_commit"] in out


def test_service_runs_as_minio_with_hardening(host):
    assert host.service("minio").is_running
    assert host.service("minio").is_enabled
    props = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show minio -p User -p NoNewPrivileges -p ProtectSystem -p PrivateTmp -p ProtectHome").splitlines())
    assert props == {"User": "minio", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
                     "PrivateTmp": "yes", "ProtectHome": "yes"}
    assert host.process.get(comm="minio").user == "minio"


def test_no_secret_on_a_command_line(host, hostvars):
    commands = host.check_output("ps -eo args")
    assert hostvars["minio_root_password"] not in commands
    assert hostvars["minio_mlflow_secret_key"] not in commands


def test_environment_file_is_private(host):
    env = host.file(ROLE_DEFAULTS["minio_env_file"])
    assert (env.user, env.group, env.mode) == ("root", "minio", 0o640)
    assert 'MINIO_VOLUMES="/var/lib/minio/data"' in env.content_string
    assert 'MINIO_ADDRESS=":9000"' in env.content_string
    assert 'MINIO_CONSOLE_ADDRESS="127.0.0.1:9001"' in env.content_string
