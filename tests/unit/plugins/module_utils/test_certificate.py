# -*- coding: utf-8 -*-
"""The pure logic of file_state's certificate check: which certificates the roles sign again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import pathlib
import sys

import pytest

try:
    import ansible_collections.mlsp.mlflow_stack  # noqa: F401  pylint: disable=unused-import
except ImportError:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4] / '.ansible' / 'collections'))

from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._certificate import (  # noqa: E402
    certificate_reasons, normalize_key_id, normalize_names)

NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc)
WANTED = {'names': ['db1.example.internal', 'localhost'], 'addresses': ['10.0.0.5', '127.0.0.1', '::1'],
          'authority_key_id': 'AB:CD:01', 'renew_days': 30}


def _found(**over):
    found = {'public_key': b'pub', 'key_public_key': b'pub', 'names': ['localhost', 'db1.example.internal'],
             'addresses': ['::1', '127.0.0.1', '10.0.0.5'], 'authority_key_id': b'\xab\xcd\x01',
             'not_after': NOW + datetime.timedelta(days=31)}
    found.update(over)
    return found


def test_as_signed_in_any_order():
    assert certificate_reasons(WANTED, _found(), now=NOW) == ([], False)


def test_missing_is_renewed():
    assert certificate_reasons(WANTED, None, now=NOW) == (['missing'], True)


@pytest.mark.parametrize('over, reasons', [
    ({'key_public_key': b'other'}, ['key']),
    ({'key_public_key': None}, ['key']),
    ({'names': ['localhost']}, ['names']),
    ({'names': WANTED['names'] + ['extra.example.internal']}, ['names']),
    ({'addresses': ['127.0.0.1', '10.0.0.5']}, ['names']),
    ({'authority_key_id': b'\x01\x02'}, ['authority']),
    ({'authority_key_id': None}, ['authority']),
    ({'key_public_key': b'other', 'authority_key_id': None}, ['key', 'authority']),
])
def test_each_difference_is_named(over, reasons):
    assert certificate_reasons(WANTED, _found(**over), now=NOW) == (reasons, False)


def test_expiry_within_the_window_renews():
    found = _found(not_after=NOW + datetime.timedelta(days=30))
    assert certificate_reasons(WANTED, found, now=NOW) == (['expires'], True)
    found = _found(not_after=NOW + datetime.timedelta(days=30, seconds=1))
    assert certificate_reasons(WANTED, found, now=NOW) == ([], False)
    assert certificate_reasons(dict(WANTED, renew_days=0), _found(not_after=NOW - datetime.timedelta(seconds=1)),
                               now=NOW) == (['expires'], True)


def test_no_authority_wanted_is_never_as_signed():
    # A CA whose key identifier is unknown cannot vouch for any certificate: sign again.
    assert certificate_reasons(dict(WANTED, authority_key_id=''), _found(), now=NOW)[0] == ['authority']


def test_names_compare_as_dns_does():
    wanted = {('DNS', 'db1.example.internal'), ('IP', '::1')}
    assert normalize_names(['DB1.Example.Internal'], ['0:0:0:0:0:0:0:1']) == wanted
    # A name that looks like an address stays a name: DNS:10.0.0.5 is not IP:10.0.0.5.
    assert normalize_names(['10.0.0.5'], []) != normalize_names([], ['10.0.0.5'])
    with pytest.raises(ValueError, match="'db1' is not an IPv4 or IPv6 address"):
        normalize_names([], ['db1'])


def test_key_ids_in_any_spelling():
    assert normalize_key_id('AB:CD:01') == normalize_key_id(b'\xab\xcd\x01') == normalize_key_id('abcd01') == 'abcd01'
    assert normalize_key_id(None) == ''
