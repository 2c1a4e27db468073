# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by the mlflow_* modules, and their action group, which exists
    to set these options once."""

    DOCUMENTATION = r'''
options:
  tracking_uri:
    description:
      - Base URL of the MLflow tracking server, for example V(http://127.0.0.1:5000).
      - The server must run with basic authentication (C(mlflow server --app-name basic-auth)).
    type: str
    required: true
  login_username:
    description:
      - The MLflow user the module logs in as. It must be an admin.
    type: str
    default: admin
  login_password:
    description:
      - The password of O(login_username). Never shown in output or messages.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the server's TLS certificate when O(tracking_uri) is C(https://).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of certificate authorities to verify the server's certificate with.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer from the server.
    type: int
    default: 30
notes:
  - The modules talk to the server's REST API with Ansible's own HTTP client; they need no
    Python library on the managed host.
  - Redirects are not followed, so the credentials are only ever sent to O(tracking_uri).
attributes:
  action_group:
    support: full
    membership: [mlsp.mlflow_stack.mlflow]
'''
