# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to this collection: only the modules of mlsp.mlflow_stack import this file. It is
# not a public API; anything in it may change or go in any release, without deprecation.
# Other collections and your own plugins must not import it.
"""Pure logic of the minio_* modules: canned bucket policies, and the canonical forms of
policies, lifecycle rules and tags that decide whether the server must change.

Nothing here talks to a server or imports a client library, so it is unit-tested alone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

POLICY_VERSION = "2012-10-17"

# Anonymous access levels, as MinIO's old `mc anonymous set` wrote them.
_BUCKET_ACTIONS = {
    "download": ["s3:GetBucketLocation", "s3:ListBucket"],
    "upload": ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
}
_OBJECT_ACTIONS = {
    "download": ["s3:GetObject"],
    "upload": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
}
CANNED_ACCESS = ("download", "upload", "public")

# Statement fields whose value may be a string or a list of strings, in any order.
_LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def bucket_name_problem(name):
    """Why `name` is not a valid S3 bucket name, or None when it is."""
    if not isinstance(name, str) or not _BUCKET_NAME.match(name):
        return ("must be 3 to 63 characters of lowercase letters, digits, dots and hyphens, "
                "starting and ending with a letter or digit")
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    if _IPV4.match(name):
        return "must not look like an IP address"
    return None


def canned_bucket_policy(bucket, access):
    """The anonymous bucket policy for an access level; None for 'private'."""
    if access == "private":
        return None
    levels = ["download", "upload"] if access == "public" else [access]
    bucket_actions = sorted({a for level in levels for a in _BUCKET_ACTIONS[level]})
    object_actions = sorted({a for level in levels for a in _OBJECT_ACTIONS[level]})
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": bucket_actions,
             "Resource": ["arn:aws:s3:::%s" % bucket]},
            {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": object_actions,
             "Resource": ["arn:aws:s3:::%s/*" % bucket]},
        ],
    }


def load_policy(document):
    """A policy from a JSON string or a dict; raises ValueError with the reason."""
    if document is None:
        return None
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise ValueError("the policy is not valid JSON: %s" % exc)
    if not isinstance(document, dict):
        raise ValueError("the policy must be a JSON object")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise ValueError("the policy must have a non-empty Statement list")
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise ValueError("every Statement needs an Effect of Allow or Deny")
    return document


def _as_sorted_list(value):
    if isinstance(value, (str, bytes)):
        value = [value]
    return sorted(set(value or []))


def _normalize_principal(principal):
    if principal in ("*", {"AWS": "*"}):
        return {"AWS": ["*"]}
    if isinstance(principal, dict):
        return dict((k, _as_sorted_list(v)) for k, v in principal.items())
    return principal


def normalize_policy(policy):
    """A canonical form of a policy document, so that two documents that differ only in
    layout (a string or a one-item list, the order of actions, resources or statements, an empty
    Sid, the default Version) compare equal. None stays None."""
    if policy is None:
        return None
    policy = load_policy(policy)
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    normalized = []
    for statement in statements:
        item = {}
        for key, value in statement.items():
            if key in _LIST_FIELDS:
                item[key] = _as_sorted_list(value)
            elif key == "Principal":
                item[key] = _normalize_principal(value)
            elif key == "Sid" and not value:
                continue
            else:
                item[key] = value
        normalized.append(item)
    normalized.sort(key=lambda s: json.dumps(s, sort_keys=True))
    result = {"Version": policy.get("Version") or POLICY_VERSION, "Statement": normalized}
    if policy.get("Id"):
        result["Id"] = policy["Id"]
    return result


def policies_equal(current, wanted):
    """True when two policies (dicts, JSON strings or None) grant the same thing, layout aside."""
    return normalize_policy(current) == normalize_policy(wanted)


def access_label(bucket, policy):
    """How a bucket policy reads as an access level: private, download, upload, public or custom."""
    if policy is None:
        return "private"
    for access in CANNED_ACCESS:
        if policies_equal(policy, canned_bucket_policy(bucket, access)):
            return access
    return "custom"


# --- Lifecycle -----------------------------------------------------------------------------------
# The module's form of a rule: {id, prefix, enabled, expire_days, noncurrent_expire_days}.
# Anything else a rule on the server carries (transitions, tag filters, ...) is kept under
# `other`, so that such a rule never compares equal to a declared one and gets replaced.

def lifecycle_rule_problem(rule):
    """Why a declared lifecycle rule cannot be used, or None."""
    if not rule.get("id"):
        return "every lifecycle rule needs an id"
    if rule.get("expire_days") is None and rule.get("noncurrent_expire_days") is None:
        return "lifecycle rule %s needs expire_days, noncurrent_expire_days or both" % rule["id"]
    for key in ("expire_days", "noncurrent_expire_days"):
        if rule.get(key) is not None and int(rule[key]) < 1:
            return "lifecycle rule %s: %s must be at least 1" % (rule["id"], key)
    return None


def canonical_rule(rule):
    """The module's form of a declared rule, with defaults filled in."""
    return {
        "id": rule["id"],
        "prefix": rule.get("prefix") or "",
        "enabled": True if rule.get("enabled") is None else bool(rule["enabled"]),
        "expire_days": None if rule.get("expire_days") is None else int(rule["expire_days"]),
        "noncurrent_expire_days": (None if rule.get("noncurrent_expire_days") is None
                                   else int(rule["noncurrent_expire_days"])),
        "other": {},
    }


def rule_from_s3(rule):
    """The module's form of a rule as boto3 returns it from GetBucketLifecycleConfiguration."""
    rule = dict(rule)
    result = {"id": rule.pop("ID", ""), "enabled": rule.pop("Status", "Enabled") == "Enabled"}
    prefix = rule.pop("Prefix", None)
    filt = dict(rule.pop("Filter", {}) or {})
    if "Prefix" in filt:
        prefix = filt.pop("Prefix")
    result["prefix"] = prefix or ""
    expiration = dict(rule.pop("Expiration", {}) or {})
    result["expire_days"] = expiration.pop("Days", None)
    noncurrent = dict(rule.pop("NoncurrentVersionExpiration", {}) or {})
    result["noncurrent_expire_days"] = noncurrent.pop("NoncurrentDays", None)
    other = {}
    for name, rest in (("Filter", filt), ("Expiration", expiration), ("NoncurrentVersionExpiration", noncurrent)):
        if rest:
            other[name] = rest
    other.update(rule)
    result["other"] = json.loads(json.dumps(other, default=str, sort_keys=True))
    return result


def rule_to_s3(rule):
    """A declared rule (module form) as boto3's PutBucketLifecycleConfiguration wants it."""
    rule = canonical_rule(rule)
    result = {
        "ID": rule["id"],
        "Status": "Enabled" if rule["enabled"] else "Disabled",
        "Filter": {"Prefix": rule["prefix"]},
    }
    if rule["expire_days"] is not None:
        result["Expiration"] = {"Days": rule["expire_days"]}
    if rule["noncurrent_expire_days"] is not None:
        result["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrent_expire_days"]}
    return result


def _rule_key(rule):
    return json.dumps(rule, sort_keys=True)


def lifecycle_equal(current_rules, wanted_rules):
    """True when the rules on the server (module form) are the declared ones, in any order."""
    current = sorted(_rule_key(r) for r in current_rules)
    wanted = sorted(_rule_key(canonical_rule(r)) for r in wanted_rules)
    return current == wanted


def public_rule(rule):
    """A rule (module form) for results and diffs: without the empty `other`."""
    rule = dict(rule)
    if not rule.get("other"):
        rule.pop("other", None)
    return rule


# --- Tags ----------------------------------------------------------------------------------------

def tags_from_s3(tag_set):
    return dict((t["Key"], t["Value"]) for t in tag_set or [])


def tags_to_s3(tags):
    return [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]


def tags_equal(current, wanted):
    return dict((k, str(v)) for k, v in (current or {}).items()) == dict(
        (k, str(v)) for k, v in (wanted or {}).items())


# --- Users ---------------------------------------------------------------------------------------

def policy_names(policy_field):
    """The policies a MinIO user has, from user-info's comma-separated `policyName`."""
    return sorted(p for p in (policy_field or "").split(",") if p)


def policy_changes(current, wanted):
    """(to_attach, to_detach) that turn the current policy list into the wanted one."""
    current, wanted = set(current or []), set(wanted or [])
    return sorted(wanted - current), sorted(current - wanted)
