#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: minio_policy
short_description: Manage a named IAM policy on a MinIO server
version_added: 0.1.0
description:
  - Creates, updates or removes a named (canned) IAM policy through MinIO's admin API, with the
    C(minio) Python SDK's C(MinioAdmin) client. Users get policies with M(mlsp.mlflow_stack.minio_user).
  - The declared document is compared with the server's regardless of layout (order of
    statements, actions and resources, one-item lists), so a second run changes nothing.
author:
  - MLSP platform team (@mlsp)
options:
  name:
    description: Name of the policy.
    type: str
    required: true
  policy:
    description:
      - The policy document, a dict or a JSON string, with C(Version) and C(Statement).
      - Required with O(state=present).
    type: json
  state:
    description:
      - V(present) creates or replaces the policy; V(absent) removes it. Removing a policy
        that users still have detaches it from them.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - mlsp.mlflow_stack.minio
  - mlsp.mlflow_stack.attributes
"""

EXAMPLES = r"""
- name: Read and write in the mlflow bucket, nothing else
  mlsp.mlflow_stack.minio_policy:
    name: mlflow-artifacts
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:GetBucketLocation, s3:ListBucket, s3:ListBucketMultipartUploads]
          Resource: [arn:aws:s3:::mlflow]
        - Effect: Allow
          Action: [s3:GetObject, s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload, s3:ListMultipartUploadParts]
          Resource: [arn:aws:s3:::mlflow/*]
    login_access_key: "{{ minio_root_user }}"
    login_secret_key: "{{ minio_root_password }}"
  no_log: true

- name: Remove a policy
  mlsp.mlflow_stack.minio_policy:
    name: old-team
    state: absent
    login_access_key: "{{ minio_root_user }}"
    login_secret_key: "{{ minio_root_password }}"
  no_log: true
"""

RETURN = r"""
policy:
  description: The policy document on the server after the task (predicted in check mode), normalized; null when absent.
  returned: always
  type: dict
  sample:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: [s3:GetObject]
        Resource: [arn:aws:s3:::mlflow/*]
"""

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure, run_module
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._minio import (
    MinioClients,
    minio_argument_spec,
)
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._minio_compare import (
    load_policy,
    normalize_policy,
)


def read_policy(clients, name):
    """The policy on the server, normalized, or None when there is none by that name."""
    doing = "reading policy %s" % name
    document = clients.call(doing, "admin", "policy_info", name, decode=True, missing=("XMinioAdminNoSuchPolicy",))
    try:
        return normalize_policy(document)
    except ValueError as exc:
        clients.fail(doing, exc)


def run(module):
    name, state = module.params["name"], module.params["state"]
    wanted = None
    if state == "present":
        try:
            wanted = normalize_policy(load_policy(module.params["policy"]))
        except ValueError as exc:
            raise ModuleFailure("checking policy %s: %s" % (name, exc))

    clients = MinioClients(module)
    current = read_policy(clients, name)
    changed = current != wanted
    if changed and not module.check_mode:
        if state == "present":
            clients.call("writing policy %s" % name, "admin", "policy_add", name, policy=wanted)
            wanted = read_policy(clients, name)
        else:
            clients.call("removing policy %s" % name, "admin", "policy_remove", name)

    result = dict(changed=changed, policy=wanted)
    if module._diff:
        result["diff"] = dict(before=current or {}, after=wanted or {})
    module.exit_json(**result)


def main():
    argument_spec = minio_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        policy=dict(type="json"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    run_module(run, argument_spec, required_if=[("state", "present", ["policy"])])


if __name__ == "__main__":
    main()
