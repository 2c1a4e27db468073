#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mlflow_user
short_description: Manage a user of an MLflow tracking server with basic authentication
version_added: 0.1.0
description:
  - Creates, updates and deletes a user of an MLflow tracking server that runs the C(basic-auth)
    app, through its REST API, logged in as an admin.
  - The server never returns a password hash. To know whether a password must change, the module
    logs in as the user with the desired password and updates it only when that login is refused.
  - MLflow has no command line for users; this module and M(mlsp.mlflow_stack.mlflow_user_info)
    replace it.
author:
  - MLSP platform team (@mlsp)
options:
  name:
    description:
      - The user name.
    type: str
    required: true
    aliases: [username]
  password:
    description:
      - The user's password, at least 12 characters (the server's rule).
      - Required when O(state=present).
    type: str
  admin:
    description:
      - Whether the user is an MLflow admin (can manage users and every permission).
      - When not given, an existing user's flag is left as it is and a new user is not an admin.
    type: bool
  update_password:
    description:
      - V(always) sets the password of an existing user when the desired one does not log in.
      - V(on_create) sets it only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
  state:
    description:
      - Whether the user exists.
    type: str
    choices: [present, absent]
    default: present
notes:
  - When O(name) is O(login_username) (an admin changing their own password), the server asks for
    the current password, and the module sends O(login_password). If O(login_password) is refused
    but O(password) logs in, the change was already made and the module reports no change.
  - An admin cannot remove their own admin flag or delete themselves with this module; log in as
    another admin.
  - With the server's credential cache on (C(auth_cache_ttl_seconds) above 0), only the worker that
    handles a password change, admin flag change or deletion forgets the user's cached credentials;
    the other workers keep accepting them until the TTL ends. Restart the server after a change to
    make it take effect at once, as the C(mlsp.mlflow_stack.mlflow) role does. Within that window,
    an old password may also still log in when the module checks whether O(password) is current.
seealso:
  - module: mlsp.mlflow_stack.mlflow_user_info
  - module: mlsp.mlflow_stack.mlflow_permission
extends_documentation_fragment:
  - mlsp.mlflow_stack.mlflow
  - mlsp.mlflow_stack.attributes
'''

EXAMPLES = r'''
- name: Create a data scientist who may log in
  mlsp.mlflow_stack.mlflow_user:
    tracking_uri: http://mlflow.internal:5000
    login_password: "{{ mlflow_admin_password }}"
    name: alice
    password: "{{ vault_mlflow_alice_password }}"

- name: Rotate the admin's own password
  mlsp.mlflow_stack.mlflow_user:
    tracking_uri: http://mlflow.internal:5000
    login_username: admin
    login_password: "{{ old_admin_password }}"
    name: admin
    password: "{{ new_admin_password }}"
    admin: true

- name: Several users, the login given once for all (action group mlsp.mlflow_stack.mlflow)
  module_defaults:
    group/mlsp.mlflow_stack.mlflow:
      tracking_uri: http://mlflow.internal:5000
      login_username: "{{ mlflow_admin_username }}"
      login_password: "{{ mlflow_admin_password }}"
  block:
    - name: Make bob an admin, keeping the password he chose
      mlsp.mlflow_stack.mlflow_user:
        name: bob
        password: "{{ vault_mlflow_bob_initial_password }}"
        update_password: on_create
        admin: true

    - name: Remove a user who left
      mlsp.mlflow_stack.mlflow_user:
        name: carol
        state: absent
'''

RETURN = r'''
user:
  description: The user after the task (predicted in check mode, where a user still to be created
    has a null id); empty when absent.
  returned: always
  type: dict
  sample: {"id": 2, "username": "alice", "is_admin": false}
actions:
  description: What was done (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create", "admin"]
'''

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure, run_module
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._mlflow import (
    MIN_PASSWORD_LENGTH,
    MlflowAuthError,
    MlflowClient,
    mlflow_argument_spec,
    public_user,
    user_actions,
    user_after,
    user_diff,
)


def _login(module, client):
    """The admin client to work with. An admin rotating their own password may already have done
    it: then login_password is refused while the desired password works."""
    p = module.params
    try:
        client.require_admin()
        return client
    except MlflowAuthError:
        if p['name'] == client.username and p['state'] == 'present' and p['password']:
            own = client.as_user(p['name'], p['password'])
            if own.credentials_work():
                own.require_admin()
                return own
        raise


def run(module):
    p = module.params
    name = p['name']
    client = _login(module, MlflowClient.from_module(module))

    current = client.get_user(name)
    password_matches = None
    if p['state'] == 'present' and current and p['update_password'] == 'always':
        if name == client.username and client.has_password(p['password']):
            password_matches = True
        else:
            password_matches = client.as_user(name, p['password']).credentials_work()

    actions = user_actions(current, p['state'], p['admin'], password_matches, p['update_password'])

    if name == client.username and ('delete' in actions or ('admin' in actions and not p['admin'])):
        raise ModuleFailure('refusing to %s user %s: it is login_username, the admin this module '
                            'logs in as; log in as another admin' % (
                                'delete' if 'delete' in actions else 'remove the admin flag of', name))
    if ('create' in actions or 'password' in actions) and len(p['password']) < MIN_PASSWORD_LENGTH:
        raise ModuleFailure('%s user %s: the password has fewer than %d characters, which the '
                            'MLflow server refuses' % ('creating' if 'create' in actions else
                                                       'setting the password of', name, MIN_PASSWORD_LENGTH))

    result = dict(changed=bool(actions), actions=actions, user=user_after(name, current, actions, p['admin']))
    if module._diff:
        result['diff'] = user_diff(name, current, actions, p['admin'])
    if module.check_mode or not actions:
        module.exit_json(**result)

    for action in actions:
        if action == 'create':
            client.create_user(name, p['password'])
        elif action == 'password':
            client.update_password(name, p['password'])
            if name == client.username:
                client = client.as_user(name, p['password'])
        elif action == 'admin':
            client.update_admin(name, p['admin'])
        elif action == 'delete':
            client.delete_user(name)

    result['user'] = {} if 'delete' in actions else public_user(client.get_user(name))
    module.exit_json(**result)


def main():
    argument_spec = mlflow_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True, aliases=['username']),
        password=dict(type='str', no_log=True),
        admin=dict(type='bool'),
        update_password=dict(type='str', default='always', choices=['always', 'on_create'],
                             no_log=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    run_module(run, argument_spec, required_if=[('state', 'present', ('password',))])


if __name__ == '__main__':
    main()
