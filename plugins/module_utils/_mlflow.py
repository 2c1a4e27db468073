# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to this collection: only the modules of mlsp.mlflow_stack import this file. It is
# not a public API; anything in it may change or go in any release, without deprecation.
# Other collections and your own plugins must not import it.
"""Client code shared by the mlflow_* modules: a small REST client for the MLflow tracking server
with basic authentication (its ``basic-auth`` app), and the pure functions that decide what the
modules change. HTTP goes through Ansible's own ``open_url``; no third-party library is needed.

Nothing here ever puts a password or an ``Authorization`` header into a message: errors name the
operation, the server URL without any user information, the HTTP status and the server's own
message, cut short before the SQL details it sometimes appends (they can hold a password hash).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit, urlunsplit
from ansible.module_utils.urls import ConnectionError, SSLValidationError, open_url

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure

# The permissions a user can hold on one experiment or registered model. NO_PERMISSIONS is the
# name older MLflow releases gave an explicit "no access" grant; MLflow 3.x calls it DENY and
# refuses NO_PERMISSIONS as a grant, so the module writes DENY for it (see permission_level()).
PERMISSIONS = ('READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS', 'DENY')

# The resource types mlflow_permission manages, as the server names them.
RESOURCE_EXPERIMENT = 'experiment'
RESOURCE_REGISTERED_MODEL = 'registered_model'

# The per-user grants that the users/permissions/grant API writes live in a synthetic role per
# user and workspace, named after the user's id (MLflow 3.x RBAC).
SYNTHETIC_ROLE = '__user_{0}__'

# The shortest password the server accepts (mlflow.utils.validation._validate_password).
MIN_PASSWORD_LENGTH = 12

# Cut the server's message before the SQL it sometimes appends to a database error: SQLAlchemy
# puts the statement's parameters there, such as a user's password hash.
_SQL_DETAIL = re.compile(r'(\.?\s*Error:\s*\(|\s*\[SQL:|\s*\[parameters:|\s*\(Background on)', re.S)
_MAX_MESSAGE = 300


def mlflow_argument_spec():
    """The connection options every mlflow_* module takes (doc fragment mlsp.mlflow_stack.mlflow)."""
    return dict(
        tracking_uri=dict(type='str', required=True),
        login_username=dict(type='str', default='admin'),
        login_password=dict(type='str', required=True, no_log=True),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='int', default=30),
    )


class MlflowError(ModuleFailure):
    """An operation on the server failed; ``str()`` is safe to show (no credentials)."""

    def __init__(self, message, status=None, error_code=None):
        super(MlflowError, self).__init__(message)
        self.status = status
        self.error_code = error_code


class MlflowAuthError(MlflowError):
    """The server refused the credentials (HTTP 401)."""


class MlflowPermissionError(MlflowError):
    """The credentials are valid but not allowed to do this (HTTP 403)."""


class MlflowNotFound(MlflowError):
    """The user, experiment, model or grant does not exist (HTTP 404 or RESOURCE_DOES_NOT_EXIST)."""


class MlflowUnreachable(MlflowError):
    """No HTTP answer at all: connection refused, name not resolved, timeout, TLS failure."""


def safe_url(url):
    """``url`` without user information or query string, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return '<unparsable URL>'
    netloc = parts.netloc.rsplit('@', 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, '', ''))


def clean_server_message(text):
    """The server's error message made safe and short: the ``message`` field of a JSON error, with
    any SQL detail cut off, on one line, at most _MAX_MESSAGE characters."""
    text = to_text(text or '', errors='surrogate_or_replace')
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        text = to_text(data.get('message') or data.get('error_code') or '')
    elif re.search(r'<\s*(html|!doctype)', text, re.I):
        title = re.search(r'<title>(.*?)</title>', text, re.I | re.S)
        text = title.group(1) if title else ''
    text = _SQL_DETAIL.split(text, 1)[0]
    text = ' '.join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE - 3] + '...'
    return text


def _error_code(text):
    try:
        data = json.loads(to_text(text or ''))
    except ValueError:
        return None
    return data.get('error_code') if isinstance(data, dict) else None


def classify_http_error(action, url, status, body):
    """The MlflowError subclass and safe message for an HTTP error answer."""
    code = _error_code(body)
    detail = clean_server_message(body)
    where = safe_url(url)
    if status == 401:
        return MlflowAuthError(
            '%s: the server at %s refused the login credentials (HTTP 401): check login_username '
            'and login_password' % (action, where), status, code)
    if status == 403:
        return MlflowPermissionError(
            '%s: permission denied (HTTP 403) at %s: login_username must be an MLflow admin'
            % (action, where), status, code)
    message = '%s: HTTP %s from %s' % (action, status, where)
    if detail:
        message += ': ' + detail
    if status == 404 or code == 'RESOURCE_DOES_NOT_EXIST':
        return MlflowNotFound(message, status, code)
    return MlflowError(message, status, code)


class MlflowClient(object):
    """The REST API of one MLflow server, authenticated as one user with basic auth."""

    def __init__(self, tracking_uri, username, password, validate_certs=True, ca_path=None,
                 timeout=30, opener=None):
        self.base = tracking_uri.rstrip('/')
        self.username = username
        self._password = password
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self._open = opener or open_url

    @classmethod
    def from_module(cls, module, username=None, password=None):
        p = module.params
        return cls(p['tracking_uri'],
                   username if username is not None else p['login_username'],
                   password if password is not None else p['login_password'],
                   validate_certs=p['validate_certs'], ca_path=p['ca_path'], timeout=p['timeout'])

    def has_password(self, password):
        """Whether this client logs in with ``password`` (no request made)."""
        return password == self._password

    def as_user(self, username, password):
        """The same server, authenticated as someone else."""
        return MlflowClient(self.base, username, password, self.validate_certs, self.ca_path,
                            self.timeout, self._open)

    def call(self, action, method, path, query=None, body=None):
        """One API call; returns the decoded JSON answer ({} when empty). ``action`` says what is
        being done, for messages: 'creating user alice'."""
        url = self.base + path
        if query:
            url += '?' + urlencode(query)
        data = None
        headers = {'Accept': 'application/json'}
        if body is not None:
            data = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        try:
            resp = self._open(url, data=data, headers=headers, method=method,
                              url_username=self.username, url_password=self._password,
                              force_basic_auth=True, validate_certs=self.validate_certs,
                              ca_path=self.ca_path, timeout=self.timeout,
                              follow_redirects='none', use_netrc=False,
                              http_agent='mlsp.mlflow_stack')
            raw = resp.read()
        except HTTPError as e:
            try:
                err_body = e.read()
            except Exception:  # pylint: disable=broad-except
                err_body = b''
            raise classify_http_error(action, url, e.code, err_body)
        except (URLError, SSLValidationError, ConnectionError, OSError) as e:
            reason = getattr(e, 'reason', None) or e
            raise MlflowUnreachable('%s: cannot reach the MLflow server at %s: %s'
                                    % (action, safe_url(url), to_native(reason)))
        if not raw:
            return {}
        try:
            return json.loads(to_text(raw))
        except ValueError:
            raise MlflowError('%s: the answer from %s is not JSON: is tracking_uri an MLflow '
                              'server?' % (action, safe_url(url)))

    # --- users --------------------------------------------------------------------------------
    def check_login(self):
        """Raises MlflowAuthError when this client's credentials are refused; returns the user."""
        return self.call('logging in as %s' % self.username, 'GET',
                         '/api/2.0/mlflow/users/current').get('user', {})

    def require_admin(self):
        """Logs in and checks that this client's user is an admin, else raises MlflowError."""
        me = self.check_login()
        if not me.get('is_admin'):
            raise MlflowPermissionError(
                'logging in as %s: that user is not an MLflow admin; login_username must be one'
                % self.username)
        return me

    def credentials_work(self):
        """True when this client's username and password are accepted, False on HTTP 401."""
        try:
            self.check_login()
        except MlflowAuthError:
            return False
        return True

    def find(self, action, path, query, missing_codes=()):
        """GET ``path``; None when the server says that the thing does not exist (HTTP 404,
        RESOURCE_DOES_NOT_EXIST, or an error code in ``missing_codes``)."""
        try:
            return self.call(action, 'GET', path, query=query)
        except MlflowError as e:
            if isinstance(e, MlflowNotFound) or e.error_code in missing_codes:
                return None
            raise

    def get_user(self, username):
        """The user as a dict (id, username, is_admin), or None when it does not exist."""
        answer = self.find('reading user %s' % username, '/api/2.0/mlflow/users/get',
                           {'username': username})
        return None if answer is None else answer.get('user')

    def list_users(self):
        return self.call('listing users', 'GET', '/api/2.0/mlflow/users/list').get('users', [])

    def create_user(self, username, password):
        return self.call('creating user %s' % username, 'POST', '/api/2.0/mlflow/users/create',
                         body={'username': username, 'password': password}).get('user')

    def update_password(self, username, password):
        body = {'username': username, 'password': password}
        if username == self.username:
            # The server asks for the current password when a user changes their own.
            body['current_password'] = self._password
        self.call('updating the password of user %s' % username, 'PATCH',
                  '/api/2.0/mlflow/users/update-password', body=body)

    def update_admin(self, username, is_admin):
        self.call('setting the admin flag of user %s' % username, 'PATCH',
                  '/api/2.0/mlflow/users/update-admin',
                  body={'username': username, 'is_admin': bool(is_admin)})

    def delete_user(self, username):
        self.call('deleting user %s' % username, 'DELETE', '/api/2.0/mlflow/users/delete',
                  body={'username': username})

    # --- resources ----------------------------------------------------------------------------
    def experiment_id_by_name(self, name):
        """The id of the experiment called ``name``, or None when there is none."""
        answer = self.find('looking up experiment %s' % name, '/api/2.0/mlflow/experiments/get-by-name',
                           {'experiment_name': name})
        return None if answer is None else answer.get('experiment', {}).get('experiment_id')

    def experiment_exists(self, experiment_id):
        # A malformed id is answered 400 INVALID_PARAMETER_VALUE: it names no experiment.
        return self.find('looking up experiment %s' % experiment_id, '/api/2.0/mlflow/experiments/get',
                         {'experiment_id': experiment_id}, ('INVALID_PARAMETER_VALUE',)) is not None

    def registered_model_exists(self, name):
        return self.find('looking up registered model %s' % name, '/api/2.0/mlflow/registered-models/get',
                         {'name': name}) is not None

    # --- per-user grants ----------------------------------------------------------------------
    def user_grants(self, username):
        """Every grant that the user's own synthetic role holds, as the server lists them."""
        return self.call('listing the permissions of user %s' % username, 'GET',
                         '/api/3.0/mlflow/users/permissions/list',
                         query={'username': username}).get('permissions', [])

    def role_permission_id(self, role_id, resource_type, resource_pattern):
        rows = self.call('reading role %s' % role_id, 'GET', '/api/3.0/mlflow/roles/permissions/list',
                         query={'role_id': role_id}).get('role_permissions', [])
        for row in rows:
            if row.get('resource_type') == resource_type and \
                    row.get('resource_pattern') == resource_pattern:
                return row.get('id')
        return None

    def grant(self, username, resource_type, resource_id, permission):
        self.call('granting %s on %s %s to user %s' % (permission, resource_type, resource_id, username),
                  'POST', '/api/3.0/mlflow/users/permissions/grant',
                  body={'username': username, 'resource_type': resource_type,
                        'resource_id': resource_id, 'permission': permission})

    def update_grant(self, role_permission_id, permission, description):
        self.call('changing %s to %s' % (description, permission), 'PATCH',
                  '/api/3.0/mlflow/roles/permissions/update',
                  body={'role_permission_id': role_permission_id, 'permission': permission})

    def revoke(self, username, resource_type, resource_id):
        self.call('revoking the permission on %s %s of user %s' % (resource_type, resource_id, username),
                  'POST', '/api/3.0/mlflow/users/permissions/revoke',
                  body={'username': username, 'resource_type': resource_type,
                        'resource_id': resource_id})


# --- pure logic (unit-tested) ------------------------------------------------------------------

def public_user(user):
    """What the modules return about a user: never anything but its id, name and admin flag."""
    if not user:
        return {}
    return {'id': user.get('id'), 'username': user.get('username'),
            'is_admin': bool(user.get('is_admin'))}


def user_actions(current, state, admin, password_matches, update_password):
    """What mlflow_user must do, as an ordered list of 'create', 'password', 'admin', 'delete'.

    ``current`` is the user as the server returns it or None; ``admin`` is the desired flag or None
    (leave it); ``password_matches`` says whether the desired password already logs in (None when
    it was not tried); ``update_password`` is 'always' or 'on_create'.
    """
    if state == 'absent':
        return ['delete'] if current else []
    if not current:
        actions = ['create']
        if admin:
            actions.append('admin')
        return actions
    actions = []
    if update_password == 'always' and password_matches is False:
        actions.append('password')
    if admin is not None and bool(current.get('is_admin')) != bool(admin):
        actions.append('admin')
    return actions


def user_after(username, current, actions, admin):
    """The user as mlflow_user returns it once ``actions`` are done, which is what it predicts in
    check mode: {} when there is none; a user still to be created has no id yet (None)."""
    if 'delete' in actions or not (current or 'create' in actions):
        return {}
    user = public_user(current) if current else {'id': None, 'username': username, 'is_admin': False}
    if 'admin' in actions:
        user['is_admin'] = bool(admin)
    return user


def user_diff(username, current, actions, admin):
    """Before/after for diff mode; the password shows only as whether it changes."""
    before = {'username': username, 'state': 'present' if current else 'absent'}
    if current:
        before['is_admin'] = bool(current.get('is_admin'))
        before['password'] = '<hidden>'
    if 'delete' in actions:
        return {'before': before, 'after': {'username': username, 'state': 'absent'}}
    after = dict(before, state='present')
    if 'create' in actions:
        after['is_admin'] = bool(admin)
        after['password'] = '<hidden, set>'
    if 'password' in actions:
        after['password'] = '<hidden, changed>'
    if 'admin' in actions:
        after['is_admin'] = bool(admin)
    return {'before': before, 'after': after}


def permission_level(permission):
    """The level as MLflow 3.x stores it: NO_PERMISSIONS is written as DENY."""
    return 'DENY' if permission == 'NO_PERMISSIONS' else permission


def find_grant(grants, user_id, resource_type, resource_id):
    """The user's own grant on one resource from a users/permissions/list answer, or None.
    Grants the user holds through other (named) roles are not the module's to manage."""
    role_name = SYNTHETIC_ROLE.format(user_id)
    for row in grants:
        if row.get('role_name') == role_name and row.get('resource_type') == resource_type \
                and to_text(row.get('resource_pattern')) == to_text(resource_id):
            return row
    return None


def permission_action(current, state, permission):
    """'grant', 'update', 'revoke' or None, from the current grant's level (None when there is no
    grant), the desired state and the desired permission."""
    if state == 'absent':
        return 'revoke' if current is not None else None
    wanted = permission_level(permission)
    if current is None:
        return 'grant'
    return None if current == wanted else 'update'
