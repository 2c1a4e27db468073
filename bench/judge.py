"""When a benchmark may call a target met: only when the run started on a quiet machine (the
1-minute load average below the number of cores) and both sides of the comparison were measured
in the same run. Otherwise the verdict says why it is not judged. Shared by bench/tracking.py and
bench/artifacts.py; bench/lib.sh has the same rule for the shell scripts (bench_judge)."""
import os


def cores():
    """The cores this process may run on (what nproc prints)."""
    return len(os.sched_getaffinity(0))


def loadavg():
    return os.getloadavg()


def quiet(load_before):
    return load_before[0] < cores()


def verdict(ok, load_before, measured=True):
    """'met' / 'not met' for a target whose figure was `ok`, or why it is not judged."""
    if not measured:
        return "not judged: a side of the comparison was not measured in this run"
    if not quiet(load_before):
        return f"not judged: machine busy (load {load_before[0]:.2f})"
    return "met" if ok else "not met"


def load_line(load_before, load_after):
    """The sentence every table prints: the load before and after, the cores, and whether the
    targets are judged."""
    fig = " ".join(f"{x:.2f}" for x in load_before), " ".join(f"{x:.2f}" for x in load_after)
    judged = ("quiet at the start (1-minute load below the cores): targets judged" if quiet(load_before)
              else f"busy at the start (1-minute load {load_before[0]:.2f} >= {cores()} cores): targets not judged")
    return f"Load average {fig[0]} (before) / {fig[1]} (after) on {cores()} cores; {judged}."


def load_json(load_before, load_after):
    return {"load_before": list(load_before), "load_after": list(load_after), "cores": cores(),
            "quiet": quiet(load_before)}
