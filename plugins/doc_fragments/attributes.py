# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# What check mode, diff mode and idempotency mean for every module of the collection.
_CHANGES = r"""
options: {}
attributes:
  check_mode:
    description:
      - Runs in check mode without writing anything.
      - It returns what a real run would return, C(changed) and the result as the task would
        leave it (the predicted state, not the current one), and in diff mode the predicted diff.
    support: full
  diff_mode:
    description:
      - Returns the managed state before and after the task (the predicted after, in check
        mode). A secret shows only as whether it changes, never its value.
    support: full
  idempotent:
    description:
      - Run twice in a row with the same arguments outside check mode, the second run reports
        no change, as long as nothing else changed the server in between.
    support: full
"""

# The action group of a family (meta/runtime.yml), and the connection options it sets.
_ACTION_GROUP = r"""
  action_group:
    description:
      - Use C(group/mlsp.mlflow_stack.{family}) in C(module_defaults) to give every {family}_*
        module its connection options ({options}) once.
    support: full
    membership:
      - mlsp.mlflow_stack.{family}
"""


class ModuleDocFragment(object):
    """The attributes of the modules, declared once. A module extends the fragment of its
    family: mlsp.mlflow_stack.attributes.minio_module or .mlflow_module. A module that only reads
    lists mlsp.mlflow_stack.attributes.info_module before it: where two fragments set the same key
    of an attribute, the one listed first wins. (Not .minio or .mlflow: those names find the
    connection fragments mlsp.mlflow_stack.minio and mlsp.mlflow_stack.mlflow.)"""

    DOCUMENTATION = _CHANGES

    MINIO_MODULE = _CHANGES + _ACTION_GROUP.format(
        family='minio', options='O(endpoint_url), O(login_access_key), O(login_secret_key)')

    MLFLOW_MODULE = _CHANGES + _ACTION_GROUP.format(
        family='mlflow', options='O(tracking_uri), O(login_username), O(login_password)')

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode changes nothing in what it does.
  diff_mode:
    support: N/A
    details: The module changes nothing, so there is no diff.
  idempotent:
    support: full
    details: The module changes nothing.
"""
