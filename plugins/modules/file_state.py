#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: file_state
short_description: Tell, in one call, which files, folders and certificates differ from what later tasks write
version_added: 0.2.0
description:
  - Reads several paths on the host at once (kind, owner, group, mode, and the SHA-1 checksum of
    a regular file's content) and compares each with what a later task would make of it. Returns
    the paths that differ, so that the roles skip their C(template) and C(file) tasks for the
    others; each of those tasks costs one or two module calls even when it changes nothing.
  - With O(certificates), also tells in the same call whether each X.509 certificate is the one
    the roles would sign now (its key, names, CA and expiry), instead of a read of the
    certificate, one of its key and one of its dates, each a module call.
  - Only reads; it never changes a path. A path that differs is left to the task that writes it,
    which reports the change, its diff and its handler as usual.
author:
  - MLSP platform team (@mlsp)
options:
  files:
    description: The paths to compare, each with what the task that writes it declares.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - Absolute path on the host, compared and returned as given (not expanded or
            normalized), so that a task can look for its own path in RV(outdated).
        type: str
        required: true
      state:
        description: V(file) for a regular file, V(directory) for a folder.
        type: str
        choices: [file, directory]
        default: file
      owner:
        description: User name or uid the path must belong to. Left out, not compared.
        type: str
      group:
        description: Group name or gid the path must belong to. Left out, not compared.
        type: str
      mode:
        description: Octal mode, such as V('0644'). Left out, not compared.
        type: str
      checksum:
        description:
          - SHA-1 of the content a file must have, for example
            C(lookup('ansible.builtin.template', 'x.j2') | hash('sha1')).
            Left out, the content is not compared.
          - Never printed with the task's arguments (a file may hold secrets). The module returns
            no checksum, only which paths differ and why.
        type: str
  certificates:
    description:
      - PEM certificates to compare with what the roles would sign now. Reading one needs the
        Python module C(cryptography) on the host (Debian's C(python3-cryptography)), unless
        the certificate does not exist. The private key is read only for its public key, and
        never returned.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the certificate on the host, the key of RV(certificates).
        type: str
        required: true
      private_key_path:
        description: Absolute path of its private key (PEM, not encrypted) on the host.
        type: str
        required: true
      names:
        description: The DNS names the certificate must name (subject alternative names), no more.
        type: list
        elements: str
        default: []
      addresses:
        description: The IP addresses the certificate must name, no more.
        type: list
        elements: str
        default: []
      ca_certificate:
        description:
          - The PEM certificate of the CA that must have signed it. The certificate's authority
            key identifier must be this CA's subject key identifier (or, for a CA without one,
            the identifier of its public key).
        type: str
        required: true
      renew_days:
        description: The certificate differs when it expires within this many days.
        type: int
        default: 0
  units:
    description:
      - systemd units (such as V(minio.service)) whose state to read in the same call, with one
        C(systemctl show). A role skips its task that enables and starts a unit listed in
        RV(units_to_start) only when it is not there.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Runs in check mode, reading the same.
    support: full
    details: The module only reads, so check mode changes nothing in what it does.
  diff_mode:
    description: Returns no diff.
    support: none
    details: The module changes nothing, so there is no diff.
  platform:
    description: Target OS.
    platforms: posix
    support: full
  idempotent:
    description: Run twice, it returns the same, as long as nothing changed the paths in between.
    support: full
    details: The module changes nothing.
notes:
  - A symbolic link is compared as what it is, not as its target, and never as a file.
requirements:
  - cryptography (Debian's python3-cryptography) on the host, for O(certificates) that exist.
"""

EXAMPLES = r"""
- name: Read which files of the service differ from what this run writes
  mlsp.mlflow_stack.file_state:
    files:
      - path: /etc/example
        state: directory
        owner: root
        group: root
        mode: "0755"
      - path: /etc/example/example.conf
        owner: root
        group: example
        mode: "0640"
        checksum: "{{ lookup('ansible.builtin.template', 'example.conf.j2') | hash('sha1') }}"
  register: __example_files

- name: Write the settings
  ansible.builtin.template:
    src: example.conf.j2
    dest: /etc/example/example.conf
    owner: root
    group: example
    mode: "0640"
  when: "'/etc/example/example.conf' in __example_files.outdated"

- name: Read a service's TLS files and whether its certificate must be signed again
  mlsp.mlflow_stack.file_state:
    files:
      - path: /etc/ssl/example/server.key
        owner: example
        mode: "0600"
    certificates:
      - path: /etc/ssl/example/server.crt
        private_key_path: /etc/ssl/example/server.key
        names: [db1.example.com, localhost]
        addresses: [192.0.2.10, 127.0.0.1]
        ca_certificate: "{{ lookup('ansible.builtin.file', inventory_dir ~ '/.pki/ca.crt') }}"
        renew_days: 30
  register: __example_tls
"""

RETURN = r"""
outdated:
  description: The paths that are missing or differ, in the order given, each once.
  returned: always
  type: list
  elements: str
  sample: [/etc/example/example.conf]
reasons:
  description:
    - For each path that differs, what differs - V(missing), V(kind) (a file where a folder is
      wanted, or the other way round), V(content), V(owner), V(group), V(mode).
  returned: always
  type: dict
  sample: {"/etc/example/example.conf": [content, mode]}
certificates:
  description:
    - For each path of O(certificates), whether the certificate is the one the roles would sign
      now (V(ok)); if not, why (V(reasons) - V(missing), V(unreadable), V(key) when it does not
      belong to its private key or the key is missing, V(names), V(authority) when another CA
      signed it, V(expires) within O(certificates[].renew_days)); V(renew), true when it is
      missing or expires within the window; and V(content), the certificate's PEM text when it
      exists and can be read (for the signer to compare with).
  returned: always
  type: dict
  sample: {"/etc/ssl/example/server.crt": {ok: false, reasons: [names], renew: false, content: "-----BEGIN CERTIFICATE-----..."}}
units:
  description:
    - For each unit of O(units), V(enabled), what C(systemctl show) says of its start at boot
      (UnitFileState - V(enabled), V(disabled), V(static), V(masked), or empty for a unit
      systemd does not know), and V(active), whether it runs now (ActiveState - V(active),
      V(inactive), V(failed), V(activating) ...).
  returned: always
  type: dict
  sample: {"minio.service": {"enabled": "enabled", "active": "active"}}
units_to_start:
  description:
    - The units of O(units) that are not both enabled at boot (exactly V(enabled)) and active
      now, in the order given.
  returned: always
  type: list
  elements: str
  sample: [minio.service]
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._certificate import certificate_reasons
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._file_state import (
    UNIT_PROPERTIES, describe, normalize_mode, reasons, unit_states, units_to_start)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False


def _found(module, path):
    try:
        return describe(path, lambda p: module.digest_from_file(p, "sha1"))
    except OSError as e:
        module.fail_json(msg="Reading %s failed: %s" % (path, e.strerror or e))


def _public(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _extension(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def _ca_key_id(module, index, pem):
    try:
        ca = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except ValueError as e:
        module.fail_json(msg="Comparing certificates[%d] failed: ca_certificate is not a PEM certificate (%s)" % (index, e))
    ski = _extension(ca, x509.SubjectKeyIdentifier)
    return ski.digest if ski is not None else x509.SubjectKeyIdentifier.from_public_key(ca.public_key()).digest


def _certificate(module, index, wanted):
    """The certificate at wanted['path'] described for certificate_reasons(), or None when it
    does not exist, or the string 'unreadable'."""
    path = wanted["path"]
    if not os.path.lexists(path):
        return None
    if not HAS_CRYPTOGRAPHY:
        if module.check_mode:
            # A dry run on a host where python3-cryptography is not installed yet.
            return "unreadable"
        module.fail_json(msg="Comparing certificates[%d] (%s) failed: %s" % (
            index, path, missing_required_lib("cryptography (Debian's python3-cryptography)")))
    try:
        with open(path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
    except (OSError, ValueError):
        return "unreadable"
    try:
        with open(wanted["private_key_path"], "rb") as f:
            key_public = _public(serialization.load_pem_private_key(f.read(), password=None).public_key())
    except (OSError, ValueError, TypeError):
        # Missing, encrypted or not a key: the certificate does not belong to a key the service can use.
        key_public = None
    san = _extension(cert, x509.SubjectAlternativeName)
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    not_after = getattr(cert, "not_valid_after_utc", None)
    if not_after is None:
        not_after = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return {
        "public_key": _public(cert.public_key()),
        "key_public_key": key_public,
        "names": san.get_values_for_type(x509.DNSName) if san is not None else [],
        "addresses": [str(a) for a in san.get_values_for_type(x509.IPAddress)] if san is not None else [],
        "authority_key_id": aki.key_identifier if aki is not None else None,
        "not_after": not_after,
        "pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }


def _certificates(module):
    out = {}
    for index, wanted in enumerate(module.params["certificates"]):
        for key in ("path", "private_key_path"):
            if not os.path.isabs(wanted[key]):
                module.fail_json(msg="Comparing certificates[%d] (%s) failed: %s is not absolute" % (
                    index, wanted["path"], key))
        found = _certificate(module, index, wanted)
        if found == "unreadable":
            out[wanted["path"]] = {"ok": False, "reasons": ["unreadable"], "renew": True}
            continue
        want = dict(wanted, authority_key_id=_ca_key_id(module, index, wanted["ca_certificate"]) if HAS_CRYPTOGRAPHY else None)
        try:
            why, renew = certificate_reasons(want, found)
        except ValueError as e:
            module.fail_json(msg="Comparing certificates[%d] (%s) failed: %s" % (index, wanted["path"], e))
        result = {"ok": not why, "reasons": why, "renew": renew}
        if found is not None:
            result["content"] = found["pem"]
        out[wanted["path"]] = result
    return out


def _units(module):
    names = module.params["units"]
    if not names:
        return {}
    systemctl = module.get_bin_path("systemctl", required=True)
    rc, out, err = module.run_command(
        [systemctl, "show", "--property=" + ",".join(UNIT_PROPERTIES), "--"] + names)
    if rc != 0:
        module.fail_json(msg="Reading the state of the units %s failed: systemctl show exited %d: %s" % (
            ", ".join(names), rc, err.strip()))
    try:
        return unit_states(names, out)
    except ValueError as e:
        module.fail_json(msg="Reading the state of the units %s failed: %s" % (", ".join(names), e))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="str", required=True),
                state=dict(type="str", choices=["file", "directory"], default="file"),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="str"),
                # The checksum of a file that holds secrets: kept out of the task's printed arguments.
                checksum=dict(type="str", no_log=True),
            )),
            certificates=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="str", required=True),
                private_key_path=dict(type="str", required=True, no_log=False),
                names=dict(type="list", elements="str", default=[]),
                addresses=dict(type="list", elements="str", default=[]),
                ca_certificate=dict(type="str", required=True),
                renew_days=dict(type="int", default=0),
            )),
            units=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    outdated, why = [], {}
    for index, wanted in enumerate(module.params["files"]):
        try:
            if not os.path.isabs(wanted["path"]):
                raise ValueError("the path is not absolute")
            normalize_mode(wanted["mode"])
        except ValueError as e:
            module.fail_json(msg="Comparing files[%d] (%s) failed: %s" % (index, wanted["path"], e))
        # Only the content's checksum is read from a file, never the content itself.
        words = reasons(wanted, _found(module, wanted["path"]))
        if words:
            # A path given twice is listed once, with what each entry found.
            if wanted["path"] not in why:
                outdated.append(wanted["path"])
            why.setdefault(wanted["path"], []).extend(w for w in words if w not in why[wanted["path"]])
    units = _units(module)
    module.exit_json(changed=False, outdated=outdated, reasons=why, certificates=_certificates(module),
                     units=units, units_to_start=units_to_start(units))


if __name__ == "__main__":
    main()
