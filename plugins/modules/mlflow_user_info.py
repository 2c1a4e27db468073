#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mlflow_user_info
short_description: List the users of an MLflow tracking server and their admin flag
version_added: 0.1.0
description:
  - Lists the users of an MLflow tracking server that runs the C(basic-auth) app, logged in as an
    admin. The server keeps no other facts about a user than its id, name and admin flag (and its
    password hash, which it never returns).
author:
  - MLSP platform team (@mlsp)
options:
  name:
    description:
      - Only these users. A name that does not exist is left out of RV(users) and listed in
        RV(missing).
    type: list
    elements: str
seealso:
  - module: mlsp.mlflow_stack.mlflow_user
extends_documentation_fragment:
  - mlsp.mlflow_stack.mlflow
  - mlsp.mlflow_stack.attributes.info_module
  - mlsp.mlflow_stack.attributes
'''

EXAMPLES = r'''
- name: Read the users
  mlsp.mlflow_stack.mlflow_user_info:
    tracking_uri: http://mlflow.internal:5000
    login_password: "{{ mlflow_admin_password }}"
  register: mlflow_users

- name: Show who is an admin
  ansible.builtin.debug:
    msg: "{{ mlflow_users.users | selectattr('is_admin') | map(attribute='username') | list }}"
'''

RETURN = r'''
users:
  description: The users, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The server's id of the user.
      type: int
    username:
      description: The user name.
      type: str
    is_admin:
      description: Whether the user is an admin.
      type: bool
  sample: [{"id": 1, "username": "admin", "is_admin": true}, {"id": 2, "username": "alice", "is_admin": false}]
missing:
  description: The names asked for in O(name) that do not exist.
  returned: always
  type: list
  elements: str
  sample: []
'''

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import run_module
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._mlflow import (
    MlflowClient,
    mlflow_argument_spec,
    public_user,
)


def run(module):
    wanted = module.params['name']
    client = MlflowClient.from_module(module)
    client.require_admin()
    users = [public_user(u) for u in client.list_users()]
    if wanted is not None:
        users = [u for u in users if u['username'] in wanted]
    found = set(u['username'] for u in users)
    module.exit_json(changed=False, users=sorted(users, key=lambda u: u['username']),
                     missing=[n for n in (wanted or []) if n not in found])


def main():
    argument_spec = mlflow_argument_spec()
    argument_spec.update(name=dict(type='list', elements='str'))
    run_module(run, argument_spec)


if __name__ == '__main__':
    main()
