"""The README's role variable tables are generated from argument_specs and must be current."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_readme_variable_tables_are_current():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docs.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_public_role_has_a_table():
    readme = (ROOT / "README.md").read_text()
    for role in sorted((ROOT / "roles").iterdir()):
        if (role / "defaults" / "main.yml").exists():
            assert f"<!-- BEGIN ROLE VARIABLES: {role.name} -->" in readme, role.name
