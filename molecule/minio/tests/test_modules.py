"""The collection's minio_bucket, minio_policy and minio_user modules against the real server:
create, create again (not changed), check mode (changed, nothing written), update, absent, absent
again; a non-empty bucket is not deleted without force. What they did is read back with boto3
from outside the container, between batches of module runs."""
import json

import pytest
from botocore.exceptions import ClientError
from conftest import s3_client

BUCKET = "molecule-modules"
POLICY = "molecule-modules-rw"
USER = "molecule-user"
SECRET = "Molecule-user-secret-1"
NEW_SECRET = "Molecule-user-secret-2"
CHECK = {"check": True}
DIFF = {"diff": True}


def bucket_exists(s3, name):
    try:
        s3.head_bucket(Bucket=name)
        return True
    except ClientError:
        return False


def changes(results):
    """[changed, ...] of results that must all have succeeded."""
    for result in results:
        assert not result.get("failed"), result.get("msg")
    return [r["changed"] for r in results]


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


# Put first in a test's first batch of module runs: leftovers of an earlier, failed run go.
CLEAN_BUCKET = ("minio_bucket", {"name": BUCKET, "state": "absent", "force": True})
CLEAN_IAM = [("minio_user", {"access_key": USER, "state": "absent"}),
             ("minio_policy", {"name": POLICY, "state": "absent"})]


def test_bucket_create_update_delete(modules, root_s3):
    wanted = {
        "name": BUCKET, "versioning": "enabled", "access": "download",
        "lifecycle_rules": [{"id": "tmp", "prefix": "tmp/", "expire_days": 3},
                            {"id": "old", "noncurrent_expire_days": 10}],
        "tags": {"team": "mlops"},
    }
    # check mode on an absent bucket: changed, nothing written
    assert changes(modules([CLEAN_BUCKET, ("minio_bucket", wanted, CHECK)])[1:]) == [True]
    assert not bucket_exists(root_s3, BUCKET)

    # create; again, with the rules in another order: not changed; an update in check mode
    again = dict(wanted, lifecycle_rules=list(reversed(wanted["lifecycle_rules"])))
    update = dict(wanted, versioning="suspended", access="private",
                  lifecycle_rules=[{"id": "old", "noncurrent_expire_days": 20}], tags={})
    results = modules([("minio_bucket", wanted, DIFF), ("minio_bucket", again), ("minio_bucket", update, CHECK)])
    assert changes(results) == [True, False, True]
    assert results[0]["bucket"]["access"] == "download"
    assert results[0]["diff"]["before"] == {} and results[0]["diff"]["after"]["versioning"] == "enabled"
    assert root_s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rules = {r["ID"]: r for r in root_s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules["tmp"]["Expiration"]["Days"] == 3 and rules["tmp"]["Filter"]["Prefix"] == "tmp/"
    assert rules["old"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 10
    assert root_s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "team", "Value": "mlops"}]
    s3_client(root_s3.meta.endpoint_url).list_objects_v2(Bucket=BUCKET)  # download: anyone may list

    # update; again: not changed; delete in check mode
    results = modules([("minio_bucket", update, DIFF), ("minio_bucket", update),
                       ("minio_bucket", {"name": BUCKET, "state": "absent"}, CHECK)])
    assert changes(results) == [True, False, True]
    assert results[0]["diff"]["before"]["versioning"] == "enabled"
    assert results[0]["diff"]["after"]["versioning"] == "suspended"
    assert root_s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended"
    rules = root_s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert [(r["ID"], r["NoncurrentVersionExpiration"]["NoncurrentDays"]) for r in rules] == [("old", 20)]
    with pytest.raises(ClientError) as excinfo:
        root_s3.get_bucket_tagging(Bucket=BUCKET)
    assert error_code(excinfo) == "NoSuchTagSet"
    with pytest.raises(ClientError) as excinfo:
        s3_client(root_s3.meta.endpoint_url).list_objects_v2(Bucket=BUCKET)
    assert error_code(excinfo) == "AccessDenied"
    assert bucket_exists(root_s3, BUCKET)

    # absent, absent again
    results = modules([("minio_bucket", {"name": BUCKET, "state": "absent"}),
                       ("minio_bucket", {"name": BUCKET, "state": "absent"})])
    assert changes(results) == [True, False]
    assert not bucket_exists(root_s3, BUCKET)


def test_custom_policy_and_object_lock(modules, root_s3):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::%s/public/*" % BUCKET}]}
    args = {"name": BUCKET, "access": "custom", "policy": policy, "object_lock": True}
    results = modules([CLEAN_BUCKET, ("minio_bucket", args), ("minio_bucket", args),
                       ("minio_bucket", dict(args, object_lock=False))])[1:]
    assert changes(results[:2]) == [True, False]
    assert results[1]["bucket"]["access"] == "custom"
    # object lock cannot be turned off afterwards: refused, with the reason
    assert results[2]["failed"] and "only when a bucket is created" in results[2]["msg"]
    lock = root_s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    statement = json.loads(root_s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert len(statement) == 1 and "arn:aws:s3:::%s/public/*" % BUCKET in json.dumps(statement)
    modules([CLEAN_BUCKET])


def test_non_empty_bucket_is_kept_without_force(modules, root_s3):
    modules([CLEAN_BUCKET, ("minio_bucket", {"name": BUCKET, "versioning": "enabled"})])
    root_s3.put_object(Bucket=BUCKET, Key="keep/me.txt", Body=b"v1")
    root_s3.put_object(Bucket=BUCKET, Key="keep/me.txt", Body=b"v2")

    results = modules([("minio_bucket", {"name": BUCKET, "state": "absent"}, CHECK),
                       ("minio_bucket", {"name": BUCKET, "state": "absent"})])
    for result in results:
        assert result["failed"]
        assert result["msg"].startswith("deleting bucket %s on http://127.0.0.1:9000: it is not empty" % BUCKET)
    assert len(root_s3.list_object_versions(Bucket=BUCKET)["Versions"]) == 2
    assert root_s3.get_object(Bucket=BUCKET, Key="keep/me.txt")["Body"].read() == b"v2"

    assert changes(modules([("minio_bucket", {"name": BUCKET, "state": "absent", "force": True})])) == [True]
    assert not bucket_exists(root_s3, BUCKET)


def test_errors_say_what_and_why(modules):
    results = modules(CLEAN_IAM + [
        ("minio_bucket", {"name": "Not_A_Bucket"}),
        ("minio_bucket", {"name": BUCKET, "login_secret_key": "wrong-secret-123"}),
        ("minio_user", {"access_key": USER, "login_secret_key": "wrong-secret-123"}),
        ("minio_user", {"access_key": USER, "policies": ["no-such-policy"]}),
        ("minio_policy", {"name": POLICY, "policy": "{not json"}),
    ])[len(CLEAN_IAM):]
    assert all(r["failed"] for r in results)
    assert results[0]["msg"].startswith("checking bucket name Not_A_Bucket: it must be")
    assert results[1]["msg"].startswith("reading bucket %s on http://127.0.0.1:9000: SignatureDoesNotMatch" % BUCKET)
    assert results[2]["msg"].startswith("reading user %s on http://127.0.0.1:9000: SignatureDoesNotMatch" % USER)
    assert results[3]["msg"] == ("creating user %s on http://127.0.0.1:9000: secret_key is required to "
                                 "create a user" % USER)
    assert results[4]["msg"].startswith("checking policy %s: the policy is not valid JSON" % POLICY)
    assert "wrong-secret-123" not in json.dumps(results)


POLICY_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::mlflow/*"]}]}
BIGGER_DOC = {"Version": "2012-10-17", "Statement": POLICY_DOC["Statement"] + [
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::mlflow"]}]}


def test_policy_create_update_delete(modules):
    relaid = {"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                             "Resource": "arn:aws:s3:::mlflow/*"}], "Version": "2012-10-17"}
    absent = {"name": POLICY, "state": "absent"}
    results = modules(CLEAN_IAM + [
        ("minio_policy", {"name": POLICY, "policy": POLICY_DOC}, CHECK),  # 0 would create
        ("minio_policy", absent, CHECK),                                  # 1 nothing was written
        ("minio_policy", {"name": POLICY, "policy": POLICY_DOC}),         # 2 create
        ("minio_policy", {"name": POLICY, "policy": relaid}),             # 3 same, other layout
        ("minio_policy", {"name": POLICY, "policy": BIGGER_DOC}, CHECK),  # 4 would update
        ("minio_policy", {"name": POLICY, "policy": POLICY_DOC}),         # 5 nothing was written
        ("minio_policy", {"name": POLICY, "policy": BIGGER_DOC}, DIFF),   # 6 update
        ("minio_policy", {"name": POLICY, "policy": BIGGER_DOC}),         # 7 again
        ("minio_policy", absent),                                         # 8 absent
        ("minio_policy", absent),                                         # 9 absent again
    ])[len(CLEAN_IAM):]
    assert changes(results) == [True, False, True, False, True, False, True, False, True, False]
    assert len(results[6]["diff"]["before"]["Statement"]) == 1
    assert len(results[6]["diff"]["after"]["Statement"]) == 2


def test_user_create_rotate_disable_delete(modules, endpoint, root_s3):
    user = {"access_key": USER, "secret_key": SECRET, "policies": [POLICY]}
    results = modules(CLEAN_IAM + [("minio_policy", {"name": POLICY, "policy": POLICY_DOC}),
                                   ("minio_user", user, {"check": True, "diff": True})])[len(CLEAN_IAM):]
    assert changes(results) == [True, True]
    assert SECRET not in json.dumps(results)
    s3 = s3_client(endpoint, USER, SECRET)
    with pytest.raises(ClientError) as excinfo:  # check mode wrote nothing: no such user
        s3.put_object(Bucket="mlflow", Key="molecule-user.txt", Body=b"x")
    assert error_code(excinfo) == "InvalidAccessKeyId"

    # create, again; a new secret in check mode
    rotated = dict(user, secret_key=NEW_SECRET)
    results = modules([("minio_user", user, DIFF), ("minio_user", user), ("minio_user", rotated, CHECK)])
    assert changes(results) == [True, False, True]
    assert results[0]["user"] == {"access_key": USER, "enabled": True, "policies": [POLICY]}
    assert SECRET not in json.dumps(results) and NEW_SECRET not in json.dumps(results)
    s3.put_object(Bucket="mlflow", Key="molecule-user.txt", Body=b"x")  # the old key still works
    with pytest.raises(ClientError) as excinfo:  # the policy allows only objects in mlflow
        s3.list_objects_v2(Bucket="mlflow")
    assert error_code(excinfo) == "AccessDenied"

    # rotate the secret, again
    results = modules([("minio_user", rotated, DIFF), ("minio_user", rotated)])
    assert changes(results) == [True, False]
    assert results[0]["secret_updated"]
    assert results[0]["diff"]["after"]["secret_key"] == "******** (new)"
    assert SECRET not in json.dumps(results) and NEW_SECRET not in json.dumps(results)
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket="mlflow", Key="molecule-user.txt")
    assert error_code(excinfo) == "403"
    s3 = s3_client(endpoint, USER, NEW_SECRET)
    assert s3.get_object(Bucket="mlflow", Key="molecule-user.txt")["Body"].read() == b"x"

    # disable, again
    disabled = dict(rotated, enabled=False)
    assert changes(modules([("minio_user", disabled), ("minio_user", disabled)])) == [True, False]
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="mlflow", Key="molecule-user.txt")
    assert error_code(excinfo) == "InvalidAccessKeyId"

    # enable with no policies: signs in, may do nothing
    results = modules([("minio_user", dict(rotated, policies=[]))])
    assert changes(results) == [True]
    assert results[0]["user"] == {"access_key": USER, "enabled": True, "policies": []}
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="mlflow", Key="molecule-user.txt")
    assert error_code(excinfo) == "AccessDenied"

    # absent in check mode, absent, absent again
    absent = {"access_key": USER, "state": "absent"}
    assert changes(modules([("minio_user", absent, CHECK)])) == [True]
    with pytest.raises(ClientError) as excinfo:
        s3.list_buckets()
    assert error_code(excinfo) == "AccessDenied"  # still there (signed in), allowed nothing
    assert changes(modules([("minio_user", absent), ("minio_user", absent)] + CLEAN_IAM[1:])) == [True, False, True]
    with pytest.raises(ClientError) as excinfo:
        s3.list_buckets()
    assert error_code(excinfo) == "InvalidAccessKeyId"
    root_s3.delete_object(Bucket="mlflow", Key="molecule-user.txt")
