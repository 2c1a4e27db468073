# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the minio_* modules read a client's error (plugins/module_utils/_minio.py): an error code
that means "not there" answers None, any other error is one ModuleFailure that names what was
being done, the endpoint and the server's code, never a key. The clients are stand-ins that raise
the libraries' real exceptions; the runs against a real MinIO are in molecule/minio."""

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

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils import _minio as mu  # noqa: E402
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure  # noqa: E402

pytest.importorskip('botocore')
pytest.importorskip('minio')

from botocore.exceptions import ClientError, EndpointConnectionError  # noqa: E402
from minio.error import MinioAdminException  # noqa: E402
from urllib3.exceptions import MaxRetryError  # noqa: E402

SECRET = 'root-secret-key-0123'


class _Module(object):
    def __init__(self, endpoint='http://127.0.0.1:9000'):
        self.params = dict(endpoint_url=endpoint, login_access_key='root', login_secret_key=SECRET,
                           region='us-east-1', validate_certs=True, ca_path=None)
        self.check_mode = False


class _Client(object):
    """Answers every method with ``answer``, or raises it when it is an exception."""

    def __init__(self, answer):
        self.answer = answer

    def __getattr__(self, name):
        def method(*args, **kwargs):
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer
        return method


def _clients(admin=None, s3=None):
    clients = mu.MinioClients(_Module())
    clients._admin = _Client(admin)  # pylint: disable=protected-access
    clients._s3 = _Client(s3)  # pylint: disable=protected-access
    return clients


def _admin_error(code, message='the message'):
    return MinioAdminException('404', json.dumps({'Code': code, 'Message': message}))


def _s3_error(code, message='the message'):
    return ClientError({'Error': {'Code': code, 'Message': message}}, 'GetBucketPolicy')


def test_endpoint_with_a_path_is_refused():
    with pytest.raises(ModuleFailure, match='endpoint_url must look like'):
        mu.MinioClients(_Module('http://127.0.0.1:9000/minio'))


def test_admin_answer_is_decoded():
    clients = _clients(admin='{"status": "enabled", "policyName": "a,b"}')
    assert clients.call('reading user u', 'admin', 'user_info', 'u', decode=True)['policyName'] == 'a,b'


def test_admin_missing_code_answers_none():
    clients = _clients(admin=_admin_error('XMinioAdminNoSuchPolicy'))
    assert clients.call('reading policy p', 'admin', 'policy_info', 'p', decode=True,
                        missing=('XMinioAdminNoSuchPolicy',)) is None


def test_admin_other_error_names_doing_endpoint_and_code():
    clients = _clients(admin=_admin_error('XMinioAdminNoSuchUser', 'The specified user does not exist.'))
    with pytest.raises(ModuleFailure) as info:
        clients.call('reading policy p', 'admin', 'policy_info', 'p', missing=('XMinioAdminNoSuchPolicy',),
                     result=dict(actions=['create user']))
    assert str(info.value) == ('reading policy p on http://127.0.0.1:9000: '
                               'XMinioAdminNoSuchUser: The specified user does not exist.')
    assert info.value.result == {'actions': ['create user']}


@pytest.mark.parametrize('answer', [
    'not json',  # decode: ValueError
    MaxRetryError(None, 'http://127.0.0.1:9000/minio/admin/v3/info-canned-policy'),  # urllib3
])
def test_admin_transport_and_decoding_errors_fail_the_same_way(answer):
    clients = _clients(admin=answer)
    with pytest.raises(ModuleFailure) as info:
        clients.call('reading policy p', 'admin', 'policy_info', 'p', decode=True)
    assert str(info.value).startswith('reading policy p on http://127.0.0.1:9000: ')
    assert SECRET not in str(info.value)


def test_s3_missing_code_answers_none_and_other_codes_fail():
    clients = _clients(s3=_s3_error('NoSuchBucketPolicy'))
    assert clients.call('reading the policy of bucket b', 's3', 'get_bucket_policy',
                        missing=('NoSuchBucketPolicy',), Bucket='b') is None
    clients = _clients(s3=_s3_error('AccessDenied', 'Access Denied.'))
    with pytest.raises(ModuleFailure) as info:
        clients.call('reading the policy of bucket b', 's3', 'get_bucket_policy',
                     missing=('NoSuchBucketPolicy',), Bucket='b')
    assert str(info.value) == 'reading the policy of bucket b on http://127.0.0.1:9000: AccessDenied: Access Denied.'


def test_s3_connection_error_fails_with_the_endpoint():
    clients = _clients(s3=EndpointConnectionError(endpoint_url='http://127.0.0.1:9000/b'))
    with pytest.raises(ModuleFailure) as info:
        clients.call('creating bucket b', 's3', 'create_bucket', Bucket='b')
    assert str(info.value).startswith('creating bucket b on http://127.0.0.1:9000: EndpointConnectionError: ')


def test_fail_takes_a_sentence_too():
    with pytest.raises(ModuleFailure) as info:
        _clients().fail('deleting bucket b', 'it is not empty', actions=[])
    assert str(info.value) == 'deleting bucket b on http://127.0.0.1:9000: it is not empty'


def test_error_code_of_reports_the_outcome_only():
    clients = _clients()
    assert clients.error_code_of('reading bucket b', _Client({'ok': 1}), 'head_bucket', Bucket='b') is None
    assert clients.error_code_of('reading bucket b', _Client(_s3_error('403')), 'head_bucket', Bucket='b') == '403'
    mismatch = ('SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied')
    assert clients.error_code_of('checking the secret key of user u', _Client(_s3_error('SignatureDoesNotMatch')),
                                 'list_buckets', mismatch) == 'SignatureDoesNotMatch'


def test_error_code_of_fails_on_other_codes_and_on_no_answer():
    clients = _clients()
    with pytest.raises(ModuleFailure) as info:
        clients.error_code_of('checking the secret key of user u', _Client(_s3_error('InternalError', 'boom')),
                              'list_buckets', ('AccessDenied',), result=dict(actions=['enable user']))
    assert str(info.value) == 'checking the secret key of user u on http://127.0.0.1:9000: InternalError: boom'
    assert info.value.result == {'actions': ['enable user']}
    with pytest.raises(ModuleFailure, match='reading bucket b on http://127.0.0.1:9000: EndpointConnectionError'):
        clients.error_code_of('reading bucket b', _Client(EndpointConnectionError(endpoint_url='http://127.0.0.1:9000/b')),
                              'head_bucket', Bucket='b')
