# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MLSP platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quoting of values for systemd environment files (EnvironmentFile=): the one place the roles
write it (filter env_quote) and read it back (filter env_unquote). Each filter is documented in
its own file beside this one (env_quote.yml, env_unquote.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
