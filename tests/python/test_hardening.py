"""Hostile and broken inputs end with a clear error (exit 2), never a
panic, a hang or a lost CA key."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conftest import ok, run


def test_user_ca_cannot_overwrite_the_ca_key(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    ok("ca", "init", "--out-dir", d)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    for extra in ([], ["--force"]):
        r = run("issue", "--ca-dir", d, "--user", "ca", "--out-dir", d, *extra)
        assert r.code == 2 and "reserved" in r.err, r
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_lifetimes_past_year_9999_are_refused_not_a_panic(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    ok("ca", "init", "--out-dir", d)
    for args in (["issue", "--ca-dir", d, "--user", "u", "--out-dir", tmp_path / "o", "--days", "3000000"],
                 ["ca", "init", "--out-dir", tmp_path / "ca2", "--days", "3000000"]):
        r = run(*args)
        assert r.code == 2 and "9999" in r.err and "panicked" not in r.err, r
    assert not (tmp_path / "o").exists() and not (tmp_path / "ca2").exists()


def test_fifo_and_device_inputs_end_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        start = time.monotonic()
        r = run("inspect", path)
        assert r.code == 2 and "not a regular file" in r.err, r
        assert time.monotonic() - start < 5
