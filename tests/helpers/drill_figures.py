"""The drill table that the scenarios with drills (molecule/stack, molecule/cluster) share: each
drill records its figures with `check` (a figure against its limit, asserted) or `note` (a figure
without a limit), and the scenario's conftest.py prints them as one table at the end of the
verifier's output (`terminal_summary`), also written to $MOLECULE_EPHEMERAL_DIRECTORY/drills.txt
(drills-<part>.txt for a part of the verify, MLSP_VERIFY_PART).
Standard library only."""
import os
import pathlib

# The rows of the drill table, in the order they were recorded: (drill, figure, limit, result).
FIGURES = []


def check(drill, figure, limit, passed, detail="", mask=str):
    """Record a drill's measured figure against its limit and assert it: PASS or FAIL in the table,
    and on FAIL the test fails with the figure and `detail`, through `mask` (the scenario's
    function that hides its secrets)."""
    FIGURES.append((str(drill), str(figure), str(limit), "PASS" if passed else "FAIL"))
    assert passed, mask(f"{drill}: {figure}, limit {limit}" + (f": {detail}" if detail else ""))


def note(drill, figure):
    """Record a figure that has no limit: shown as information, never as PASS."""
    FIGURES.append((str(drill), str(figure), "-", "info"))


def figures_table():
    rows = [("drill", "figure", "limit", "result")] + FIGURES
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def terminal_summary(terminalreporter):
    """pytest_terminal_summary of a scenario with drills: the table, and the file it is kept in."""
    if not FIGURES:
        return
    table = figures_table()
    terminalreporter.section("drill figures")
    terminalreporter.write(table)
    ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if ephemeral:
        # One file per part of a verify run in two (tests/helpers/verify_parts.py), so that the
        # second does not replace the first's.
        part = os.environ.get("MLSP_VERIFY_PART", "").strip()
        path = pathlib.Path(ephemeral) / (f"drills-{part}.txt" if part else "drills.txt")
        path.write_text(table)
        terminalreporter.write_line(f"(also in {path})")
