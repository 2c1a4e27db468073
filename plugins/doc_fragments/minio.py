# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the minio_* modules (plugins/module_utils/_minio.py), and their
    # action group, which exists to set these options once.
    DOCUMENTATION = r"""
options:
  endpoint_url:
    description:
      - URL of the MinIO S3 API, C(http://host:port) or C(https://host:port), with no path.
      - The role runs the modules on the MinIO host against its own loopback address.
    type: str
    default: http://127.0.0.1:9000
  login_access_key:
    description:
      - Access key to connect with, usually the root user (C(MINIO_ROOT_USER)).
      - Managing policies and users needs admin rights; managing a bucket needs the S3 rights
        on it.
    type: str
    required: true
  login_secret_key:
    description:
      - Secret key that goes with O(login_access_key). It never appears in a result or message.
    type: str
    required: true
  region:
    description:
      - Region used to sign requests. MinIO answers to C(us-east-1) unless its C(MINIO_REGION)
        says otherwise.
    type: str
    default: us-east-1
  validate_certs:
    description:
      - Whether to check the server's TLS certificate when O(endpoint_url) is C(https://).
    type: bool
    default: true
  ca_path:
    description:
      - A CA bundle (PEM) to check the server's certificate against, instead of the system's.
    type: path
requirements:
  - boto3 (S3 calls)
  - minio >= 7.2 (admin calls, through its C(MinioAdmin) client)
notes:
  - Debian has no package of the C(minio) Python SDK. The C(mlsp.mlflow_stack.minio) role makes a
    small virtual environment with pinned C(boto3) and C(minio) on the MinIO host and runs these
    modules with C(ansible_python_interpreter) pointing at it.
  - Every call is bounded (10 s to connect, 60 s to read, 3 attempts), so a task against a server
    that does not answer ends with an error that names the endpoint.
attributes:
  action_group:
    support: full
    membership: [mlsp.mlflow_stack.minio]
"""
