"""The docs say what the code does: docs/cli.md is the binary's --help,
and docs/public-api.txt the library's public API. (That
docs/troubleshooting.md explains every finding code is checked against the
`Code` enum by a Rust unit test next to it.)"""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, binary


def test_cli_reference_matches_help() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "cli_docs.py"), "--check", "--bin", str(binary())],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_public_api_listing_is_current() -> None:
    """docs/public-api.txt lists the library's whole public API: items,
    signatures, fields, variants and trait impls, from rustdoc's JSON, which
    the script makes (a few seconds after scripts/test.sh's `cargo doc`).
    An API change shows in review; test_public_api.py tests the script."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "public_api.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
