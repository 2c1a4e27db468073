#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: minio_user
short_description: Manage a MinIO user, its secret key, policies and status
version_added: 0.1.0
description:
  - Creates, updates or removes a user of MinIO's built-in identity provider through the admin
    API (the C(minio) Python SDK's C(MinioAdmin) client), and attaches or detaches its policies.
  - MinIO never reveals a user's secret key. To tell whether the declared O(secret_key) is the
    one in force, the module signs one harmless S3 request (C(ListBuckets)) with it; a signature
    mismatch means the key differs and is replaced. The key never appears in a result or diff.
author:
  - MLSP platform team (@mlsp)
options:
  access_key:
    description: The user's access key (its name), at least 3 characters.
    type: str
    required: true
  secret_key:
    description:
      - The user's secret key, at least 8 characters. Required to create a user.
      - See O(update_secret) for when an existing user's key is checked and replaced.
    type: str
  update_secret:
    description:
      - V(always) checks the secret key of an existing user and replaces it when it differs;
        V(on_create) sets it only when the user is created.
      - The key of a user that is and stays disabled cannot be checked (MinIO refuses every
        request of a disabled user), so it is left as it is.
    type: str
    choices: [always, on_create]
    default: always
  policies:
    description:
      - The complete list of policies the user has; others are detached. V([]) detaches all.
      - Left out, the user's policies are not managed.
    type: list
    elements: str
  enabled:
    description: Whether the user may sign in.
    type: bool
    default: true
  state:
    description: V(present) creates or updates the user; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    details:
      - The secret key of a disabled user that the task would enable cannot be checked before it
        is enabled, so check mode cannot tell whether the key would be replaced.
extends_documentation_fragment:
  - mlsp.mlflow_stack.minio
  - mlsp.mlflow_stack.attributes
"""

EXAMPLES = r"""
- name: MLflow's own user, allowed only its bucket
  mlsp.mlflow_stack.minio_user:
    access_key: mlflow
    secret_key: "{{ vault_minio_mlflow_secret_key }}"
    policies: [mlflow-artifacts]
    login_access_key: "{{ minio_root_user }}"
    login_secret_key: "{{ minio_root_password }}"
  no_log: true

- name: Lock a user out without deleting it
  mlsp.mlflow_stack.minio_user:
    access_key: former-colleague
    enabled: false
    login_access_key: "{{ minio_root_user }}"
    login_secret_key: "{{ minio_root_password }}"
  no_log: true
"""

RETURN = r"""
user:
  description: The user after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    access_key:
      description: The user's access key.
      type: str
    enabled:
      description: Whether the user may sign in.
      type: bool
    policies:
      description: The policies attached to the user.
      type: list
      elements: str
  sample: {access_key: mlflow, enabled: true, policies: [mlflow-artifacts]}
secret_updated:
  description: Whether the secret key was (or in check mode would be) set.
  returned: always
  type: bool
actions:
  description: What the task did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create user, attach policies mlflow-artifacts]
"""

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure, run_module
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._minio import (
    MinioClients,
    minio_argument_spec,
)
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._minio_compare import (
    policy_changes,
    policy_names,
)

_SECRET_MISMATCH = ("SignatureDoesNotMatch", "InvalidAccessKeyId")
_HIDDEN = "********"


class User(object):
    def __init__(self, module):
        self.module = module
        self.name = module.params["access_key"]
        self.clients = MinioClients(module)
        self.actions = []

    def admin(self, doing, method, *args, **kwargs):
        return self.clients.call(doing, "admin", method, *args, result=dict(actions=self.actions), **kwargs)

    def read(self):
        info = self.clients.call("reading user %s" % self.name, "admin", "user_info", self.name,
                                 decode=True, missing=("XMinioAdminNoSuchUser",))
        if info is None:
            return None
        return {"access_key": self.name, "enabled": info.get("status") == "enabled",
                "policies": policy_names(info.get("policyName"))}

    def secret_matches(self, secret):
        """Whether `secret` is the key in force for this (enabled) user."""
        doing = "checking the secret key of user %s" % self.name
        # AccessDenied: signed with the right key, just not allowed to list.
        code = self.clients.error_code_of(doing, self.clients.s3_for(self.name, secret), "list_buckets",
                                          _SECRET_MISMATCH + ("AccessDenied",), result=dict(actions=self.actions))
        return code not in _SECRET_MISMATCH

    def set_policies(self, attach, detach):
        if attach:
            self.actions.append("attach policies %s" % ", ".join(attach))
            if not self.module.check_mode:
                self.admin("attaching policies %s to user %s" % (", ".join(attach), self.name),
                           "attach_policy", attach, user=self.name)
        if detach:
            self.actions.append("detach policies %s" % ", ".join(detach))
            if not self.module.check_mode:
                self.admin("detaching policies %s from user %s" % (", ".join(detach), self.name),
                           "detach_policy", detach, user=self.name)


def create(module, user):
    params = module.params
    if not params["secret_key"]:
        user.clients.fail("creating user %s" % user.name, "secret_key is required to create a user")
    user.actions.append("create user")
    if not module.check_mode:
        user.admin("creating user %s" % user.name, "user_add", user.name, params["secret_key"])
    user.set_policies(sorted(set(params["policies"] or [])), [])
    if not params["enabled"]:
        user.actions.append("disable user")
        if not module.check_mode:
            user.admin("disabling user %s" % user.name, "user_disable", user.name)
    return True


def update(module, user, current):
    """Bring an existing user to the declared state; True when the secret key was set."""
    params = module.params
    check_secret = params["update_secret"] == "always" and params["secret_key"] is not None
    secret_updated = False
    enabled = current["enabled"]
    if params["enabled"] and not enabled:
        user.actions.append("enable user")
        if not module.check_mode:
            user.admin("enabling user %s" % user.name, "user_enable", user.name)
            enabled = True
    if check_secret and enabled and not user.secret_matches(params["secret_key"]):
        secret_updated = True
        user.actions.append("set secret key")
        if not module.check_mode:
            # user_add on an existing user sets its secret key (and enables it: it is enabled here).
            user.admin("setting the secret key of user %s" % user.name, "user_add", user.name, params["secret_key"])
    elif check_secret and not enabled and params["enabled"]:
        user.actions.append("check secret key once enabled")
    if params["policies"] is not None:
        user.set_policies(*policy_changes(current["policies"], params["policies"]))
    if not params["enabled"] and current["enabled"]:
        user.actions.append("disable user")
        if not module.check_mode:
            user.admin("disabling user %s" % user.name, "user_disable", user.name)
    return secret_updated


def run(module):
    params = module.params
    if len(params["access_key"]) < 3:
        raise ModuleFailure("checking user %s: access_key must be at least 3 characters" % params["access_key"])
    if params["secret_key"] is not None and len(params["secret_key"]) < 8:
        raise ModuleFailure("checking user %s: secret_key must be at least 8 characters" % params["access_key"])

    user = User(module)
    current = user.read()
    secret_updated = False
    if params["state"] == "absent":
        after = {}
        if current is not None:
            user.actions.append("remove user")
            if not module.check_mode:
                user.admin("removing user %s" % user.name, "user_remove", user.name)
    elif current is None:
        secret_updated = create(module, user)
        after = {"access_key": user.name, "enabled": params["enabled"],
                 "policies": sorted(set(params["policies"] or []))}
    else:
        secret_updated = update(module, user, current)
        after = {"access_key": user.name, "enabled": params["enabled"],
                 "policies": current["policies"] if params["policies"] is None else sorted(set(params["policies"]))}
    changed = bool([a for a in user.actions if not a.startswith("check ")])
    if changed and not module.check_mode and params["state"] == "present":
        after = user.read()

    result = dict(changed=changed, user=after, secret_updated=secret_updated, actions=user.actions)
    if module._diff:
        before = dict(current or {})
        diff_after = dict(after)
        if secret_updated:
            if current:
                before["secret_key"] = _HIDDEN
            diff_after["secret_key"] = _HIDDEN + " (new)"
        result["diff"] = dict(before=before, after=diff_after)
    module.exit_json(**result)


def main():
    argument_spec = minio_argument_spec()
    argument_spec.update(
        access_key=dict(type="str", required=True, no_log=False),
        secret_key=dict(type="str", no_log=True),
        update_secret=dict(type="str", choices=["always", "on_create"], default="always", no_log=False),
        policies=dict(type="list", elements="str"),
        enabled=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    run_module(run, argument_spec)


if __name__ == "__main__":
    main()
