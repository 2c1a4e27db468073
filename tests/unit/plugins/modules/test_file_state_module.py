# -*- coding: utf-8 -*-
"""The file_state module on a real folder: what it reports for files and folders as wanted,
changed, missing or of the wrong kind, and that it changes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import json
import os
import pathlib
import pwd
import sys

import pytest

try:
    import ansible_collections.mlsp.mlflow_stack  # noqa: F401  pylint: disable=unused-import
except ImportError:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4] / '.ansible' / 'collections'))

from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.mlsp.mlflow_stack.plugins.modules import file_state  # noqa: E402

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def _run(capsys, files, check_mode=False):
    with patch_module_args({'files': files, '_ansible_check_mode': check_mode}):
        with pytest.raises(SystemExit) as info:
            file_state.main()
    return json.loads(capsys.readouterr().out), info.value.code


@pytest.fixture(name='tree')
def fixture_tree(tmp_path):
    (tmp_path / 'conf.d').mkdir(mode=0o750)
    os.chmod(tmp_path / 'conf.d', 0o750)
    conf = tmp_path / 'conf.d' / 'app.conf'
    conf.write_text('port = 5000\n', encoding='utf-8')
    os.chmod(conf, 0o640)
    return tmp_path


def _sha1(text):
    return hashlib.sha1(text.encode('utf-8')).hexdigest()


def test_as_wanted_and_read_only(capsys, tree):
    conf = tree / 'conf.d' / 'app.conf'
    before = conf.stat()
    result, code = _run(capsys, [
        {'path': str(tree / 'conf.d'), 'state': 'directory', 'owner': OWNER, 'group': GROUP, 'mode': '0750'},
        {'path': str(conf), 'owner': OWNER, 'group': GROUP, 'mode': '0640', 'checksum': _sha1('port = 5000\n')},
    ])
    assert code == 0 and result['changed'] is False
    assert result['outdated'] == [] and result['reasons'] == {}
    after = conf.stat()
    assert (after.st_mtime_ns, after.st_mode) == (before.st_mtime_ns, before.st_mode)
    # Neither the content nor its checksum is returned (the checksum of a file with secrets is
    # kept out of the printed arguments too).
    assert 'port = 5000' not in json.dumps(result)
    assert _sha1('port = 5000\n') not in json.dumps(result)


def test_differences_in_the_order_given(capsys, tree):
    conf = tree / 'conf.d' / 'app.conf'
    result, code = _run(capsys, [
        {'path': str(conf), 'mode': '0600', 'checksum': _sha1('port = 5001\n')},
        {'path': str(tree / 'missing.conf')},
        {'path': str(conf), 'state': 'directory'},
        {'path': str(tree / 'conf.d'), 'state': 'directory', 'owner': str(os.getuid()), 'mode': '0755'},
    ], check_mode=True)
    assert code == 0
    assert result['outdated'] == [str(conf), str(tree / 'missing.conf'), str(tree / 'conf.d')]
    assert result['reasons'][str(conf)] == ['content', 'mode', 'kind']  # both entries, once
    assert result['reasons'][str(tree / 'missing.conf')] == ['missing']
    assert result['reasons'][str(tree / 'conf.d')] == ['mode']


def test_a_symlink_is_not_its_target(capsys, tree):
    link = tree / 'link.conf'
    link.symlink_to(tree / 'conf.d' / 'app.conf')
    result, code = _run(capsys, [{'path': str(link), 'checksum': _sha1('port = 5000\n')}])
    assert code == 0
    assert result['reasons'] == {str(link): ['kind']}


def test_a_bad_mode_fails_naming_the_entry(capsys, tree):
    result, code = _run(capsys, [{'path': str(tree / 'conf.d'), 'state': 'directory', 'mode': 'u+rwx'}])
    assert code == 1 and result['failed'] is True
    assert result['msg'].startswith('Comparing files[0] (%s) failed: mode' % (tree / 'conf.d'))


def test_a_relative_path_fails_naming_the_entry(capsys, tree):
    result, code = _run(capsys, [{'path': str(tree)}, {'path': 'etc/app.conf'}])
    assert code == 1 and result['msg'] == 'Comparing files[1] (etc/app.conf) failed: the path is not absolute'
