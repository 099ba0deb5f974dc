"""The Python distribution scripts/build-wheel.sh makes (scripts/test.sh
builds it into target/dist and installs the wheel the other tests use):
a manylinux2014 wheel that auditwheel accepts, with the console command and
nothing stale, built from the sdist (so the sdist builds on its own)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from conftest import ROOT

DIST = Path(os.environ.get("RUNNERKEY_DIST", ROOT / "target" / "dist"))


def one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST} (scripts/build-wheel.sh {DIST}), found {found}"
    return found[0]


def test_wheel_is_manylinux2014_and_audited() -> None:
    wheel = one("runnerkey-*.whl")
    tags = wheel.name.removesuffix(".whl").split("-")[-1].split(".")
    assert "manylinux2014_x86_64" in tags and "manylinux_2_17_x86_64" in tags, wheel.name
    assert wheel.name.split("-")[2:4] == ["cp39", "abi3"], wheel.name
    audit = " ".join((DIST / "auditwheel.txt").read_text().split())
    assert 'consistent with the following platform tag: "manylinux_2_17_x86_64"' in audit, audit
    # An independent look at the symbols: no glibc symbol newer than 2.17.
    with zipfile.ZipFile(wheel) as z:
        so = next(n for n in z.namelist() if n.endswith(".so"))
        data = z.read(so)
    versions = {tuple(int(x) for x in v.split(b".")) for v in
                __import__("re").findall(rb"GLIBC_([0-9]+\.[0-9]+(?:\.[0-9]+)?)\x00", data)}
    assert versions and max(versions) <= (2, 17), sorted(versions)[-3:]


def test_wheel_contents_and_console_command() -> None:
    with zipfile.ZipFile(one("runnerkey-*.whl")) as z:
        names = set(z.namelist())
        dist_info = next(n.split("/")[0] for n in names if ".dist-info/" in n)
        entry_points = z.read(f"{dist_info}/entry_points.txt").decode()
    package = {n for n in names if n.startswith("runnerkey/")}
    assert package == {"runnerkey/__init__.py", "runnerkey/_cli.py", "runnerkey/_native.pyi",
                       "runnerkey/py.typed", "runnerkey/_native.abi3.so"}, sorted(package)
    assert "runnerkey=runnerkey._cli:main" in entry_points.replace(" ", "")


def test_the_wheel_is_built_from_the_sdist_and_installs_alone(tmp_path: Path) -> None:
    """scripts/build-wheel.sh builds the wheel from the unpacked sdist (as
    `python -m build` does), so the sdist alone builds the package every
    other test runs; the wheel installs into a fresh venv without an index
    and works."""
    sdist = one("runnerkey-*.tar.gz")
    with tarfile.open(sdist) as t:
        members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
    assert {"Cargo.lock", "pyproject.toml", "crates/runnerkey/src/lib.rs", "crates/runnerkey-cli/src/lib.rs",
            "python/runnerkey/_native.pyi"} <= members
    assert not any(m.startswith(("target/", ".venv/")) or m.endswith(".so") for m in members), sorted(members)[:20]
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    assert (DIST / "wheel-source.txt").read_text().split() == ["built", "from", sdist.name, "sha256", digest]
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    py = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-index", str(one("runnerkey-*.whl"))], check=True)
    ran = subprocess.run([str(tmp_path / "venv" / "bin" / "runnerkey"), "--version"], capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.startswith("runnerkey "), ran
    code = "import runnerkey; print(runnerkey.PrivateKey.generate().algorithm)"
    assert subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "ECDSA"


def test_no_build_output_in_git() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outputs = [p for p in tracked if p.endswith((".so", ".whl", ".tar.gz")) or p.startswith(("target/", ".venv/"))]
    assert outputs == [], outputs
