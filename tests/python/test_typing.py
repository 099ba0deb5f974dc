"""The hand-written stubs: `mypy.stubtest` finds them consistent with the
native module, and a typed usage example passes `mypy --strict` (while a
misuse fails, so the check can fail)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_stubtest() -> None:
    r = mypy("mypy.stubtest", "runnerkey", "--allowlist", str(ROOT / "python" / "stubtest-allowlist.txt"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_usage_example_passes_mypy_strict() -> None:
    r = mypy("mypy", "--strict", "--no-incremental", str(Path(__file__).parent / "typing" / "usage.py"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_misuse_fails_mypy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import runnerkey\nk = runnerkey.PrivateKey.generate()\nn: str = k.key_size\nrunnerkey.verify(k, k)\n")
    r = mypy("mypy", "--strict", "--no-incremental", str(bad))
    assert r.returncode == 1 and "key_size" in r.stdout or "incompatible" in r.stdout, r.stdout
    assert 'Argument 1 to "verify"' in r.stdout
