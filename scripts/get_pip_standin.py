"""Stand-in for ansible-test's pip bootstrap script, which it downloads from a host that this
machine cannot reach. ansible-test runs it as `python get_pip.py [options] pip==X ...` inside a new
virtual environment; we bootstrap pip from the interpreter's own ensurepip, then let that pip
install what was asked for (from the package index this machine is configured to use)."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
