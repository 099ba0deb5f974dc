"""Ansible modules built on runnerkey: drop this directory into a role's
``library/`` or point ``ANSIBLE_LIBRARY`` at it (see docs/python.md)."""

import os

#: The directory holding the modules, for ANSIBLE_LIBRARY.
LIBRARY = os.path.dirname(os.path.abspath(__file__))
