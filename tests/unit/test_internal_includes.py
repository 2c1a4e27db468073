"""The roles' and site.yml's own calls of an entry point skip Ansible's argument-spec validation
(rolespec_validate: false, one task result fewer a call, about 40 in a quiet run of the stack). So
that a call with a misspelt or missing variable still fails somewhere, this test checks each such
call against the entry point's spec: every variable it passes with the role's prefix is an option
of that entry point, and every required option is passed (by the call or a block around it).
Users' calls, and every role's main entry point, are still validated by Ansible."""
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "roles").glob("*/tasks/*.yml")) + sorted((ROOT / "playbooks").glob("*.yml"))
NAMESPACE = "mlsp.mlflow_stack."


def _load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or []


def _walk(tasks, outer_vars, found, where):
    """Each include_role/import_role task under tasks (blocks, rescue and always included), with the
    names of the variables it gets from its own vars and the blocks around it."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        names = outer_vars | set(task.get("vars") or {})
        for key in ("block", "rescue", "always"):
            if key in task:
                _walk(task[key], names, found, where)
        for action in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
            if action in task:
                found.append((where, task.get("name", "?"), task[action], names))


def _calls():
    found = []
    for path in SOURCES:
        data = _load(path)
        where = str(path.relative_to(ROOT))
        if path.parent.name == "playbooks":
            for play in data if isinstance(data, list) else []:
                play_vars = set(play.get("vars") or {})
                for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                    _walk(play.get(section), play_vars, found, where)
        else:
            _walk(data if isinstance(data, list) else [], set(), found, where)
    return found


CALLS = [c for c in _calls() if c[2].get("rolespec_validate") is False]


def test_some_calls_skip_validation():
    # The test below would pass on nothing if the calls were not found.
    assert len(CALLS) >= 30, [c[:2] for c in CALLS]


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c[0]}: {c[1]}")
def test_unvalidated_call_matches_its_entry_point(call):
    where, name, args, passed = call
    role_name = args["name"]
    if "{{" in role_name:
        pytest.skip(f"{role_name}: the role is chosen at run time")
    assert role_name.startswith(NAMESPACE), role_name
    role = role_name[len(NAMESPACE):]
    entry = pathlib.Path(args.get("tasks_from", "main")).stem
    specs = _load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    if entry not in specs:
        # No spec: Ansible would validate nothing either (preflight.yml and other inner files).
        assert not (ROOT / "roles" / role / "tasks" / f"{entry}.yml").read_text(encoding="utf-8").startswith(
            "---\n# Entry point"), f"{role}/{entry} says it is an entry point but has no argument spec"
        return
    options = specs[entry].get("options") or {}
    prefix = f"{role}_"
    unknown = sorted(v for v in passed if v.startswith(prefix) and v not in options)
    missing = sorted(o for o, spec in options.items() if spec.get("required") and o not in passed)
    assert not unknown, f"{where} ({name}) passes {unknown}, not options of {role}/{entry}"
    assert not missing, f"{where} ({name}) does not pass {missing}, required by {role}/{entry}"
