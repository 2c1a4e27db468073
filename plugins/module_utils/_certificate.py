# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to this collection: only the modules of mlsp.mlflow_stack import this file. It is
# not a public API; anything in it may change or go in any release, without deprecation.
# Other collections and your own plugins must not import it.
"""Pure logic of the file_state module's certificate check: whether a certificate, described as
plain values, is the one the roles would sign now. Unit-tested without a certificate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress


def normalize_names(names, addresses):
    """The subject alternative names of a certificate as a comparable set: DNS names in lower
    case (DNS is not case-sensitive), IP addresses in their canonical form (::1, not 0:0:...:1).
    Raises ValueError for an address that is not an IPv4 or IPv6 address."""
    out = set()
    for name in names:
        out.add(("DNS", str(name).lower()))
    for address in addresses:
        try:
            out.add(("IP", str(ipaddress.ip_address(str(address)))))
        except ValueError:
            raise ValueError("%r is not an IPv4 or IPv6 address" % (address,))
    return out


def normalize_key_id(key_id):
    """A key identifier as lower-case hex without separators: 'AB:CD' and b'\\xab\\xcd' -> 'abcd'."""
    if key_id is None:
        return ""
    if isinstance(key_id, bytes):
        return key_id.hex()
    return str(key_id).replace(":", "").strip().lower()


def certificate_reasons(wanted, found, now=None):
    """What makes the certificate FOUND differ from what the roles would sign now. WANTED: names,
    addresses (lists), authority_key_id (the CA's key identifier, any form normalize_key_id
    takes) and renew_days. FOUND: None when the certificate does not exist, else a dict with
    public_key and key_public_key (the certificate's public key and its private key's, as
    comparable values; key_public_key None when the key is missing or unreadable), names and
    addresses, authority_key_id, and not_after (an aware datetime). Returns (reasons, renew):
    reasons a list of words, empty when the certificate is as wanted; renew True when the
    certificate is missing or expires within renew_days (the signer must then make a new one
    even if the rest matches)."""
    if found is None:
        return ["missing"], True
    now = now or datetime.datetime.now(datetime.timezone.utc)
    out = []
    if found.get("key_public_key") is None or found["key_public_key"] != found.get("public_key"):
        out.append("key")
    if normalize_names(found.get("names", []), found.get("addresses", [])) \
            != normalize_names(wanted.get("names", []), wanted.get("addresses", [])):
        out.append("names")
    want_id = normalize_key_id(wanted.get("authority_key_id"))
    if not want_id or normalize_key_id(found.get("authority_key_id")) != want_id:
        out.append("authority")
    renew = found["not_after"] <= now + datetime.timedelta(days=int(wanted.get("renew_days") or 0))
    if renew:
        out.append("expires")
    return out, renew
