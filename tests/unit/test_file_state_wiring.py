"""The roles read their files with mlsp.mlflow_stack.file_state and skip a template or file task
whose path is not in the read's `outdated`. That is only right when the read's entry for the path
declares what the task writes: the same template, owner, group, mode and kind. This test holds
every such task of every role to its entry, so that a task changed alone cannot be skipped for
ever on hosts where the old entry still matches."""
import pathlib
import re

import jinja2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TASK_FILES = sorted(ROOT.glob("roles/*/tasks/*.yml"))
WRITERS = ("ansible.builtin.template", "ansible.builtin.file", "ansible.builtin.copy")
GATE = re.compile(r"^\s*\(?(?P<path>.+?)\)?\s+in\s+(?P<register>__\w+)\.outdated\s*$")


class _Name(jinja2.Undefined):
    """A variable renders as <its name>, so that two spellings of one path compare equal."""

    def __str__(self):
        return f"<{self._undefined_name}>"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Name(name=f"{self._undefined_name}.{name}")


ENV = jinja2.Environment(undefined=_Name)


def _render(text):
    return ENV.from_string(str(text)).render()


def _expr(text):
    return ENV.from_string("{{ " + text + " }}").render()


def _tasks(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _module(task):
    return next((m for m in ("mlsp.mlflow_stack.file_state",) + WRITERS if m in task), None)


def _cases():
    # A read may be in another task file of the role than its writes (one that includes them only
    # when the read found something out of date), so the reads are gathered by role.
    tasks_of = {path: list(_tasks(yaml.safe_load(path.read_text(encoding="utf-8")))) for path in TASK_FILES}
    reads_of = {}
    for path, tasks in tasks_of.items():
        reads_of.setdefault(path.parent.parent.name, {}).update(
            {t["register"]: t for t in tasks if _module(t) == "mlsp.mlflow_stack.file_state"})
    for path, tasks in tasks_of.items():
        reads = reads_of[path.parent.parent.name]
        for task in tasks:
            if _module(task) in WRITERS and _gate(task):
                yield pytest.param(path, reads, task, id=f"{path.parent.parent.name}/{path.name}: {task['name']}")


def _gate(task):
    """The condition `PATH in __REGISTER.outdated` of a task: its `when`, or one item of a list of
    conditions (in a task without a loop, the path a plain expression)."""
    when = task.get("when")
    if isinstance(when, str):
        return GATE.match(when)
    if isinstance(when, list) and "loop" not in task:
        for item in when:
            gate = GATE.match(item) if isinstance(item, str) else None
            if gate and not re.search(r"\s(is|or|and)\s", gate["path"]):
                return gate
    return None


CASES = list(_cases())


def test_the_roles_use_the_read():
    assert len(CASES) >= 20


@pytest.mark.parametrize("path, reads, task", CASES)
def test_a_skipped_task_matches_its_entry(path, reads, task):
    gate = _gate(task)
    assert gate["register"] in reads, f"{task['name']}: no file_state task of the role registers {gate['register']}"
    module = _module(task)
    args = task[module]
    dest = args.get("dest", args.get("path"))
    assert _expr(gate["path"]) == _render(dest), f"{task['name']}: the condition names another path than the task"
    files = reads[gate["register"]]["mlsp.mlflow_stack.file_state"]["files"]
    if isinstance(files, str):
        # A list built in Jinja (a loop over folders): each of the task's values must be in it.
        for value in [args.get("src"), args.get("mode")]:
            assert value is None or str(value) in files, f"{task['name']}: {value} is not in the read"
        return
    entries = [e for e in files if _render(e["path"]) == _render(dest)]
    assert len(entries) == 1, f"{task['name']}: the read has {len(entries)} entries for {dest}"
    entry = entries[0]
    wanted_state = "directory" if args.get("state") == "directory" else "file"
    assert entry.get("state", "file") == wanted_state
    if args.get("force") is False:
        # Written only when missing: the entry must not compare what the task leaves alone.
        assert set(entry) == {"path"}, f"{task['name']}: force: false, so only the path is read"
        return
    for key in ("owner", "group", "mode"):
        assert _render(entry.get(key)) == _render(args.get(key)), f"{task['name']}: {key} differs from the read"
    if module == "ansible.builtin.template":
        assert entry.get("checksum", "").replace(" ", "") == (
            "{{lookup('ansible.builtin.template','%s')|hash('sha1')}}" % args["src"]
        ), f"{task['name']}: the read's checksum is not of {args['src']}"
    elif "checksum" in args:
        # A copy that names the SHA-1 of its source (which the module checks the copy against):
        # the read compares the installed file with the same.
        assert _render(entry.get("checksum")) == _render(args["checksum"]), f"{task['name']}: the read's checksum differs"
    else:
        assert "checksum" not in entry
