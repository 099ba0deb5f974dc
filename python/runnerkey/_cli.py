"""The ``runnerkey`` command installed with the Python package: the same
command line as the ``runnerkey`` binary (the Rust CLI's entry point, called
through the native module), so the two never differ."""

from __future__ import annotations

import sys

from runnerkey._native import cli_main


def main() -> None:
    """Runs ``runnerkey`` with this process's arguments and exits with its status."""
    sys.stdout.flush()
    sys.exit(cli_main(sys.argv))


if __name__ == "__main__":
    main()
