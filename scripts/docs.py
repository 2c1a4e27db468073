"""Write each role's reference into its own README from its meta/argument_specs.yml.

roles/<role>/README.md holds two generated blocks, each between markers that this script fills:
    <!-- BEGIN ROLE ENTRY POINTS: <role> -->  ...  <!-- END ROLE ENTRY POINTS: <role> -->
    <!-- BEGIN ROLE VARIABLES: <role> -->     ...  <!-- END ROLE VARIABLES: <role> -->
The first lists the entry points (tasks_from) with their short description; the second is the table
of the role's variables, then one table per list-of-dict or dict variable with `options:` (nested
suboptions get tables of their own). Everything outside the markers is written by hand.
`--check` only says whether every README is current (exit 1 when not). The specs are read at run
time, so a changed description or a new suboption only needs this script run again.

usage: python scripts/docs.py [--check]
"""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
KINDS = ("ENTRY POINTS", "VARIABLES")
BLOCK = re.compile(
    r"(<!-- BEGIN ROLE (?P<kind>ENTRY POINTS|VARIABLES): (?P<role>[a-z_]+) -->\n)(?P<body>.*?)"
    r"(<!-- END ROLE (?P=kind): (?P=role) -->)",
    re.S,
)
# Ansible doc markup (C(), O(), B(), ...) -> Markdown. The argument may hold balanced parentheses,
# e.g. C(pgbouncer.get_auth(text)) or C(http(s)://), so it is read by counting them, not by a regex.
MARKUP_START = re.compile(r"(?<![A-Za-z0-9_])(RV|[CIVOBUEL])\(")


def _markup_arg(text, start):
    """The argument of a markup call whose `(` is at text[start - 1]: (argument, index after `)`),
    or None when the parentheses never balance (then the text is left as it is)."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start:i], i + 1
    return None


def markup(text):
    """Ansible's doc markup as Markdown."""
    out, pos = [], 0
    for match in MARKUP_START.finditer(text):
        if match.start() < pos:
            continue  # inside a call already converted
        found = _markup_arg(text, match.end())
        if found is None:
            continue
        arg, end = found
        kind = match.group(1)
        if kind == "B":
            rendered = f"**{arg}**"
        elif kind == "I":
            rendered = f"*{arg}*"
        elif kind == "U":
            rendered = f"<{arg}>"
        elif kind == "L":
            label, url = (arg.split(",", 1) + [""])[:2]
            rendered = f"[{label.strip()}]({url.strip()})"
        else:  # C, V, O, E, RV: code
            rendered = f"`{arg}`"
        out.append(text[pos:match.start()])
        out.append(rendered)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _text(value):
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return markup(" ".join(str(value).split())).replace("|", "\\|")


def _flow(value):
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _default(opt, top_level):
    if opt.get("required"):
        return "**required**"
    if "default" not in opt:
        # A role variable without a spec default has one computed in defaults/main.yml, which the
        # description explains; a suboption without one is simply not set.
        return "(see description)" if top_level else "-"
    value = opt["default"]
    dumped = _flow(value)
    if isinstance(value, (dict, list)) and value and len(dumped) > 80:
        return "(see `defaults/main.yml`)"
    return f"`{dumped}`"


def _kind(opt):
    kind = opt.get("type", "str")
    if kind == "list" and opt.get("elements"):
        kind = f"list of {opt['elements']}"
    return kind


def _description(opt, sub_heading=None):
    parts = [_text(opt.get("description", ""))]
    if opt.get("choices"):
        parts.append("One of " + ", ".join(f"`{_flow(c)}`" for c in opt["choices"]) + ".")
    if opt.get("no_log"):
        parts.append("A secret (`no_log`).")
    if sub_heading:
        parts.append(f"Its options: [{sub_heading}](#{_anchor(sub_heading)}).")
    return " ".join(p for p in parts if p)


def _anchor(heading):
    """GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
    return text.replace(" ", "-")


def _sub_heading(path):
    return f"Options of `{path}`"


def _row(name, opt, note="", sub_heading=None, top_level=True):
    return f"| `{name}` | {_kind(opt)}{note} | {_default(opt, top_level)} | {_description(opt, sub_heading)} |"


def _suboption_tables(path, opt):
    """The table of one variable's suboptions, then those of its own nested suboptions."""
    heading = _sub_heading(path)
    rows, nested = [], []
    sep = "[]." if opt.get("type") == "list" else "."
    for name, sub in opt["options"].items():
        sub_path = f"{path}{sep}{name}"
        sub_heading = _sub_heading(sub_path) if sub.get("options") else None
        rows.append(_row(name, sub, sub_heading=sub_heading, top_level=False))
        if sub.get("options"):
            nested.append(_suboption_tables(sub_path, sub))
    intro = "Each item of the list" if opt.get("type") == "list" else "The dict"
    table = (f"#### {heading}\n\n{intro} takes:\n\n| Option | Type | Default | Description |\n"
             "|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join([table] + nested)


def _specs(role):
    path = ROOT / "roles" / role / "meta" / "argument_specs.yml"
    return yaml.safe_load(path.read_text())["argument_specs"]


def entry_points(role):
    """Each entry point: how to call it, its short description, then its description."""
    parts = []
    for name, spec in _specs(role).items():
        how = (f"`roles: [mlsp.mlflow_stack.{role}]`" if name == "main"
               else f"`include_role: {{name: mlsp.mlflow_stack.{role}, tasks_from: {name}}}`")
        lines = [f"**{name}** ({how}): {_text(spec.get('short_description', '')).rstrip('.')}."]
        description = spec.get("description") or []
        for paragraph in [description] if isinstance(description, str) else description:
            lines.append(f"  {_text(paragraph)}")
        parts.append("- " + "\n\n".join(lines))
    return "\n\n".join(parts) + "\n"


def variables(role):
    rows, seen, subs = [], set(), []
    for entry_point, spec in _specs(role).items():
        for name, opt in (spec.get("options") or {}).items():
            if name in seen:
                continue
            seen.add(name)
            path = name
            sub_heading = _sub_heading(path) if opt.get("options") else None
            note = f" ({entry_point})" if entry_point != "main" else ""
            rows.append(_row(name, opt, note, sub_heading))
            if opt.get("options"):
                subs.append(_suboption_tables(path, opt))
    head = "| Variable | Type | Default | Description |\n|---|---|---|---|\n"
    text = head + "\n".join(rows) + "\n"
    if subs:
        text += "\n" + "\n".join(subs)
    return text


GENERATORS = {"ENTRY POINTS": entry_points, "VARIABLES": variables}


def render(text):
    return BLOCK.sub(lambda m: m.group(1) + GENERATORS[m.group("kind")](m.group("role")) + m.group(5), text)


def role_readmes():
    """Every role's README.md that has a generated block."""
    return sorted(p for p in (ROOT / "roles").glob("*/README.md") if BLOCK.search(p.read_text()))


def main(argv):
    stale = []
    for path in role_readmes():
        current = path.read_text()
        wanted = render(current)
        if wanted != current:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(wanted)
    if "--check" in argv and stale:
        print(f"out of date: {', '.join(map(str, stale))}: run python scripts/docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
