# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minio_* modules' pure logic: whether a policy, lifecycle rules or tags on the server are
the declared ones (so that a second run changes nothing, and a real difference is seen)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import sys
import tempfile

import pytest

try:
    from ansible_collections.mlsp.mlflow_stack.plugins.module_utils import _minio_compare as mc
except ImportError:  # plain pytest from the working tree: make the collection importable
    _ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    _TREE = os.path.join(tempfile.gettempdir(), "mlsp-unit-%s" % hashlib.sha256(_ROOT.encode()).hexdigest()[:12])
    _LINK = os.path.join(_TREE, "ansible_collections", "mlsp", "mlflow_stack")
    if not os.path.islink(_LINK):
        os.makedirs(os.path.dirname(_LINK), exist_ok=True)
        os.symlink(_ROOT, _LINK)
    sys.path.insert(0, _TREE)
    from ansible_collections.mlsp.mlflow_stack.plugins.module_utils import _minio_compare as mc


# --- bucket names ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mlflow", "abc", "my-bucket.v2", "a" * 63, "0ab"])
def test_valid_bucket_names(name):
    assert mc.bucket_name_problem(name) is None


@pytest.mark.parametrize("name", ["ab", "a" * 64, "MLflow", "my_bucket", "-abc", "abc-", "a..b", "a.-b",
                                  "a-.b", "192.168.1.10", "", None])
def test_invalid_bucket_names(name):
    assert mc.bucket_name_problem(name)


# --- policies -----------------------------------------------------------------------------------

def test_policy_layout_does_not_matter():
    server = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"]},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"]},
    ]}
    declared = json.dumps({"Statement": [
        {"Sid": "", "Resource": "arn:aws:s3:::b", "Action": "s3:ListBucket", "Effect": "Allow"},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
    ]})
    assert mc.policies_equal(server, declared)


@pytest.mark.parametrize("change", [
    lambda p: p["Statement"][0].update(Effect="Deny"),
    lambda p: p["Statement"][0]["Action"].append("s3:DeleteObject"),
    lambda p: p["Statement"][0].update(Resource=["arn:aws:s3:::other/*"]),
    lambda p: p["Statement"].append({"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"]}),
    lambda p: p["Statement"][0].update(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    lambda p: p["Statement"][0].update(Sid="named"),
])
def test_policy_differences_are_seen(change):
    base = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]}
    other = json.loads(json.dumps(base))
    change(other)
    assert not mc.policies_equal(base, other)


def test_no_policy_differs_from_any_policy():
    assert mc.policies_equal(None, None)
    assert not mc.policies_equal(None, mc.canned_bucket_policy("b", "download"))


@pytest.mark.parametrize("document, reason", [
    ("{not json", "not valid JSON"),
    ("[]", "JSON object"),
    ({"Version": "2012-10-17"}, "Statement"),
    ({"Statement": [{"Action": "s3:*"}]}, "Effect"),
])
def test_bad_policies_are_refused_with_the_reason(document, reason):
    with pytest.raises(ValueError, match=reason):
        mc.load_policy(document)


def test_canned_policies():
    assert mc.canned_bucket_policy("b", "private") is None
    download = mc.canned_bucket_policy("b", "download")
    assert download["Statement"][0]["Action"] == ["s3:GetBucketLocation", "s3:ListBucket"]
    assert download["Statement"][1] == {"Effect": "Allow", "Principal": {"AWS": ["*"]},
                                        "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}
    public = mc.canned_bucket_policy("b", "public")
    assert set(public["Statement"][1]["Action"]) == {
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}


@pytest.mark.parametrize("access", ["private", "download", "upload", "public"])
def test_access_label_round_trip(access):
    assert mc.access_label("b", mc.canned_bucket_policy("b", access)) == access


def test_access_label_principal_spelling_and_custom():
    download = mc.canned_bucket_policy("b", "download")
    for statement in download["Statement"]:
        statement["Principal"] = "*"
    assert mc.access_label("b", download) == "download"
    assert mc.access_label("other", download) == "custom"


# --- lifecycle ----------------------------------------------------------------------------------

SERVER_RULES = [
    {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}},
    {"ID": "nc", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
]


def test_lifecycle_same_rules_in_any_order():
    declared = [{"id": "nc", "noncurrent_expire_days": 30}, {"id": "tmp", "prefix": "tmp/", "expire_days": 7}]
    assert mc.lifecycle_equal([mc.rule_from_s3(r) for r in SERVER_RULES], declared)


@pytest.mark.parametrize("declared", [
    [{"id": "nc", "noncurrent_expire_days": 31}, {"id": "tmp", "prefix": "tmp/", "expire_days": 7}],
    [{"id": "nc", "noncurrent_expire_days": 30}, {"id": "tmp", "prefix": "temp/", "expire_days": 7}],
    [{"id": "nc", "noncurrent_expire_days": 30}, {"id": "tmp", "prefix": "tmp/", "expire_days": 7, "enabled": False}],
    [{"id": "nc", "noncurrent_expire_days": 30}],
    [{"id": "nc", "noncurrent_expire_days": 30, "expire_days": 90}, {"id": "tmp", "prefix": "tmp/", "expire_days": 7}],
    [],
])
def test_lifecycle_differences_are_seen(declared):
    assert not mc.lifecycle_equal([mc.rule_from_s3(r) for r in SERVER_RULES], declared)


def test_lifecycle_rule_with_unmanaged_parts_is_replaced():
    with_transition = dict(SERVER_RULES[0], Transitions=[{"Days": 1, "StorageClass": "WARM"}])
    rule = mc.rule_from_s3(with_transition)
    assert rule["other"] == {"Transitions": [{"Days": 1, "StorageClass": "WARM"}]}
    assert not mc.lifecycle_equal([rule], [{"id": "tmp", "prefix": "tmp/", "expire_days": 7}])


def test_lifecycle_legacy_prefix_and_no_filter():
    legacy = {"ID": "old", "Status": "Enabled", "Prefix": "logs/", "Expiration": {"Days": 1}}
    assert mc.lifecycle_equal([mc.rule_from_s3(legacy)], [{"id": "old", "prefix": "logs/", "expire_days": 1}])
    bare = {"ID": "all", "Status": "Disabled", "Expiration": {"Days": 2}}
    assert mc.lifecycle_equal([mc.rule_from_s3(bare)], [{"id": "all", "expire_days": 2, "enabled": False}])


def test_rule_to_s3_round_trip():
    declared = {"id": "both", "prefix": "p/", "expire_days": 9, "noncurrent_expire_days": 3}
    s3 = mc.rule_to_s3(declared)
    assert s3 == {"ID": "both", "Status": "Enabled", "Filter": {"Prefix": "p/"}, "Expiration": {"Days": 9},
                  "NoncurrentVersionExpiration": {"NoncurrentDays": 3}}
    assert mc.lifecycle_equal([mc.rule_from_s3(s3)], [declared])


@pytest.mark.parametrize("rule, reason", [
    ({"id": "", "expire_days": 1}, "needs an id"),
    ({"id": "x"}, "expire_days, noncurrent_expire_days or both"),
    ({"id": "x", "expire_days": 0}, "at least 1"),
    ({"id": "x", "noncurrent_expire_days": -1}, "at least 1"),
])
def test_bad_lifecycle_rules(rule, reason):
    assert reason in mc.lifecycle_rule_problem(rule)


# --- tags and user policies ---------------------------------------------------------------------

def test_tags():
    assert mc.tags_equal({"a": "1"}, {"a": 1})
    assert not mc.tags_equal({"a": "1"}, {"a": "1", "b": "2"})
    assert mc.tags_equal({}, None)
    assert mc.tags_from_s3(mc.tags_to_s3({"b": 2, "a": "x"})) == {"a": "x", "b": "2"}


def test_user_policy_changes():
    assert mc.policy_names("readwrite,mlflow-artifacts") == ["mlflow-artifacts", "readwrite"]
    assert mc.policy_names("") == [] and mc.policy_names(None) == []
    assert mc.policy_changes(["a", "b"], ["b", "c"]) == (["c"], ["a"])
    assert mc.policy_changes(["a"], ["a"]) == ([], [])
    assert mc.policy_changes(["a"], []) == ([], ["a"])
