# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to this collection: only the modules of mlsp.mlflow_stack import this file. It is
# not a public API; anything in it may change or go in any release, without deprecation.
# Other collections and your own plugins must not import it.
"""The one error path of every module in the collection.

A module's main() hands its argument spec and the function that does its work to
``run_module()``. Whatever stops the work raises ``ModuleFailure`` (or a subclass, such as the
MLflow client's errors) with a message that says what was being done and what went wrong:
``creating user alice: HTTP 403 ...``. ``run_module()`` turns it into ``fail_json``, called
outside the ``except`` block so that no traceback is attached to the result.

A message never holds a credential: it is built from names, endpoints without user information
and the server's own error code and message, never from a password option or a request header."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule


class ModuleFailure(Exception):
    """The task cannot be done. ``str()`` is the message, safe to show; ``result`` holds extra
    keys for the failed result (for example the actions done before the failure)."""

    def __init__(self, message, **result):
        super(ModuleFailure, self).__init__(message)
        self.result = result


def run_module(run, argument_spec, **kwargs):
    """Make the AnsibleModule (``kwargs`` go to it; every module here supports check mode) and
    call ``run(module)``, which ends with ``module.exit_json()``; a ModuleFailure it raises ends
    the task with ``fail_json``."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **kwargs)
    try:
        run(module)
    except ModuleFailure as e:
        failure = e
    else:
        failure = ModuleFailure('the module ended without a result')
    module.fail_json(msg=str(failure), **failure.result)
