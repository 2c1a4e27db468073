"""Probe, run as root on a stack host with the test secrets in its environment (SECRET_<name>):
`argv` prints, as JSON, every process whose argv holds a secret; `files` every file holding one
(with its mode and owner) and every other process whose environment holds one.

A secret is looked for in each form it takes on disk: as is, quoted for a systemd environment file
(backslash, double quote, dollar and backquote escaped, or all but the backquote), or for
PgBouncer's auth file (double quote doubled). Only the names of the secrets are printed.
"""
import grp
import json
import os
import pwd
import stat
import sys

SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__", "proc", "sys", "dev"}
ROOTS = ("/etc", "/opt", "/var", "/root", "/home", "/srv", "/usr/local", "/tmp", "/run")


def forms(value):
    env = value
    for char in "\\\"$`":
        env = env.replace(char, "\\" + char)
    return {f.encode() for f in (value, env, env.replace("\\`", "`"), value.replace('"', '""'))}


SECRETS = {key[len("SECRET_"):]: forms(value) for key, value in os.environ.items() if key.startswith("SECRET_")}


def holds(data):
    return sorted(name for name, variants in SECRETS.items() if any(v in data for v in variants))


def proc_read(pid, name):
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read()


def argv_hits():
    hits = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = proc_read(pid, "cmdline")
        except OSError:
            continue
        comm = argv.split(b"\0")[0].decode(errors="replace")
        hits += [{"pid": int(pid), "secret": name, "comm": comm} for name in holds(argv)]
    return hits


def file_hits():
    files = []
    for root in ROOTS:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                    if not stat.S_ISREG(st.st_mode) or st.st_size > 64 * 1024 * 1024:
                        continue
                    with open(path, "rb") as f:
                        found = holds(f.read())
                except OSError:
                    continue
                if found:
                    files.append({"path": path, "secrets": found, "mode": "%04o" % stat.S_IMODE(st.st_mode),
                                  "owner": pwd.getpwuid(st.st_uid).pw_name, "group": grp.getgrgid(st.st_gid).gr_name})
    return files


def environ_hits():
    hits = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env, comm = proc_read(pid, "environ"), proc_read(pid, "comm").decode().strip()
        except OSError:
            continue
        # This probe and the `timeout` that runs it carry the secrets on purpose.
        if pid != str(os.getpid()) and comm not in ("timeout", "python3"):
            hits += [{"pid": int(pid), "comm": comm, "secret": name} for name in holds(env)]
    return hits


if __name__ == "__main__":
    if sys.argv[1] == "argv":
        print(json.dumps(argv_hits()))
    else:
        print(json.dumps({"files": file_hits(), "environ": environ_hits()}))
