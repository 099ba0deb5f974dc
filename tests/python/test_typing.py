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
    # Each misuse on its own, each with the error it must cause: a file with
    # one right error and one missed would otherwise still fail.
    cases = {
        "n: str = k.key_size\n": 'Incompatible types in assignment (expression has type "int", variable has type "str")',
        "runnerkey.verify(k, k)\n": 'Argument 1 to "verify" has incompatible type "PrivateKey"',
        "k.write(42)\n": 'Argument 1 to "write" of "PrivateKey" has incompatible type "int"',
    }
    for i, (line, expected) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.py"
        bad.write_text("import runnerkey\nk = runnerkey.PrivateKey.generate()\n" + line)
        r = mypy("mypy", "--strict", "--no-incremental", str(bad))
        errors = [l for l in r.stdout.splitlines() if ": error:" in l]
        assert r.returncode == 1 and expected in r.stdout, (line, r.stdout)
        assert errors and all(f"bad{i}.py:3:" in l for l in errors), (line, r.stdout)
