"""Stands in for get-pip.py, the pip bootstrap ansible-test downloads from
ci-files.testing.ansible.com (a host this network does not reach) into
each sanity test's empty virtual environment: the interpreter's bundled pip
(ensurepip), then pip installs what ansible-test asked for from PyPI.
scripts/test.sh puts it where ansible-test looks for its cached copy."""

import subprocess
import sys

# get-pip.py's own options; pip does not know them.
OWN = {"--no-setuptools", "--no-wheel"}

# In a child: ensurepip points PIP_CONFIG_FILE at /dev/null in its own
# process, which would hide the host's pip configuration (its CA bundle).
subprocess.check_call([sys.executable, "-m", "ensurepip"])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *[a for a in sys.argv[1:] if a not in OWN]]))
