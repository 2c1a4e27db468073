# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes of the modules, declared once. Every module extends
    mlsp.mlflow_stack.attributes. The membership of its action group (meta/runtime.yml) comes
    with the connection options of its family, in mlsp.mlflow_stack.minio or
    mlsp.mlflow_stack.mlflow: the group exists to set those options once. A module that only
    reads lists mlsp.mlflow_stack.attributes.info_module before mlsp.mlflow_stack.attributes:
    where two fragments set the same key of an attribute, the one listed first wins."""

    # A module that writes to a server: all but mlflow_user_info.
    DOCUMENTATION = r"""
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
  action_group:
    description:
      - Use C(group/mlsp.mlflow_stack.minio) (minio_* modules) or C(group/mlsp.mlflow_stack.mlflow)
        (mlflow_* modules) in C(module_defaults) to give the modules of a family their
        connection options once.
"""

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
