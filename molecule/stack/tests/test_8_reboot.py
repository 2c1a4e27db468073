"""Drill: every container restarted at once (a reboot). The services come back enabled and active,
PgBouncer after PostgreSQL, the stack serves again, health.yml passes, and every marker run that
the fault drills wrote before their faults reads back (this drill writes one too)."""
import concurrent.futures
import time

import pytest
from mlsp_testlib import container_address
from stacklib import (HEALTH, HOSTS, check, container, exec_in, health_lines, markers_in, note, read_marker,
                      run_playbook, service_units, stack_problem, unit_show, wait_for, wait_healthy, write_marker)

# Timed drills (tests/helpers/verify_parts.py): their limits are times and failed requests under load.
pytestmark = pytest.mark.timed


def wait_booted(host, timeout=120):
    """Wait (bounded) until systemd in the container has booted; returns its state."""
    def state():
        # A container that is not running yet: the docker client's exit code 1, nothing on stdout.
        _rc, out, _err = exec_in(host, ["systemctl", "is-system-running", "--wait"], timeout=60)
        return out.strip() if out.strip() in ("running", "degraded") else None

    booted, _waited = wait_for(state, timeout, interval=1)
    return booted


def test_reboot_every_container(writer):
    client, experiment_id = writer
    write_marker(client, experiment_id, "reboot")
    addresses = {host: container_address(host) for host in HOSTS}
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
        for future in [pool.submit(container(h).restart, timeout=60) for h in HOSTS]:
            future.result(timeout=180)
    booted = {host: wait_booted(host) for host in HOSTS}
    assert all(booted.values()), booted
    assert {host: container_address(host) for host in HOSTS} == addresses, "the containers' addresses changed"
    healthy = wait_healthy(client.url, 300)
    healthy_at = time.monotonic()
    check("reboot: stack healthy", f"{healthy_at - start:.1f} s" if healthy is not None else None, "within 300 s",
          healthy is not None, stack_problem(client.url))
    units = {service: (host, unit, unit_show(host, unit)) for service, host, unit in service_units()}
    # When each unit became active, in seconds after the restarts began (the containers share the
    # controller's kernel, so its monotonic clock is theirs).
    up = {s: round(int(state["ActiveEnterTimestampMonotonic"]) / 1e6 - start, 1) for s, (_h, _u, state) in units.items()}
    for service in sorted(up, key=up.get):
        note(f"reboot: {service} active", f"{up[service]} s")
    note("reboot: MLflow restarts", units["mlflow"][2]["NRestarts"])
    check("reboot: pgbouncer after pg", f"{up['pgbouncer'] - up['postgresql']:+.1f} s", ">= 0",
          0 <= up["postgresql"] <= up["pgbouncer"] and all(0 <= v <= healthy_at - start for v in up.values()), up)
    down = [f"{service} {state['ActiveState']}/{state['UnitFileState']}" for service, (_h, _u, state) in units.items()
            if (state["ActiveState"], state["UnitFileState"]) != ("active", "enabled")]
    failed = {host: exec_in(host, ["systemctl", "--failed", "--plain", "--no-legend"])[1].split() for host in HOSTS}
    failed_ours = [u for _s, h, u in service_units() if u in failed[h]]
    check("reboot: units not up", len(down) + len(failed_ours), "0", not down and not failed_ours,
          (down, failed))
    # Every marker run in the drills' experiment: this drill's, and those the fault drills wrote.
    markers = markers_in(client, experiment_id)
    problems = [p for marker in markers for p in read_marker(client, marker)]
    check("pre-fault writes lost", f"{len(problems)} of {len(markers)} runs", "0", not problems and bool(markers),
          problems or "no marker run in the experiment")
    health = run_playbook(HEALTH, timeout=600)
    lines = health_lines(health)
    passed = sum(status == "OK" for status, _check in lines)
    check("reboot: health.yml", f"rc {health.returncode}, {passed} of {len(lines)} OK", "rc 0, 7 OK",
          health.returncode == 0 and passed == len(lines) == 7, lines)
