"""kill -9 at random instants of `runner-config set`, `setup --force` and `renew`:
afterwards config.toml parses and is the old or the new text, and the key
and certificate it points at belong together."""

from __future__ import annotations

import random
import subprocess
import time
import tomllib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import binary, ok

KILLS = 60


def spawn_and_kill(args: list[object], rng: random.Random) -> None:
    p = subprocess.Popen([str(binary()), *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, 0.03))
    p.kill()
    p.wait()


def test_kill_during_config_set(tmp_path: Path) -> None:
    rng = random.Random(11)
    cfg = tmp_path / "config.toml"
    base = '# keep me\nconcurrent = 2\n\n[[runners]]\n  name = "k"\n  executor = "kubernetes"\n'
    cfg.write_text(base)
    seen = {base}
    for i in range(KILLS):
        before = cfg.read_text()
        spawn_and_kill(["runner-config", "set", "--config", cfg, "--runner", "k", "--namespace", f"ns{i}"], rng)
        after = cfg.read_text()
        ns = tomllib.loads(after)["runners"][0].get("kubernetes", {}).get("namespace")
        assert after == before or ns == f"ns{i}", (before, after)
        assert after.startswith("# keep me\n")
        seen.add(after)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    ok("runner-config", "set", "--config", cfg, "--runner", "k", "--namespace", "final")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")], leftovers
    assert len(seen) > 1


def public_key_der(pem: bytes, key: bool) -> bytes:
    k = serialization.load_pem_private_key(pem, None).public_key() if key else \
        x509.load_pem_x509_certificate(pem).public_key()
    return k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_kill_during_setup_force(tmp_path: Path) -> None:
    rng = random.Random(12)
    ok("ca", "init", "--out-dir", tmp_path / "cp", "--algorithm", "ecdsa-p256")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k"\n  executor = "kubernetes"\n')
    args = ["setup", "--ca-dir", tmp_path / "cp", "--server", "https://10.0.0.1:6443", "--runner", "k",
            "--config", cfg, "--out-dir", tmp_path / "ssl"]
    ok(*args)
    configured = cfg.read_text()
    changed = 0
    for _ in range(KILLS):
        old_key = (tmp_path / "ssl" / "gitlab-admin.key").read_bytes()
        spawn_and_kill([*args, "--force"], rng)
        assert cfg.read_text() == configured
        kube = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
        key, crt = Path(kube["key_file"]).read_bytes(), Path(kube["cert_file"]).read_bytes()
        assert public_key_der(key, True) == public_key_der(crt, False)
        changed += key != old_key
    assert changed > 0
    ok(*args, "--force")
    versions = [p for p in (tmp_path / "ssl" / ".runnerkey").iterdir() if p.name.startswith("v-")]
    assert len(versions) == 2, versions
    assert not [p for p in (tmp_path / "ssl").iterdir() if p.name.endswith((".tmp", ".tmp-link"))]


def test_kill_during_renew(tmp_path: Path) -> None:
    """`renew --force` killed at random instants: the paths config.toml
    names hold the old pair or the new one, never a key of one and the
    certificate of the other; config.toml is never touched."""
    rng = random.Random(7)
    ok("ca", "init", "--out-dir", tmp_path / "cp", "--algorithm", "ecdsa-p256")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k"\n  executor = "kubernetes"\n')
    ok("setup", "--ca-dir", tmp_path / "cp", "--server", "https://127.0.0.1:1", "--runner", "k",
       "--config", cfg, "--out-dir", tmp_path / "ssl", "-q")
    configured = cfg.read_bytes()
    args = ["renew", "--ca-dir", tmp_path / "cp", "--config", cfg, "--runner", "k", "--force", "--no-online"]
    changed = 0
    for _ in range(KILLS):
        kube = tomllib.loads(cfg.read_text())["runners"][0]["kubernetes"]
        old_key = Path(kube["key_file"]).read_bytes()
        spawn_and_kill(args, rng)
        assert cfg.read_bytes() == configured
        key, crt = Path(kube["key_file"]).read_bytes(), Path(kube["cert_file"]).read_bytes()
        assert public_key_der(key, True) == public_key_der(crt, False)
        changed += key != old_key
    assert changed > 0
    ok(*args)
    assert not [p for p in (tmp_path / "ssl").iterdir() if p.name.endswith((".tmp", ".tmp-link"))]


def test_kill_during_token_renew(tmp_path: Path) -> None:
    """`renew --force` of a token runner killed at random instants:
    config.toml parses and holds the old token or a new one that works."""
    from test_token_auth import CONFIG, cluster

    rng = random.Random(9)
    srv, kcs = cluster(tmp_path)
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(CONFIG)
        ok("setup", "--config", cfg, "--runner", "deploy", "--server", srv.url, "--out-dir", tmp_path / "ssl",
           "--auth", "token", "--kubeconfig", kcs["token-admin"], "--service-account", "runner", "-q")
        first = cfg.read_text()
        args = ["renew", "--config", cfg, "--runner", "deploy", "--kubeconfig", kcs["token-admin"], "--force",
                "--no-online"]
        tokens = set()
        for _ in range(KILLS // 3):
            spawn_and_kill(args, rng)
            text = cfg.read_text()
            token = tomllib.loads(text)["runners"][0]["kubernetes"]["bearer_token"]
            # Only the token line differs from the first config.
            old = tomllib.loads(first)["runners"][0]["kubernetes"]["bearer_token"]
            assert text == first.replace(old, token)
            tokens.add(token)
        ok(*args)
        import json
        check = json.loads(ok("doctor", "--config", cfg, "--online", "--json").out)["runners"][0]
        assert check["authenticated_as"]["username"] == "system:serviceaccount:gitlab-runner:runner"
    finally:
        srv.stop()
