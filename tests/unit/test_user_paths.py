"""The pure parts of the user-path stages (scripts/user-paths.sh): the README's quick-start block
that CI runs literally, and the inventory that scripts/containers/inventory.py writes for the
test hosts (by address, over SSH as a sudo user, names that resolve nowhere)."""
import importlib.util
import json
import pathlib
import re
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _inventory_module():
    spec = importlib.util.spec_from_file_location("mlsp_inventory", ROOT / "scripts" / "containers" / "inventory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _quickstart_block():
    """The block as scripts/user-paths.sh extracts it (its own awk, run here)."""
    script = (ROOT / "scripts" / "user-paths.sh").read_text()
    awk = re.search(r"readme_block\(\) \{\n  awk (.*?)\n\}", script, re.S).group(1)
    proc = subprocess.run(["bash", "-c", f"awk {awk}", "_", "quickstart"], cwd=ROOT, env={"MLSP_ROOT": str(ROOT),
                          "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
    return proc.stdout


def test_readme_has_one_quickstart_block_with_the_user_path():
    readme = (ROOT / "README.md").read_text()
    assert readme.count("<!-- quickstart:begin -->") == 1 and readme.count("<!-- quickstart:end -->") == 1
    block = _quickstart_block()
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    joined = "\n".join(commands)
    # Install before use, the secrets of a new inventory (relative paths), then the playbooks by FQCN.
    order = ["ansible-galaxy collection build", "ansible-galaxy collection install", "inventories/production inventory",
             "mlsp.mlflow_stack.secrets", "mlsp.mlflow_stack.site", "mlsp.mlflow_stack.users",
             "mlsp.mlflow_stack.health"]
    positions = [joined.find(step) for step in order]
    assert -1 not in positions, dict(zip(order, positions))
    assert positions == sorted(positions), dict(zip(order, positions))
    # The vault goes into the new inventory, never into the example that the build ships.
    assert "secrets_file=inventory/group_vars/all/vault.yml" in joined
    assert "inventories/production/group_vars" not in joined


def test_galaxy_build_ignores_vault_files_and_the_sandbox():
    ignore = yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"]
    assert "inventories/*/group_vars/all/vault.yml" in ignore
    assert "inventories/sandbox" in ignore


def test_inventory_reaches_hosts_by_address_over_ssh(tmp_path):
    hosts = [{"name": f"mlsp-x-{n}", "hostname": f"{n}.x.invalid", "address": f"172.30.0.{i}", "user": "debian",
              "port": 22, "identity_file": "/k/id"} for i, n in enumerate(["db1", "s3-1", "mlflow1"], start=2)]
    data = _inventory_module().hosts_yml(hosts, "three", str(tmp_path / ".known_hosts"))["all"]
    assert data["children"]["postgresql"]["hosts"] == {"db1.x.invalid": {}}
    assert data["children"]["pgbouncer"]["hosts"] == {"db1.x.invalid": {}}
    assert data["children"]["minio"]["hosts"] == {"s3-1.x.invalid": {}}
    assert data["children"]["mlflow"]["hosts"] == {"mlflow1.x.invalid": {}}
    assert data["hosts"]["s3-1.x.invalid"] == {"ansible_host": "172.30.0.3", "ansible_user": "debian",
                                               "ansible_port": 22, "ansible_ssh_private_key_file": "/k/id"}
    assert "StrictHostKeyChecking=accept-new" in data["vars"]["ansible_ssh_common_args"]


def test_inventory_as_editor_writes_the_file(tmp_path, monkeypatch):
    hosts_json = tmp_path / "hosts.json"
    hosts_json.write_text(json.dumps([{"name": "c", "hostname": f"h{i}", "address": f"10.9.0.{i}", "user": "u",
                                       "port": 22, "identity_file": "/k"} for i in range(3)]))
    monkeypatch.setenv("MLSP_HOSTS_JSON", str(hosts_json))
    target = tmp_path / "inventory" / "hosts.yml"
    target.parent.mkdir()
    _inventory_module().main(["inventory.py", str(target)])
    assert set(yaml.safe_load(target.read_text())["all"]["hosts"]) == {"h0", "h1", "h2"}


def test_cluster_layout_puts_the_load_balancer_on_the_database_host(tmp_path):
    names = ["db", "s3-1", "s3-2", "s3-3", "s3-4", "mlflow1", "mlflow2"]
    hosts = [{"name": f"mlsp-x-{n}", "hostname": f"{n}.x.invalid", "address": f"172.30.0.{i}", "user": "debian",
              "port": 22, "identity_file": "/k/id"} for i, n in enumerate(names, start=2)]
    groups = _inventory_module().hosts_yml(hosts, "cluster", str(tmp_path / ".known_hosts"))["all"]["children"]
    assert list(groups["loadbalancer"]["hosts"]) == ["db.x.invalid"]
    assert list(groups["postgresql"]["hosts"]) == ["db.x.invalid"]
    assert list(groups["minio"]["hosts"]) == [f"s3-{i}.x.invalid" for i in range(1, 5)]
    assert list(groups["mlflow"]["hosts"]) == ["mlflow1.x.invalid", "mlflow2.x.invalid"]
