"""Shared helpers for the black-box and interop tests.

The tests drive the `runnerkey` binary (path from $RUNNERKEY_BIN, else the
workspace's target/debug build) and check its output with independent
implementations: the openssl CLI, Python `cryptography`, `tomllib`, JSON
schemas and kubectl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Identities setup pins (pin.rs) go to a state directory of the test run's
# own, never to the machine's /var/lib/runnerkey.
os.environ.setdefault("RUNNERKEY_STATE_DIR", tempfile.mkdtemp(prefix="runnerkey-state-"))
FIXTURES = ROOT / "tests" / "fixtures"


def binary() -> Path:
    env = os.environ.get("RUNNERKEY_BIN")
    path = Path(env) if env else ROOT / "target" / "debug" / "runnerkey"
    if not path.exists():
        pytest.fail(f"{path} does not exist: run `cargo build` first (scripts/test.sh does)")
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*args: object, cwd: Path | None = None, env: dict | None = None, input: str | None = None) -> Result:
    """Runs runnerkey with `args`; never raises on a non-zero exit."""
    p = subprocess.run(
        [str(binary()), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        input=input,
        timeout=120,
    )
    return Result(p.returncode, p.stdout, p.stderr)


def ok(*args: object, **kw) -> Result:
    """Runs runnerkey and asserts exit 0."""
    r = run(*args, **kw)
    assert r.code == 0, f"runnerkey {' '.join(map(str, args))} exited {r.code}\nstdout:\n{r.out}\nstderr:\n{r.err}"
    return r


def openssl(*args: object, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(["openssl", *map(str, args)], capture_output=True, input=input, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed:\n{p.stdout.decode()}\n{p.stderr.decode()}")
    return p


def fixture(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


def copy_fixture(name: str, dest: Path) -> Path:
    """Copies a PKI fixture, writable, with a private mode for keys."""
    target = dest / name
    shutil.copyfile(fixture("pki", name), target)
    target.chmod(0o600)
    return target


# The real control plane, for the tests that take it (imported last: it uses ROOT).
from control_plane import control_plane  # noqa: E402,F401
