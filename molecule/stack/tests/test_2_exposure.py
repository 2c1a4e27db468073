"""Drill: the systemd exposure score of each of our units (`systemd-analyze security`) is 5.0 or
lower."""
import re

import pytest
from stacklib import MLFLOW, check, exec_in, service_units

EXPOSURE_LIMIT = 5.0


def units():
    found = [(host, unit) for _service, host, unit in service_units()]
    if exec_in(MLFLOW, ["test", "-f", "/etc/systemd/system/mlflow-migrate.service"])[0] == 0:
        found.append((MLFLOW, "mlflow-migrate.service"))
    return found


@pytest.mark.parametrize("service", ["postgresql", "pgbouncer", "minio", "mlflow", "mlflow-migrate"])
def test_exposure_score(service):
    host, unit = next(((h, u) for h, u in units() if u.startswith(service + "@") or u == service + ".service"),
                      (None, None))
    if unit is None:
        pytest.skip(f"no {service} unit on this stack")
    rc, out, err = exec_in(host, ["systemd-analyze", "security", "--no-pager", unit], timeout=60)
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    assert found, f"{unit} on {host}: rc {rc}: {err}{out[-500:]}"
    score = float(found.group(1))
    check(f"exposure {service}", score, f"<= {EXPOSURE_LIMIT}", score <= EXPOSURE_LIMIT, out[-1500:])
