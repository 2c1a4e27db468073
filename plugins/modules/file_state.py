#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: file_state
short_description: Tell, in one call, which files and folders differ from what later tasks write
version_added: 0.2.0
description:
  - Reads several paths on the host at once (kind, owner, group, mode, and the SHA-1 checksum of
    a regular file's content) and compares each with what a later task would make of it. Returns
    the paths that differ, so that the roles skip their C(template) and C(file) tasks for the
    others; each of those tasks costs one or two module calls even when it changes nothing.
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
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlsp.mlflow_stack.plugins.module_utils._file_state import normalize_mode, reasons


def _found(module, path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        module.fail_json(msg="Reading %s failed: %s" % (path, e.strerror or e))
    if stat.S_ISREG(st.st_mode):
        kind = "file"
    elif stat.S_ISDIR(st.st_mode):
        kind = "directory"
    else:
        kind = "other"
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    found = {"kind": kind, "owner": owner, "group": group, "uid": st.st_uid, "gid": st.st_gid,
             "mode": stat.S_IMODE(st.st_mode)}
    if kind == "file":
        found["checksum"] = module.digest_from_file(path, "sha1")
    return found


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
    module.exit_json(changed=False, outdated=outdated, reasons=why)


if __name__ == "__main__":
    main()
