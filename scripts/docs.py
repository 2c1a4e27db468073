"""Write the README's role variable tables from each role's meta/argument_specs.yml.

The README holds, for each role, a block between
    <!-- BEGIN ROLE VARIABLES: <role> -->  and  <!-- END ROLE VARIABLES: <role> -->
that this script fills. `--check` only says whether the README is current (exit 1 when not).

usage: python scripts/docs.py [--check]
"""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(<!-- BEGIN ROLE VARIABLES: (?P<role>[a-z_]+) -->\n)(?P<body>.*?)(<!-- END ROLE VARIABLES: (?P=role) -->)",
    re.S,
)
# Ansible doc markup -> Markdown.
MARKUP = [
    (re.compile(r"[CIVO]\(([^)]*)\)"), r"`\1`"),
    (re.compile(r"B\(([^)]*)\)"), r"**\1**"),
    (re.compile(r"U\(([^)]*)\)"), r"<\1>"),
    (re.compile(r"L\(([^,)]*),\s*([^)]*)\)"), r"[\1](\2)"),
]


def _text(value):
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = " ".join(str(value).split())
    for pattern, repl in MARKUP:
        text = pattern.sub(repl, text)
    return text.replace("|", "\\|")


def _default(opt):
    if opt.get("required"):
        return "**required**"
    if "default" not in opt:
        return "(see description)"
    value = opt["default"]
    if isinstance(value, (dict, list)) and value:
        dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        return f"`{dumped}`" if len(dumped) <= 80 else "(see `defaults/main.yml`)"
    return f"`{yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}`"


def table(role):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    rows, seen = [], set()
    for entry_point, spec in specs["argument_specs"].items():
        for name, opt in (spec.get("options") or {}).items():
            if name in seen:
                continue
            seen.add(name)
            kind = opt.get("type", "str")
            if kind == "list" and opt.get("elements"):
                kind = f"list of {opt['elements']}"
            if entry_point != "main":
                kind += f" ({entry_point})"
            rows.append(f"| `{name}` | {kind} | {_default(opt)} | {_text(opt.get('description', ''))} |")
    head = "| Variable | Type | Default | Description |\n|---|---|---|---|\n"
    return head + "\n".join(rows) + "\n"


def render(text):
    return BLOCK.sub(lambda m: m.group(1) + table(m.group("role")) + m.group(4), text)


def main(argv):
    current = README.read_text()
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            print("README.md role variable tables are out of date: run python scripts/docs.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
