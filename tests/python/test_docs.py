"""The docs say what the code does: docs/cli.md is the binary's --help, and
docs/troubleshooting.md explains every finding code the code can emit."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT, binary

SOURCES = ["crates/runnerkey/src/doctor/mod.rs", "crates/runnerkey/src/doctor/online.rs", "crates/runnerkey/src/doctor/transport.rs", "crates/runnerkey/src/runner_config/lint/mod.rs", "crates/runnerkey/src/runner_config/lint/files.rs", "crates/runnerkey/src/verify/mod.rs"]
NOT_CODES = {"docker-machine", "gitlab-admin"}


def test_cli_reference_matches_help() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "cli_docs.py"), "--check", "--bin", str(binary())],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_finding_code_is_documented() -> None:
    codes = set()
    for src in SOURCES:
        codes |= set(re.findall(r'"([a-z]+(?:-[a-z0-9]+)+)"', (ROOT / src).read_text()))
    codes -= NOT_CODES
    assert len(codes) > 40
    doc = (ROOT / "docs" / "troubleshooting.md").read_text()
    documented = set(re.findall(r"`([a-z]+(?:-[a-z0-9]+)*)`", doc))
    assert codes - documented == set()
    assert doc.index("tls-unknown-authority") < doc.index("connection-refused")


def test_public_api_listing_is_current() -> None:
    """docs/public-api.txt lists the library's public items (from rustdoc,
    which scripts/test.sh runs first): an API change shows in review."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "public_api.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
