# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quoting of values for systemd environment files (EnvironmentFile=): the one place the roles
write it, and its inverse (env_unquote, documented in env_unquote.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: env_quote
short_description: Quote a value for a systemd environment file
version_added: 0.1.0
description:
  - Returns the value as a double-quoted string that systemd's C(EnvironmentFile=) reads back
    unchanged, for lines of the form C(NAME={{ value | mlsp.mlflow_stack.env_quote }}).
  - Inside the quotes a backslash, a double quote, a dollar sign and a backquote are each escaped
    with a backslash; every other character stands for itself. systemd expands no variable in an
    environment file, so a C($) stays literal; it is escaped all the same, so that the file also
    reads the same to a shell that sources it.
  - A line break stays as it is: systemd keeps it as part of a double-quoted value.
  - P(mlsp.mlflow_stack.env_unquote#filter) is its inverse.
author:
  - MLSP platform team (@mlsp)
options:
  _input:
    description: The value; anything that is not a string is converted to one first.
    type: raw
    required: true
"""

EXAMPLES = r"""
# In a template of an environment file (mode 0600 when it holds a secret):
#   PGPASSWORD={{ mlflow_db_password | mlsp.mlflow_stack.env_quote }}
- name: Show how a value is written
  ansible.builtin.debug:
    msg: "{{ 'pass $HOME' | mlsp.mlflow_stack.env_quote }}"
  # prints "pass \$HOME" with its double quotes
"""

RETURN = r"""
_value:
  description: The value between double quotes, with each backslash, C("), C($) and C(`) escaped by a backslash.
  type: str
"""

from ansible.module_utils.common.text.converters import to_text

# The characters systemd un-escapes inside double quotes of an environment file.
_ESCAPED = '\\"$`'


def env_quote(value):
    """"value" for a systemd environment file."""
    text = to_text(value)
    return '"' + "".join("\\" + c if c in _ESCAPED else c for c in text) + '"'


def env_unquote(text):
    """The value that systemd reads from the right-hand side of NAME=<text>: the inverse of
    env_quote for a double-quoted text; a text without quotes is returned stripped."""
    text = to_text(text).strip()
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return text
    body, value, i = text[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in _ESCAPED:
            value.append(body[i + 1])
            i += 2
        else:
            value.append(body[i])
            i += 1
    return "".join(value)


class FilterModule(object):
    """Environment-file quoting."""

    def filters(self):
        return {"env_quote": env_quote, "env_unquote": env_unquote}
