#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mlflow_permission
short_description: Manage a user's permission on an MLflow experiment or registered model
version_added: 0.1.0
description:
  - Grants, changes and revokes one user's permission on one experiment (by name or id) or one
    registered model of an MLflow tracking server that runs the C(basic-auth) app, logged in as an
    admin.
  - A user without a grant on a resource has the server's C(default_permission) on it.
  - The module manages the user's own grant (what MLflow 3 keeps in the user's synthetic role
    C(__user_<id>__)); permissions that come from named roles are left alone.
author:
  - MLSP platform team (@mlsp)
options:
  user:
    description:
      - The user name. It must exist.
    type: str
    required: true
    aliases: [username]
  experiment_name:
    description:
      - The experiment, by name. One of O(experiment_name), O(experiment_id) and
        O(registered_model) is required.
    type: str
  experiment_id:
    description:
      - The experiment, by id.
    type: str
  registered_model:
    description:
      - The registered model, by name.
    type: str
  permission:
    description:
      - The permission. V(READ) reads; V(USE) also uses (for example, serves a model); V(EDIT)
        also writes runs, versions and tags; V(MANAGE) also deletes and grants permissions.
      - V(NO_PERMISSIONS) takes every access away, even when C(default_permission) would grant
        some. MLflow 3 calls this V(DENY) and refuses the older name as a grant, so the module
        writes it as V(DENY) and reports V(DENY).
      - Required when O(state=present).
    type: str
    choices: [READ, USE, EDIT, MANAGE, NO_PERMISSIONS, DENY]
  state:
    description:
      - V(present) makes the user's grant on the resource O(permission); V(absent) removes the
        grant, so the user falls back to C(default_permission).
    type: str
    choices: [present, absent]
    default: present
notes:
  - With O(state=present) the user and the resource must exist. With O(state=absent) a missing
    user, or an experiment name that names no experiment, means there is nothing to revoke.
seealso:
  - module: mlsp.mlflow_stack.mlflow_user
extends_documentation_fragment:
  - mlsp.mlflow_stack.mlflow
  - mlsp.mlflow_stack.attributes
'''

EXAMPLES = r'''
- name: Grants on the churn project, the login given once for all (action group mlsp.mlflow_stack.mlflow)
  module_defaults:
    group/mlsp.mlflow_stack.mlflow:
      tracking_uri: http://mlflow.internal:5000
      login_password: "{{ mlflow_admin_password }}"
  block:
    - name: Let alice log runs in the churn experiment
      mlsp.mlflow_stack.mlflow_permission:
        user: alice
        experiment_name: churn
        permission: EDIT

    - name: Let bob manage the churn-classifier model
      mlsp.mlflow_stack.mlflow_permission:
        user: bob
        registered_model: churn-classifier
        permission: MANAGE

    - name: Hide experiment 42 from carol
      mlsp.mlflow_stack.mlflow_permission:
        user: carol
        experiment_id: "42"
        permission: NO_PERMISSIONS

- name: Alice back to the default permission on churn
  mlsp.mlflow_stack.mlflow_permission:
    tracking_uri: http://mlflow.internal:5000
    login_password: "{{ mlflow_admin_password }}"
    user: alice
    experiment_name: churn
    state: absent
'''

RETURN = r'''
permission:
  description: The user's own grant on the resource after the task (predicted in check mode);
    null when there is none.
  returned: always
  type: str
  sample: EDIT
resource_type:
  description: C(experiment) or C(registered_model).
  returned: always
  type: str
  sample: experiment
resource_id:
  description: The experiment id or the model name; null when an experiment name names none.
  returned: always
  type: str
  sample: "1"
'''

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure, run_module
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._mlflow import (
    PERMISSIONS,
    RESOURCE_EXPERIMENT,
    RESOURCE_REGISTERED_MODEL,
    MlflowClient,
    find_grant,
    mlflow_argument_spec,
    permission_action,
    permission_level,
)


def _found(resource_id):
    return resource_id is not None


def _resource(module, client):
    """(resource_type, resource_id, label); resource_id is None when an experiment name names no
    experiment and state is absent. Fails when the resource does not exist and state is present."""
    p = module.params
    if p['registered_model'] is not None:
        rtype, rid = RESOURCE_REGISTERED_MODEL, p['registered_model']
        label, exists = 'registered model %s' % rid, client.registered_model_exists
    elif p['experiment_id'] is not None:
        rtype, rid = RESOURCE_EXPERIMENT, p['experiment_id']
        label, exists = 'experiment %s' % rid, client.experiment_exists
    else:
        rtype, rid = RESOURCE_EXPERIMENT, client.experiment_id_by_name(p['experiment_name'])
        label, exists = 'experiment %s' % p['experiment_name'], _found
    if p['state'] == 'present' and not exists(rid):
        raise ModuleFailure('granting %s to user %s: %s does not exist' % (p['permission'], p['user'], label))
    return rtype, rid, label


def run(module):
    p = module.params
    client = MlflowClient.from_module(module)
    client.require_admin()

    user = client.get_user(p['user'])
    if user is None and p['state'] == 'present':
        raise ModuleFailure('granting %s to user %s: user %s does not exist'
                            % (p['permission'], p['user'], p['user']))
    rtype, rid, label = _resource(module, client)

    row = None
    if user is not None and rid is not None:
        row = find_grant(client.user_grants(p['user']), user['id'], rtype, rid)
    current = row.get('permission') if row else None
    action = permission_action(current, p['state'], p['permission'])
    wanted = permission_level(p['permission']) if p['state'] == 'present' else None

    after = wanted if action else current
    result = dict(changed=action is not None, permission=after, resource_type=rtype,
                  resource_id=rid)
    if module._diff:
        result['diff'] = dict(
            before={'user': p['user'], 'resource': label, 'permission': current},
            after={'user': p['user'], 'resource': label, 'permission': after})
    if module.check_mode or action is None:
        module.exit_json(**result)

    if action == 'grant':
        client.grant(p['user'], rtype, rid, wanted)
    elif action == 'update':
        rp_id = client.role_permission_id(row['role_id'], rtype, rid)
        if rp_id is None:
            raise ModuleFailure('changing the permission of user %s on %s: the grant vanished '
                                'while the module ran; run it again' % (p['user'], label))
        client.update_grant(rp_id, wanted, 'the permission of user %s on %s' % (p['user'], label))
    elif action == 'revoke':
        client.revoke(p['user'], rtype, rid)

    row = find_grant(client.user_grants(p['user']), user['id'], rtype, rid)
    result['permission'] = row.get('permission') if row else None
    module.exit_json(**result)


def main():
    argument_spec = mlflow_argument_spec()
    argument_spec.update(
        user=dict(type='str', required=True, aliases=['username']),
        experiment_name=dict(type='str'),
        experiment_id=dict(type='str'),
        registered_model=dict(type='str'),
        permission=dict(type='str', choices=list(PERMISSIONS)),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    run_module(run, argument_spec,
               mutually_exclusive=[('experiment_name', 'experiment_id', 'registered_model')],
               required_one_of=[('experiment_name', 'experiment_id', 'registered_model')],
               required_if=[('state', 'present', ('permission',))])


if __name__ == '__main__':
    main()
