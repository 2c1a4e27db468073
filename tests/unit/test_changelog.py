"""CHANGELOG.rst is valid reStructuredText (Galaxy renders it) and the fragments pass
antsibull-changelog's lint."""
import pathlib
import shutil
import subprocess

import docutils.core
import docutils.utils
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_changelog_rst_renders_without_warnings():
    docutils.core.publish_doctree(
        (ROOT / "CHANGELOG.rst").read_text(),
        settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL, "report_level": 5},
    )


def test_fragments_pass_antsibull_changelog_lint():
    tool = shutil.which("antsibull-changelog")
    if tool is None:
        pytest.fail("antsibull-changelog is not on PATH (requirements.txt pins it)")
    proc = subprocess.run([tool, "lint"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
