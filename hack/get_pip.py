"""Offline stand-in for get-pip.py, placed in ansible-test's cache by ``make install``.

ansible-test bootstraps pip in its sanity/units virtual environments by downloading get-pip.py.
Only package registries are reachable from CI, so bootstrap with ``ensurepip`` and then let pip
install the exact pins ansible-test asked for from the package index.
"""

import subprocess
import sys

IGNORED = ("--no-setuptools", "--no-wheel")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in IGNORED]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    if [arg for arg in args if not arg.startswith("-")]:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)


if __name__ == "__main__":
    main()
