# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to this collection: only the modules of mlsp.mlflow_stack import this file. It is
# not a public API; anything in it may change or go in any release, without deprecation.
# Other collections and your own plugins must not import it.
"""Connection options and clients shared by the minio_* modules: boto3 for S3 calls, the `minio`
SDK's MinioAdmin for the admin API. An error raises ModuleFailure (module_utils/_common.py) with
one line that says what failed, never a credential (the secret options are no_log, and neither
client puts a key in its messages)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._common import ModuleFailure


class _LibraryMissing(Exception):
    """Stands in for the error classes of a library that is not installed, so that an
    `except` naming them still works; nothing ever raises it."""


BOTO3_IMPORT_ERROR = None
try:
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    BOTO3_IMPORT_ERROR = traceback.format_exc()
    BotoCoreError = ClientError = _LibraryMissing

MINIO_IMPORT_ERROR = None
try:
    import urllib3
    from minio import MinioAdmin
    from minio.credentials import StaticProvider
    from minio.error import MinioAdminException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
except ImportError:
    MINIO_IMPORT_ERROR = traceback.format_exc()
    MinioAdminException = Urllib3HTTPError = _LibraryMissing

# What a call of either client raises when it fails (ValueError: an answer that is not JSON).
S3_ERRORS = (ClientError, BotoCoreError)
ADMIN_ERRORS = (MinioAdminException, Urllib3HTTPError, ValueError)

# Bounded: a few attempts with short timeouts, so that a task against a dead server ends.
_CONNECT_TIMEOUT = 10
_READ_TIMEOUT = 60
_ATTEMPTS = 3


def minio_argument_spec():
    """The connection options every minio_* module takes (see the doc fragment mlsp.mlflow_stack.minio)."""
    return dict(
        endpoint_url=dict(type="str", default="http://127.0.0.1:9000"),
        login_access_key=dict(type="str", required=True, no_log=False),
        login_secret_key=dict(type="str", required=True, no_log=True),
        region=dict(type="str", default="us-east-1"),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
    )


def describe_error(exc):
    """One line for an error of either client: the server's code and message, nothing else."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message") or ""
        return ("%s: %s" % (code, message)).rstrip(": ")
    if isinstance(exc, MinioAdminException):
        body = getattr(exc, "_body", "") or ""
        try:
            data = json.loads(body)
            return ("%s: %s" % (data.get("Code", ""), data.get("Message", ""))).strip(": ")
        except ValueError:
            return "HTTP %s %s" % (getattr(exc, "_code", "?"), body.strip()[:200])
    return "%s: %s" % (type(exc).__name__, exc)


def admin_error_code(exc):
    """The admin API's error code (e.g. XMinioAdminNoSuchUser), or None."""
    try:
        return json.loads(getattr(exc, "_body", "") or "{}").get("Code")
    except ValueError:
        return None


def s3_error_code(exc):
    return exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None


class MinioClients(object):
    """S3 and admin clients for one endpoint, made on first use."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.endpoint = params["endpoint_url"].rstrip("/")
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ModuleFailure("connecting to MinIO: endpoint_url must look like http://host:9000 or "
                                "https://host:9000 with no path (got %s)" % self.endpoint)
        self._secure = parts.scheme == "https"
        self._netloc = parts.netloc
        self._s3 = None
        self._admin = None

    def fail(self, doing, why, **result):
        """Raise ModuleFailure: what was being done, on which endpoint, and why (a client's
        error or a sentence)."""
        if isinstance(why, Exception):
            why = describe_error(why)
        raise ModuleFailure("%s on %s: %s" % (doing, self.endpoint, why), **result)

    def call(self, doing, client, method, *args, decode=False, missing=(), result=None, **kwargs):
        """One call of the S3 client (``client="s3"``) or of MinioAdmin (``"admin"``), its answer
        read as JSON with ``decode``. An error code in ``missing`` (not set, no such thing) answers
        None; any other error fails with ``doing`` and the keys of ``result`` in the failed result."""
        try:
            answer = getattr(getattr(self, client), method)(*args, **kwargs)
            return json.loads(answer) if decode else answer
        except S3_ERRORS + ADMIN_ERRORS as exc:
            if (s3_error_code(exc) or admin_error_code(exc)) in missing:
                return None
            self.fail(doing, exc, **(result or {}))

    def error_code_of(self, doing, s3, method, codes=None, result=None, **kwargs):
        """Call <method> of the S3 client ``s3`` for its outcome only: None when it succeeds; the
        server's error code when it answers with one of ``codes`` (with any, when ``codes`` is
        None; "" for an answer without a code). Any other error fails as call() does."""
        try:
            getattr(s3, method)(**kwargs)
            return None
        except (ClientError, BotoCoreError) as exc:
            code = s3_error_code(exc)
            if isinstance(exc, ClientError) and (codes is None or code in codes):
                return code or ""
            self.fail(doing, exc, **(result or {}))

    def _verify(self):
        params = self.module.params
        if not params["validate_certs"]:
            return False
        return params["ca_path"] or True

    def s3_for(self, access_key, secret_key):
        """A boto3 S3 client with the given credentials."""
        if BOTO3_IMPORT_ERROR:
            raise ModuleFailure(missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
        config = BotoConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=_CONNECT_TIMEOUT,
            read_timeout=_READ_TIMEOUT,
            retries={"max_attempts": _ATTEMPTS, "mode": "standard"},
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=self.module.params["region"],
            verify=self._verify(),
            config=config,
        )

    @property
    def s3(self):
        if self._s3 is None:
            self._s3 = self.s3_for(self.module.params["login_access_key"], self.module.params["login_secret_key"])
        return self._s3

    @property
    def admin(self):
        if self._admin is None:
            if MINIO_IMPORT_ERROR:
                raise ModuleFailure(missing_required_lib("minio"), exception=MINIO_IMPORT_ERROR)
            params = self.module.params
            pool = {
                "timeout": urllib3.Timeout(connect=_CONNECT_TIMEOUT, read=_READ_TIMEOUT),
                "retries": urllib3.Retry(total=_ATTEMPTS, backoff_factor=0.5, status_forcelist=[502, 503, 504]),
                "cert_reqs": "CERT_REQUIRED" if params["validate_certs"] else "CERT_NONE",
            }
            if params["validate_certs"] and params["ca_path"]:
                pool["ca_certs"] = params["ca_path"]
            self._admin = MinioAdmin(
                endpoint=self._netloc,
                credentials=StaticProvider(params["login_access_key"], params["login_secret_key"]),
                region=params["region"],
                secure=self._secure,
                cert_check=params["validate_certs"],
                http_client=urllib3.PoolManager(**pool),
            )
        return self._admin
