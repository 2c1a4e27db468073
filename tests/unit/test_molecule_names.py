"""Every test container's name carries the run id (MLSP_RUN_ID), so that two checkouts, or two
scenarios, can run on one machine at the same time: molecule/_shared/create.yml names a docker-driver
platform's container `<platform>-<run id>` and Ansible and testinfra reach it by the host's
`ansible_host`, which must say the same; a default-driver platform names its `container` itself."""
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
RUN_ID = "${MLSP_RUN_ID:-local}"


def _scenario(name):
    return yaml.safe_load((ROOT / "molecule" / name / "molecule.yml").read_text())


@pytest.mark.parametrize("name", SCENARIOS)
def test_container_names_carry_the_run_id(name):
    config = _scenario(name)
    driver = config.get("driver", SHARED["driver"])["name"]
    host_vars = config.get("provisioner", {}).get("inventory", {}).get("host_vars", {})
    for platform in config["platforms"]:
        if driver == "docker":
            assert "container" not in platform, f"{name}: the docker driver's schema has no `container`"
            expected = f"{platform['name']}-{RUN_ID}"
            found = host_vars.get(platform["name"], {}).get("ansible_host")
            assert found == expected, f"{name}: {platform['name']} needs ansible_host {expected}, not {found}"
        else:
            assert platform.get("container", "").endswith(f"-{RUN_ID}"), f"{name}: {platform['name']}'s container"


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_fixed_host_port(name):
    """A fixed host port would clash when two runs publish it at once."""
    for platform in _scenario(name)["platforms"]:
        for port in platform.get("published_ports", []):
            parts = str(port).split(":")  # [[address:]host port:]container port
            assert len(parts) == 1 or parts[-2] == "", f"{name}: {port} publishes a fixed host port"


def test_the_shared_config_defaults_the_run_id():
    assert SHARED["provisioner"]["env"]["MLSP_RUN_ID"] == RUN_ID
