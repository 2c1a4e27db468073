"""Puts tests/helpers (mlsp_testlib, the helpers every scenario's tests share) on sys.path."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "helpers"))
