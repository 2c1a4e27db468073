"""The documentation: the roles' generated README blocks are current and render Ansible's markup
whole; every relative link and repository path in the README, docs/ and the role READMEs exists;
the README stays short and, being the Galaxy page, points into folders the tarball does not ship
only from its Developing section."""
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "roles").glob("*/README.md"))]
NOT_SHIPPED = [entry for entry in yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"]
               if entry in ("scripts", "bench", "molecule", "tests")]
DEVELOPING = "## Developing (source repository only)"


def _docs_module():
    spec = importlib.util.spec_from_file_location("mlsp_docs", ROOT / "scripts" / "docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rel(path):
    return str(path.relative_to(ROOT))


def test_role_readmes_are_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_public_role_has_a_generated_readme():
    for role in sorted((ROOT / "roles").iterdir()):
        if (role / "defaults" / "main.yml").exists():
            text = (role / "README.md").read_text() if (role / "README.md").exists() else ""
            for kind in ("ENTRY POINTS", "VARIABLES"):
                assert f"<!-- BEGIN ROLE {kind}: {role.name} -->" in text, (role.name, kind)


@pytest.mark.parametrize("source, markdown", [
    ("C(pgbouncer.get_auth(text)), which", "`pgbouncer.get_auth(text)`, which"),
    ("an C(http(s)://) URL", "an `http(s)://` URL"),
    ("O(a) and V(b) B(c) I(d)", "`a` and `b` **c** *d*"),
    ("L(MinIO, https://min.io) U(https://x.invalid)", "[MinIO](https://min.io) <https://x.invalid>"),
    ("IPC(x) stays, C(unclosed stays", "IPC(x) stays, C(unclosed stays"),
])
def test_markup_renders_whole_calls(source, markdown):
    assert _docs_module().markup(source) == markdown


def test_suboptions_get_tables_of_their_own(monkeypatch):
    docs = _docs_module()
    spec = {"main": {"short_description": "x", "options": {
        "demo_buckets": {"type": "list", "elements": "dict", "default": [], "description": "Buckets.",
                         "options": {
                             "name": {"type": "str", "required": True, "description": "C(name)."},
                             "password": {"type": "str", "no_log": True, "description": "A key."},
                             "rules": {"type": "list", "elements": "dict", "description": "Rules.",
                                       "options": {"days": {"type": "int", "default": 30, "choices": [30, 60],
                                                            "description": "Days."}}}}}}}}
    monkeypatch.setattr(docs, "_specs", lambda role: spec)
    text = docs.variables("demo")
    assert "[Options of `demo_buckets`](#options-of-demo_buckets)" in text
    assert "#### Options of `demo_buckets`\n" in text
    assert "| `name` | str | **required** | `name`. |" in text
    assert "| `password` | str | - | A key. A secret (`no_log`). |" in text
    assert "[Options of `demo_buckets[].rules`](#options-of-demo_bucketsrules)" in text
    assert "#### Options of `demo_buckets[].rules`\n" in text
    assert "| `days` | int | `30` | Days. One of `30`, `60`. |" in text


def _anchors(path):
    docs = _docs_module()
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {docs._anchor(h) for h in re.findall(r"^#+ +(.+?) *$", text, re.M)}


def _links(text):
    """Markdown link targets outside code blocks."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_exist(page):
    missing = []
    for target in _links(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s):, mailto:
        file_part, anchor = (target.split("#", 1) + [""])[:2]
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            missing.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            missing.append(target)
    assert not missing, f"{_rel(page)} links to what does not exist: {missing}"


def _ignored(rel):
    """Paths that the scripts make and git ignores (e.g. inventories/sandbox/) are allowed."""
    patterns = [p.strip().strip("/") for p in (ROOT / ".gitignore").read_text().splitlines()
                if p.strip().startswith("/")]
    return any(rel.rstrip("/") == p or rel.startswith(p + "/") for p in patterns)


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_repository_paths_in_code_spans_exist(page):
    """`roles/...`, `playbooks/...`, `scripts/...` and the like: from the repository root, or from the
    page's own folder (a role README's `meta/argument_specs.yml`)."""
    top = "|".join(sorted({p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}))
    missing = []
    for path in re.findall(rf"`((?:{top})/[^`\s]*)`", page.read_text()):
        if re.search(r"[<>{}$]", path):
            continue  # a placeholder, not a path
        candidates = [ROOT, page.parent]
        if not any(list(base.glob(path.rstrip("/"))) for base in candidates) and not _ignored(path):
            missing.append(path)
    assert not missing, f"{_rel(page)} names paths that do not exist: {missing}"


def test_readme_is_short():
    lines = README.read_text().count("\n")
    assert lines <= 260, f"README.md has {lines} lines; move detail to docs/"


def test_readme_points_into_unshipped_folders_only_from_its_developing_section():
    assert NOT_SHIPPED, "galaxy.yml's build_ignore no longer names scripts, bench, molecule or tests"
    text = README.read_text()
    assert text.count(DEVELOPING) == 1
    before, rest = text.split(DEVELOPING, 1)
    after = rest.split("\n## ", 1)[1] if "\n## " in rest else ""
    pattern = re.compile(rf"(?<![\w./-])({'|'.join(NOT_SHIPPED)})/")
    outside = [m.group(0) for m in pattern.finditer(before + after)]
    assert not outside, f"README.md points into folders the tarball does not ship, outside {DEVELOPING!r}: {outside}"
