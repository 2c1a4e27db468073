# -*- coding: utf-8 -*-
"""Pure logic of plugins/module_utils/_mlflow.py: what mlflow_user and mlflow_permission decide to
change, how server errors become messages, and that no credential ever reaches a message.
The runs against a real MLflow server are in molecule/mlflow."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import pathlib
import sys

import pytest

try:
    import ansible_collections.mlsp.mlflow_stack  # noqa: F401  pylint: disable=unused-import
except ImportError:
    # Run from the working tree: scripts/lib.sh's link_collection links it under .ansible/.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4] / '.ansible' / 'collections'))

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError  # noqa: E402

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils import _mlflow as m  # noqa: E402

# A real answer of MLflow 3.17.2 to users/create for a name that exists: SQLAlchemy's error text,
# with the existing user's password hash, follows the message.
ALREADY_EXISTS = (
    '{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "User (username=alice) already exists. '
    'Error: (sqlite3.IntegrityError) UNIQUE constraint failed: users.username\\n[SQL: INSERT INTO '
    'users (username, password_hash, is_admin) VALUES (?, ?, ?)]\\n[parameters: (\'alice\', '
    '\'scrypt:32768:8:1$BHJWnr7uwffuLhKr$9392a735144e8f35e8e6\', 0)]\\n(Background on this error at: '
    'https://sqlalche.me/e/21/gkpj)", "sqlstate": "KAM00", "error_class": "RESOURCE_ALREADY_EXISTS"}')
NOT_FOUND = ('{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "User with username=bob not '
             'found", "sqlstate": "KAM00", "error_class": "RESOURCE_NOT_FOUND"}')
FLASK_404 = ('<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n'
             '<p>The requested URL was not found on the server.</p>')


# --- user_actions -------------------------------------------------------------------------------

ALICE = {'id': 2, 'username': 'alice', 'is_admin': False}
ALICE_ADMIN = dict(ALICE, is_admin=True)


@pytest.mark.parametrize('current, state, admin, matches, update, expected', [
    (None, 'present', None, None, 'always', ['create']),
    (None, 'present', False, None, 'always', ['create']),
    (None, 'present', True, None, 'on_create', ['create', 'admin']),
    (ALICE, 'present', None, True, 'always', []),
    (ALICE, 'present', False, True, 'always', []),
    (ALICE, 'present', None, False, 'always', ['password']),
    (ALICE, 'present', None, False, 'on_create', []),
    (ALICE, 'present', None, None, 'on_create', []),
    (ALICE, 'present', True, True, 'always', ['admin']),
    (ALICE, 'present', True, False, 'always', ['password', 'admin']),
    (ALICE_ADMIN, 'present', None, True, 'always', []),
    (ALICE_ADMIN, 'present', False, True, 'always', ['admin']),
    (ALICE, 'absent', None, None, 'always', ['delete']),
    (None, 'absent', None, None, 'always', []),
])
def test_user_actions(current, state, admin, matches, update, expected):
    assert m.user_actions(current, state, admin, matches, update) == expected


def test_user_diff_never_holds_a_password():
    diff = m.user_diff('alice', ALICE, ['password', 'admin'], True)
    assert diff['before'] == {'username': 'alice', 'state': 'present', 'is_admin': False,
                              'password': '<hidden>'}
    assert diff['after'] == {'username': 'alice', 'state': 'present', 'is_admin': True,
                             'password': '<hidden, changed>'}


def test_user_diff_create_and_delete():
    assert m.user_diff('bob', None, ['create'], None) == {
        'before': {'username': 'bob', 'state': 'absent'},
        'after': {'username': 'bob', 'state': 'present', 'is_admin': False,
                  'password': '<hidden, set>'}}
    assert m.user_diff('alice', ALICE, ['delete'], None)['after'] == {
        'username': 'alice', 'state': 'absent'}
    same = m.user_diff('alice', ALICE, [], None)
    assert same['before'] == same['after']


@pytest.mark.parametrize('current, actions, admin, expected', [
    (None, ['create'], None, {'id': None, 'username': 'alice', 'is_admin': False}),
    (None, ['create', 'admin'], True, {'id': None, 'username': 'alice', 'is_admin': True}),
    (ALICE, ['password', 'admin'], True, dict(ALICE, is_admin=True)),
    (ALICE, ['password'], None, ALICE),
    (ALICE, [], True, ALICE),
    (ALICE, ['delete'], None, {}),
    (None, [], None, {}),
])
def test_user_after_is_what_check_mode_predicts(current, actions, admin, expected):
    assert m.user_after('alice', current, actions, admin) == expected


def test_user_after_leaves_the_server_answer_alone():
    current = dict(ALICE)
    m.user_after('alice', current, ['admin'], True)
    assert current == ALICE


def test_public_user_keeps_only_id_name_and_flag():
    assert m.public_user(dict(ALICE, password_hash='scrypt:...', roles=[])) == ALICE
    assert m.public_user(None) == {}


# --- permissions --------------------------------------------------------------------------------

GRANTS = [
    {'permission': 'MANAGE', 'resource_pattern': '2', 'resource_type': 'experiment',
     'role_id': 7, 'role_name': '__user_2__', 'workspace': 'default'},
    {'permission': 'EDIT', 'resource_pattern': '1', 'resource_type': 'experiment',
     'role_id': 9, 'role_name': 'data-science', 'workspace': 'default'},
    {'permission': 'READ', 'resource_pattern': '1', 'resource_type': 'registered_model',
     'role_id': 7, 'role_name': '__user_2__', 'workspace': 'default'},
]


def test_find_grant_only_the_users_own_role():
    assert m.find_grant(GRANTS, 2, 'experiment', '2')['permission'] == 'MANAGE'
    # Experiment 1 is granted through a named role, not the user's own: not ours to manage.
    assert m.find_grant(GRANTS, 2, 'experiment', '1') is None
    # Same pattern, other resource type.
    assert m.find_grant(GRANTS, 2, 'registered_model', '1')['permission'] == 'READ'
    assert m.find_grant(GRANTS, 3, 'experiment', '2') is None
    assert m.find_grant([], 2, 'experiment', '2') is None


@pytest.mark.parametrize('current, state, permission, expected', [
    (None, 'present', 'EDIT', 'grant'),
    ('EDIT', 'present', 'EDIT', None),
    ('READ', 'present', 'EDIT', 'update'),
    ('MANAGE', 'present', 'READ', 'update'),
    (None, 'present', 'NO_PERMISSIONS', 'grant'),
    ('DENY', 'present', 'NO_PERMISSIONS', None),
    ('DENY', 'present', 'DENY', None),
    ('READ', 'present', 'NO_PERMISSIONS', 'update'),
    ('READ', 'absent', None, 'revoke'),
    (None, 'absent', None, None),
])
def test_permission_action(current, state, permission, expected):
    assert m.permission_action(current, state, permission) == expected


def test_permission_level():
    assert m.permission_level('NO_PERMISSIONS') == 'DENY'
    for level in ('READ', 'USE', 'EDIT', 'MANAGE', 'DENY'):
        assert m.permission_level(level) == level


# --- messages -----------------------------------------------------------------------------------

def test_clean_server_message_drops_sql_and_hash():
    text = m.clean_server_message(ALREADY_EXISTS)
    assert text == 'User (username=alice) already exists'
    assert 'scrypt' not in text and 'SQL' not in text


def test_clean_server_message_html_and_plain():
    assert m.clean_server_message(FLASK_404) == '404 Not Found'
    assert m.clean_server_message(b'Permission denied') == 'Permission denied'
    assert m.clean_server_message('') == ''
    assert len(m.clean_server_message('x' * 5000)) == 300


def test_safe_url_drops_user_info_and_query():
    assert m.safe_url('https://admin:s3cret-pass@mlflow.example:5000/api/2.0/x?username=a') == \
        'https://mlflow.example:5000/api/2.0/x'


@pytest.mark.parametrize('status, body, cls', [
    (401, '', m.MlflowAuthError),
    (403, 'Permission denied', m.MlflowPermissionError),
    (404, NOT_FOUND, m.MlflowNotFound),
    (404, FLASK_404, m.MlflowNotFound),
    (400, ALREADY_EXISTS, m.MlflowError),
    (500, 'Internal Server Error', m.MlflowError),
])
def test_classify_http_error(status, body, cls):
    err = m.classify_http_error('doing it', 'http://u:pw-secret@h:5000/p?q=1', status, body)
    assert type(err) is cls  # pylint: disable=unidiomatic-typecheck
    assert str(err).startswith('doing it: ')
    assert 'pw-secret' not in str(err) and 'q=1' not in str(err)


def test_not_found_error_code_on_other_status():
    err = m.classify_http_error('x', 'http://h/p', 400, NOT_FOUND)
    assert isinstance(err, m.MlflowNotFound)


# --- the client with a recorded transport: requests it makes, errors it raises ---------------

class _Resp(object):
    def __init__(self, body):
        self._body = body

    def read(self):
        return self._body


class Recorder(object):
    """Stands in for open_url: records each call and plays back one answer or exception."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def __call__(self, url, **kwargs):
        self.calls.append(dict(kwargs, url=url))
        if isinstance(self.answer, Exception):
            raise self.answer
        return _Resp(self.answer)


def _client(answer, username='admin', password='the-admin-pass-1'):
    rec = Recorder(answer)
    return m.MlflowClient('http://mlflow.test:5000/', username, password, opener=rec), rec


def test_call_sends_json_basic_auth_and_no_redirects():
    client, rec = _client(b'{"user": {"id": 2, "username": "alice", "is_admin": false}}')
    client.create_user('alice', 'alice-password-1')
    call = rec.calls[0]
    assert call['url'] == 'http://mlflow.test:5000/api/2.0/mlflow/users/create'
    assert call['method'] == 'POST'
    assert call['force_basic_auth'] is True
    assert call['url_username'] == 'admin'
    assert call['follow_redirects'] == 'none'
    assert call['use_netrc'] is False
    assert call['headers']['Content-Type'] == 'application/json'


def test_own_password_change_sends_current_password():
    client, rec = _client(b'{}')
    client.update_password('admin', 'the-new-admin-pass')
    assert '"current_password": "the-admin-pass-1"' in rec.calls[0]['data']
    client.update_password('alice', 'alice-password-2')
    assert 'current_password' not in rec.calls[1]['data']


def test_get_user_missing_is_none():
    err = HTTPError('http://mlflow.test:5000/x', 404, 'NOT FOUND', {}, io.BytesIO(NOT_FOUND.encode()))
    client, dummy = _client(err)
    assert client.get_user('bob') is None


def test_credentials_work():
    client, dummy = _client(HTTPError('http://x', 401, 'UNAUTHORIZED', {}, io.BytesIO(b'')))
    assert client.credentials_work() is False
    client, dummy = _client(b'{"user": {"id": 1, "username": "admin", "is_admin": true}}')
    assert client.credentials_work() is True


def test_require_admin_refuses_a_plain_user():
    client, dummy = _client(b'{"user": {"id": 2, "username": "alice", "is_admin": false}}',
                            username='alice')
    with pytest.raises(m.MlflowPermissionError, match='not an MLflow admin'):
        client.require_admin()


@pytest.mark.parametrize('exc', [
    URLError(ConnectionRefusedError(111, 'Connection refused')),
    OSError('timed out'),
])
def test_unreachable_message_names_server_not_password(exc):
    client, dummy = _client(exc, password='pw-very-secret-1')
    with pytest.raises(m.MlflowUnreachable) as info:
        client.list_users()
    msg = str(info.value)
    assert msg.startswith('listing users: cannot reach the MLflow server at http://mlflow.test:5000/')
    assert 'pw-very-secret-1' not in msg and 'Authorization' not in msg


def test_not_json_answer():
    client, dummy = _client(b'<html>a proxy page</html>')
    with pytest.raises(m.MlflowError, match='not JSON'):
        client.list_users()


# --- find: what "does not exist" means for each lookup -----------------------------------------

INVALID_ID = ('{"error_code": "INVALID_PARAMETER_VALUE", "message": "Could not parse experiment '
              'id abc"}')


def _http_error(status, body):
    return HTTPError('http://mlflow.test:5000/x', status, 'ERROR', {}, io.BytesIO(body.encode()))


def test_lookups_answer_missing_on_404():
    for lookup in ('experiment_exists', 'registered_model_exists'):
        client, dummy = _client(_http_error(404, NOT_FOUND))
        assert getattr(client, lookup)('x') is False
    client, dummy = _client(_http_error(404, NOT_FOUND))
    assert client.experiment_id_by_name('churn') is None


def test_a_malformed_experiment_id_names_no_experiment_but_other_errors_raise():
    client, dummy = _client(_http_error(400, INVALID_ID))
    assert client.experiment_exists('abc') is False
    client, dummy = _client(_http_error(400, INVALID_ID))
    with pytest.raises(m.MlflowError, match='looking up registered model abc: HTTP 400'):
        client.registered_model_exists('abc')
    client, dummy = _client(_http_error(500, '{"error_code": "INTERNAL_ERROR", "message": "boom"}'))
    with pytest.raises(m.MlflowError, match='looking up experiment 1: HTTP 500'):
        client.experiment_exists('1')


def test_lookup_answers():
    client, rec = _client(b'{"experiment": {"experiment_id": "7", "name": "churn"}}')
    assert client.experiment_id_by_name('churn') == '7'
    assert rec.calls[0]['url'].endswith('/api/2.0/mlflow/experiments/get-by-name?experiment_name=churn')
    client, dummy = _client(b'{"registered_model": {"name": "m"}}')
    assert client.registered_model_exists('m') is True
