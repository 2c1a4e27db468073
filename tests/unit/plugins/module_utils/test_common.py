# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error path of the modules (plugins/module_utils/_common.py): a ModuleFailure raised
anywhere in a module's work ends the task with fail_json, its message and extra keys, and no
traceback; a normal end is exit_json's own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import pathlib
import sys

import pytest

try:
    import ansible_collections.mlsp.mlflow_stack  # noqa: F401  pylint: disable=unused-import
except ImportError:
    # Run from the working tree: scripts/lib.sh's link_collection links it under .ansible/.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4] / '.ansible' / 'collections'))

from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import (  # noqa: E402
    ModuleFailure,
    run_module,
)
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._mlflow import MlflowAuthError  # noqa: E402

SPEC = dict(name=dict(type='str', required=True), login_password=dict(type='str', no_log=True))


def _result(run, capsys, check_mode=False):
    """The result a module with ``run`` prints, and its exit code."""
    args = dict(name='alice', login_password='pw-very-secret-1', _ansible_check_mode=check_mode)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            run_module(run, SPEC)
    return json.loads(capsys.readouterr().out), info.value.code


def test_failure_becomes_fail_json_with_its_keys_and_no_traceback(capsys):
    def run(module):
        raise ModuleFailure('creating user %s: HTTP 500' % module.params['name'], actions=['create'])

    result, code = _result(run, capsys)
    assert code == 1 and result['failed'] is True
    assert result['msg'] == 'creating user alice: HTTP 500'
    assert result['actions'] == ['create']
    assert 'exception' not in result
    assert 'pw-very-secret-1' not in json.dumps(result)


def test_a_client_error_takes_the_same_path(capsys):
    def run(module):
        raise MlflowAuthError('logging in as admin: the server refused the login credentials', 401)

    result, code = _result(run, capsys)
    assert code == 1 and result['msg'].startswith('logging in as admin: the server refused')
    assert 'exception' not in result


def test_normal_end_is_exit_json(capsys):
    def run(module):
        module.exit_json(changed=False, check=module.check_mode)

    result, code = _result(run, capsys, check_mode=True)
    assert code == 0 and result['changed'] is False and result['check'] is True
    assert 'failed' not in result


def test_a_run_without_result_fails(capsys):
    def run(module):
        return None

    result, code = _result(run, capsys)
    assert code == 1 and result['msg'] == 'the module ended without a result'


def test_other_exceptions_are_not_swallowed():
    def run(module):
        raise KeyError('a bug')

    with patch_module_args(dict(name='alice', login_password='pw-very-secret-1')):
        with pytest.raises(KeyError):
            run_module(run, SPEC)
