"""Every role's public variables are documented and typed in meta/argument_specs.yml, and the
specs and defaults/main.yml name the same variables (STYLE.md: a check keeps them equal)."""
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "defaults" / "main.yml").exists())


def _load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def _spec_options(role):
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]
    options = {}
    for entry in specs.values():
        options.update(entry.get("options", {}))
    return options


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_specs_match_defaults(role):
    defaults = set(_load(role / "defaults" / "main.yml"))
    specs = set(_spec_options(role))
    assert defaults - specs == set(), f"{role.name}: in defaults but not in argument_specs"
    undocumented_required = {
        k for k, v in _spec_options(role).items() if k not in defaults and not v.get("required")
    }
    assert undocumented_required == set(), f"{role.name}: spec'd, not required, no default"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_option_typed_described_and_prefixed(role):
    prefix = role.name.lstrip("_") + "_"
    for name, opt in _spec_options(role).items():
        assert name.startswith(prefix), f"{role.name}: {name} lacks the prefix {prefix}"
        assert opt.get("type"), f"{role.name}: {name} has no type"
        assert opt.get("description"), f"{role.name}: {name} has no description"
        if opt["type"] == "list":
            assert opt.get("elements"), f"{role.name}: {name} is a list without elements"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_spec_defaults_equal_role_defaults(role):
    """A default written in the spec (for the README) must be the one the role uses."""
    defaults = _load(role / "defaults" / "main.yml")
    for name, opt in _spec_options(role).items():
        if "default" in opt and name in defaults:
            assert opt["default"] == defaults[name], f"{role.name}: {name} default differs"


def _suboptions(options, where):
    """(path, spec) of every suboption, at any depth."""
    for name, opt in options.items():
        for sub, sub_opt in (opt.get("options") or {}).items():
            path = f"{where}{name}.{sub}"
            yield path, sub_opt
            yield from _suboptions({sub: sub_opt}, f"{where}{name}.")


@pytest.mark.parametrize("role", sorted((ROOT / "roles").iterdir()), ids=lambda p: p.name)
def test_every_list_of_dicts_has_typed_suboptions(role):
    """Declarative validation: the spec, not a hand check, types each field of a list of dicts,
    and a field that holds a password or secret is no_log."""
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]
    for entry in specs.values():
        options = entry.get("options", {})
        for name, opt in options.items():
            if opt.get("type") == "list" and opt.get("elements") == "dict":
                assert opt.get("options"), f"{role.name}: {name} is a list of dicts without suboptions"
        for path, sub in _suboptions(options, ""):
            assert sub.get("type") and sub.get("description"), f"{role.name}: {path} untyped or undescribed"
            if sub["type"] == "list":
                assert sub.get("elements"), f"{role.name}: {path} is a list without elements"
            if sub["type"] == "list" and sub.get("elements") == "dict":
                assert sub.get("options"), f"{role.name}: {path} is a list of dicts without suboptions"
            field = path.rsplit(".", 1)[1]
            if field in ("password", "value") or "secret" in field:
                assert sub.get("no_log"), f"{role.name}: {path} holds a secret but is not no_log"
