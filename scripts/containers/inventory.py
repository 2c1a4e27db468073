"""Write an inventory's hosts.yml for local test hosts (scripts/containers/up.yml's JSON).

usage: inventory.py HOSTS_JSON LAYOUT OUTPUT
  LAYOUT: "three" (db: postgresql + pgbouncer, minio, mlflow) or "cluster" (db: postgresql +
  pgbouncer + loadbalancer, four minio hosts, two mlflow hosts), in the order of HOSTS_JSON.

Hosts are named by their own hostnames and reached by address (ansible_host), over SSH as the
sudo user of the image, as a production inventory reaches its hosts. Also used as $EDITOR by the
quick-start stage: with one argument (the file to edit) it reads HOSTS_JSON and LAYOUT from the
environment (MLSP_HOSTS_JSON, MLSP_LAYOUT).
"""
import json
import os
import sys

import yaml

LAYOUTS = {
    "three": [["postgresql", "pgbouncer"], ["minio"], ["mlflow"]],
    "cluster": [["postgresql", "pgbouncer", "loadbalancer"]] + [["minio"]] * 4 + [["mlflow"]] * 2,
}


def hosts_yml(hosts, layout, known_hosts):
    groups = {}
    for host, names in zip(hosts, LAYOUTS[layout]):
        for group in names:
            groups.setdefault(group, {"hosts": {}})["hosts"][host["hostname"]] = {}
    hostvars = {
        h["hostname"]: {"ansible_host": h["address"], "ansible_user": h["user"], "ansible_port": h["port"],
                        "ansible_ssh_private_key_file": h["identity_file"]}
        for h in hosts
    }
    return {"all": {
        "hosts": hostvars,
        "vars": {
            # New hosts: accept their keys the first time, into a file of this inventory's own.
            "ansible_ssh_common_args": f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known_hosts}",
            "ansible_ssh_pipelining": True,
        },
        "children": groups,
    }}


def main(argv):
    if len(argv) == 2:  # as $EDITOR
        hosts_json, layout, output = os.environ["MLSP_HOSTS_JSON"], os.environ.get("MLSP_LAYOUT", "three"), argv[1]
    elif len(argv) == 4:
        hosts_json, layout, output = argv[1:]
    else:
        sys.exit(__doc__)
    with open(hosts_json, encoding="utf-8") as f:
        hosts = json.load(f)
    known_hosts = os.path.join(os.path.dirname(os.path.abspath(output)), ".known_hosts")
    text = "---\n# Local test hosts, written by scripts/containers/inventory.py.\n"
    text += yaml.safe_dump(hosts_yml(hosts, layout, known_hosts), sort_keys=False)
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv)
