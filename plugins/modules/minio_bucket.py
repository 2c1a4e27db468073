#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: minio_bucket
short_description: Manage a MinIO bucket, its versioning, access policy, lifecycle, object lock and tags
version_added: 0.1.0
description:
  - Creates, updates or deletes a bucket on a MinIO server through its S3 API (boto3).
  - Reads the bucket first and writes only what differs from the declared state. An option left
    out (V(null)) is not managed, so other tools may set it.
author:
  - MLSP platform team (@mlsp)
options:
  name:
    description: Name of the bucket (3 to 63 lowercase letters, digits, dots and hyphens).
    type: str
    required: true
  state:
    description:
      - V(present) creates the bucket if needed and sets what is declared.
      - V(absent) deletes it. A bucket that holds objects (or object versions) is refused unless
        O(force=true).
    type: str
    choices: [present, absent]
    default: present
  versioning:
    description:
      - V(enabled) keeps every version of an object; V(suspended) stops making new versions but
        keeps the old ones. A bucket that never had versioning cannot go back to that state.
    type: str
    choices: [enabled, suspended]
  access:
    description:
      - Anonymous (unauthenticated) access to the bucket, written as a bucket policy.
      - V(private) removes the bucket policy; V(download) lets anyone list and read;
        V(upload) lets anyone write; V(public) both; V(custom) sets O(policy).
    type: str
    choices: [private, download, upload, public, custom]
  policy:
    description:
      - The bucket policy document (a dict or a JSON string) when O(access=custom).
      - Compared with the server's regardless of layout (order of statements, actions and
        resources, one-item lists).
    type: json
  lifecycle_rules:
    description:
      - The complete list of lifecycle rules of the bucket. Rules on the server that are not
        declared are removed; V([]) removes them all.
    type: list
    elements: dict
    suboptions:
      id:
        description: Identifier of the rule, unique in the bucket.
        type: str
        required: true
      prefix:
        description: Only objects whose key starts with this prefix. Empty means every object.
        type: str
        default: ''
      expire_days:
        description: Expire (delete, or in a versioned bucket hide behind a delete marker) current objects this many days after they were written.
        type: int
      noncurrent_expire_days:
        description: Delete noncurrent (older) versions this many days after they stopped being current.
        type: int
      enabled:
        description: Whether the rule is in force.
        type: bool
        default: true
  object_lock:
    description:
      - Create the bucket with object lock (WORM) enabled, which also enables versioning.
      - S3 allows this only when the bucket is created. If the bucket exists with another
        setting, the module fails rather than pretend.
    type: bool
  tags:
    description:
      - The complete set of tags of the bucket; V({}) removes them all.
    type: dict
  force:
    description:
      - With O(state=absent), delete every object and object version before the bucket.
        Objects under an object lock retention cannot be deleted and make the task fail.
    type: bool
    default: false
extends_documentation_fragment:
  - mlsp.mlflow_stack.minio
  - mlsp.mlflow_stack.attributes
"""

EXAMPLES = r"""
- name: Artifacts bucket, versioned, old versions expire after 30 days
  mlsp.mlflow_stack.minio_bucket:
    name: mlflow
    versioning: enabled
    access: private
    lifecycle_rules:
      - id: expire-noncurrent
        noncurrent_expire_days: 30
      - id: expire-tmp
        prefix: tmp/
        expire_days: 7
    tags:
      owner: mlops
    login_access_key: "{{ minio_root_user }}"
    login_secret_key: "{{ minio_root_password }}"
  no_log: true

- name: A public download bucket
  mlsp.mlflow_stack.minio_bucket:
    name: public-models
    access: download
    login_access_key: "{{ minio_root_user }}"
    login_secret_key: "{{ minio_root_password }}"
  no_log: true

- name: Delete a scratch bucket and everything in it
  mlsp.mlflow_stack.minio_bucket:
    name: scratch
    state: absent
    force: true
    login_access_key: "{{ minio_root_user }}"
    login_secret_key: "{{ minio_root_password }}"
  no_log: true
"""

RETURN = r"""
bucket:
  description: The bucket's managed settings after the task (as predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Bucket name.
      type: str
    versioning:
      description: V(enabled), V(suspended) or V(off) (never enabled).
      type: str
    access:
      description: The bucket policy read as an access level, V(custom) when it is none of the canned ones.
      type: str
    policy:
      description: The bucket policy, normalized; null when there is none.
      type: dict
    lifecycle_rules:
      description: Lifecycle rules in the module's form.
      type: list
      elements: dict
    object_lock:
      description: Whether object lock is enabled.
      type: bool
    tags:
      description: Bucket tags.
      type: dict
  sample:
    name: mlflow
    versioning: enabled
    access: private
    policy: null
    lifecycle_rules:
      - {id: expire-noncurrent, prefix: '', enabled: true, expire_days: null, noncurrent_expire_days: 30}
    object_lock: false
    tags: {owner: mlops}
actions:
  description: What the task did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create bucket, set versioning enabled, set lifecycle rules]
"""

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure, run_module
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._minio import (
    BotoCoreError,
    ClientError,
    MinioClients,
    minio_argument_spec,
)
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._minio_compare import (
    access_label,
    bucket_name_problem,
    canned_bucket_policy,
    lifecycle_equal,
    lifecycle_rule_problem,
    load_policy,
    normalize_policy,
    policies_equal,
    public_rule,
    rule_from_s3,
    rule_to_s3,
    canonical_rule,
    tags_equal,
    tags_from_s3,
    tags_to_s3,
)

_BATCH = 1000  # DeleteObjects takes at most 1000 keys


class Bucket(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = module.params["name"]
        self.clients = MinioClients(module)
        self.actions = []

    def call(self, doing, method, missing=(), **kwargs):
        """An S3 call; an error code in ``missing`` (not set) answers None."""
        return self.clients.call(doing, "s3", method, missing=missing, result=dict(actions=self.actions), **kwargs)

    # --- reading -------------------------------------------------------------------------------

    def exists(self):
        doing = "reading bucket %s" % self.name
        code = self.clients.error_code_of(doing, self.clients.s3, "head_bucket", Bucket=self.name)
        if code is None:
            return True
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        # A HEAD answer has no body, so no error code: ask again with a GET to learn why.
        return self.clients.call(doing, "s3", "get_bucket_location", missing=("NoSuchBucket",),
                                 Bucket=self.name) is not None

    def read(self):
        """The bucket's managed settings as they are on the server."""
        doing = "reading the %%s of bucket %s" % self.name
        versioning = self.call(doing % "versioning", "get_bucket_versioning", Bucket=self.name)
        policy = self.call(doing % "policy", "get_bucket_policy", ("NoSuchBucketPolicy",), Bucket=self.name)
        lifecycle = self.call(doing % "lifecycle", "get_bucket_lifecycle_configuration",
                              ("NoSuchLifecycleConfiguration",), Bucket=self.name)
        lock = self.call(doing % "object lock", "get_object_lock_configuration",
                         ("ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"), Bucket=self.name)
        tagging = self.call(doing % "tags", "get_bucket_tagging", ("NoSuchTagSet",), Bucket=self.name)
        policy_doc = normalize_policy(policy["Policy"]) if policy else None
        return {
            "name": self.name,
            "versioning": (versioning.get("Status") or "off").lower(),
            "access": access_label(self.name, policy_doc),
            "policy": policy_doc,
            "lifecycle_rules": [rule_from_s3(r) for r in (lifecycle or {}).get("Rules", [])],
            "object_lock": ((lock or {}).get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"),
            "tags": tags_from_s3((tagging or {}).get("TagSet")),
        }

    def holds_objects(self):
        """The key of one object or version in the bucket, or None when it is empty."""
        page = self.call("listing the objects of bucket %s" % self.name, "list_object_versions",
                         Bucket=self.name, MaxKeys=1)
        for kind in ("Versions", "DeleteMarkers"):
            if page.get(kind):
                return page[kind][0]["Key"]
        return None

    # --- deciding ------------------------------------------------------------------------------

    def wanted_policy(self):
        access = self.params["access"]
        if access is None:
            return None
        if access == "custom":
            return normalize_policy(self.params["policy"])
        return normalize_policy(canned_bucket_policy(self.name, access))

    def plan(self, current):
        """The changes (name, new value) that turn `current` into the declared state."""
        params = self.params
        changes = []
        if params["versioning"] is not None and current["versioning"] != params["versioning"]:
            changes.append(("versioning", params["versioning"]))
        if params["access"] is not None and not policies_equal(current["policy"], self.wanted_policy()):
            changes.append(("policy", self.wanted_policy()))
        if params["lifecycle_rules"] is not None and not lifecycle_equal(current["lifecycle_rules"],
                                                                         params["lifecycle_rules"]):
            changes.append(("lifecycle_rules", [canonical_rule(r) for r in params["lifecycle_rules"]]))
        if params["tags"] is not None and not tags_equal(current["tags"], params["tags"]):
            changes.append(("tags", dict((k, str(v)) for k, v in params["tags"].items())))
        return changes

    # --- writing -------------------------------------------------------------------------------

    def create(self):
        kwargs = {"Bucket": self.name}
        if self.params["region"] != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.params["region"]}
        if self.params["object_lock"]:
            kwargs["ObjectLockEnabledForBucket"] = True
        self.call("creating bucket %s" % self.name, "create_bucket", **kwargs)

    def apply(self, name, value):
        doing = "setting the %s of bucket %s" % (name.replace("_", " "), self.name)
        if name == "versioning":
            self.call(doing, "put_bucket_versioning", Bucket=self.name,
                      VersioningConfiguration={"Status": value.capitalize()})
        elif name == "policy" and value is None:
            self.call("removing the policy of bucket %s" % self.name, "delete_bucket_policy", Bucket=self.name)
        elif name == "policy":
            self.call(doing, "put_bucket_policy", Bucket=self.name, Policy=self.module.jsonify(value))
        elif name == "lifecycle_rules" and not value:
            self.call("removing the lifecycle rules of bucket %s" % self.name,
                      "delete_bucket_lifecycle", Bucket=self.name)
        elif name == "lifecycle_rules":
            self.call(doing, "put_bucket_lifecycle_configuration", Bucket=self.name,
                      LifecycleConfiguration={"Rules": [rule_to_s3(r) for r in value]})
        elif name == "tags" and not value:
            self.call("removing the tags of bucket %s" % self.name, "delete_bucket_tagging", Bucket=self.name)
        elif name == "tags":
            self.call(doing, "put_bucket_tagging", Bucket=self.name, Tagging={"TagSet": tags_to_s3(value)})

    def empty(self):
        """Delete every object version and delete marker, a page of at most 1000 at a time."""
        doing = "emptying bucket %s before deleting it" % self.name
        paginator = self.clients.s3.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.name, PaginationConfig={"PageSize": _BATCH}):
                keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                        for kind in ("Versions", "DeleteMarkers") for v in page.get(kind, [])]
                if not keys:
                    continue
                result = self.clients.s3.delete_objects(Bucket=self.name, Delete={"Objects": keys, "Quiet": True})
                errors = result.get("Errors") or []
                if errors:
                    first = errors[0]
                    self.clients.fail(doing, "%d objects could not be deleted, e.g. %s: %s: %s" % (
                        len(errors), first.get("Key"), first.get("Code"), first.get("Message")),
                        actions=self.actions)
        except (ClientError, BotoCoreError) as exc:
            self.clients.fail(doing, exc, actions=self.actions)


def present(module, bucket):
    params = module.params
    exists = bucket.exists()
    if exists:
        current = bucket.read()
        if params["object_lock"] is not None and current["object_lock"] != params["object_lock"]:
            bucket.clients.fail("checking the object lock of bucket %s" % bucket.name,
                                "object lock is %s, and S3 allows it to be set only when a bucket is created"
                                % ("enabled" if current["object_lock"] else "disabled"))
    else:
        bucket.actions.append("create bucket")
        if not module.check_mode:
            bucket.create()
            current = bucket.read()
        else:
            current = {"name": bucket.name, "versioning": "enabled" if params["object_lock"] else "off",
                       "access": "private", "policy": None, "lifecycle_rules": [],
                       "object_lock": bool(params["object_lock"]), "tags": {}}

    changes = bucket.plan(current)
    after = dict(current)
    for name, value in changes:
        bucket.actions.append("set %s" % name.replace("_", " ") if name != "versioning"
                              else "set versioning %s" % value)
        after[name] = value
        if name == "policy":
            after["access"] = access_label(bucket.name, value)
        if not module.check_mode:
            bucket.apply(name, value)
    if changes and not module.check_mode:
        after = bucket.read()
    before = current if exists else {}
    return bool(bucket.actions), before, after


def absent(module, bucket):
    if not bucket.exists():
        return False, {}, {}
    current = bucket.read()
    key = bucket.holds_objects()
    if key is not None and not module.params["force"]:
        bucket.clients.fail("deleting bucket %s" % bucket.name,
                            "it is not empty (it holds %s, for one); nothing was deleted. Set force: true "
                            "to delete its objects with it" % key)
    if key is not None:
        bucket.actions.append("delete all objects")
    bucket.actions.append("delete bucket")
    if not module.check_mode:
        if key is not None:
            bucket.empty()
        bucket.call("deleting bucket %s" % bucket.name, "delete_bucket", Bucket=bucket.name)
    return True, current, {}


def run(module):
    params = module.params
    problem = bucket_name_problem(params["name"])
    if problem:
        raise ModuleFailure("checking bucket name %s: it %s" % (params["name"], problem))
    if params["policy"] is not None and params["access"] != "custom":
        raise ModuleFailure("checking bucket %s: policy is used only with access: custom" % params["name"])
    if params["policy"] is not None:
        try:
            load_policy(params["policy"])
        except ValueError as exc:
            raise ModuleFailure("checking the policy of bucket %s: %s" % (params["name"], exc))
    for rule in params["lifecycle_rules"] or []:
        problem = lifecycle_rule_problem(rule)
        if problem:
            raise ModuleFailure("checking the lifecycle rules of bucket %s: %s" % (params["name"], problem))
    ids = [r["id"] for r in params["lifecycle_rules"] or []]
    if len(ids) != len(set(ids)):
        raise ModuleFailure("checking the lifecycle rules of bucket %s: rule ids must be unique" % params["name"])
    if params["object_lock"] and params["versioning"] == "suspended":
        raise ModuleFailure("checking bucket %s: object lock needs versioning enabled, not suspended" % params["name"])

    bucket = Bucket(module)
    if params["state"] == "present":
        changed, before, after = present(module, bucket)
    else:
        changed, before, after = absent(module, bucket)

    result = dict(changed=changed, actions=bucket.actions,
                  bucket=dict(after, lifecycle_rules=[public_rule(r) for r in after.get("lifecycle_rules", [])])
                  if after else {})
    if module._diff:
        result["diff"] = dict(
            before=dict(before, lifecycle_rules=[public_rule(r) for r in before.get("lifecycle_rules", [])])
            if before else {},
            after=result["bucket"],
        )
    module.exit_json(**result)


def main():
    argument_spec = minio_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        versioning=dict(type="str", choices=["enabled", "suspended"]),
        access=dict(type="str", choices=["private", "download", "upload", "public", "custom"]),
        policy=dict(type="json"),
        lifecycle_rules=dict(
            type="list", elements="dict",
            options=dict(
                id=dict(type="str", required=True),
                prefix=dict(type="str", default=""),
                expire_days=dict(type="int"),
                noncurrent_expire_days=dict(type="int"),
                enabled=dict(type="bool", default=True),
            ),
        ),
        object_lock=dict(type="bool"),
        tags=dict(type="dict"),
        force=dict(type="bool", default=False),
    )
    run_module(run, argument_spec, required_if=[("access", "custom", ["policy"])])


if __name__ == "__main__":
    main()
