"""runner-config set/show/lint against real-world configs, checked with
Python's tomllib and difflib rather than runnerkey's own parser."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import binary, fixture, ok, run

FIXTURES = sorted(p.name for p in fixture("runner-configs").glob("*.toml"))
SETTINGS = {
    "host": "https://10.20.30.40:6443",
    "cert_file": "/etc/ssl/kubernetes/gitlab-admin.crt",
    "key_file": "/etc/ssl/kubernetes/gitlab-admin.key",
    "ca_file": "/etc/ssl/kubernetes/ca.crt",
    "namespace": "gitlab-runner",
    "service_account": "gitlab-deployer",
}


def set_args(config: Path, **values: str) -> list[str]:
    args = ["runner-config", "set", "--config", str(config)]
    for k, v in values.items():
        args += [f"--{k.replace('_', '-')}", v]
    return args


def toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def snapshot(d: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(d.iterdir()) if p.is_file()}


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def key_of(line: str) -> str:
    return line.split("=", 1)[0].strip()


@pytest.mark.parametrize("name", FIXTURES)
def test_set_changes_only_the_intended_lines_and_is_idempotent(tmp_path: Path, name: str) -> None:
    if name == "gitlabhq_gitlab-runner_lint-wrong-section.toml":
        pass  # valid TOML with a misspelt table: still editable
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(fixture("runner-configs", name).read_bytes())
    before = cfg.read_text()
    ok(*set_args(cfg, **SETTINGS), "--runner-index", "0")
    after = cfg.read_text()
    removed, added = changed_lines(before, after)
    assert {key_of(l) for l in added} <= set(SETTINGS) | {"[runners.kubernetes]"}
    assert {key_of(l) for l in removed} <= set(SETTINGS)
    assert len(added) >= len(SETTINGS) - len(removed)
    data = toml(cfg)
    kube = data["runners"][0]["kubernetes"]
    for k, v in SETTINGS.items():
        assert kube[k] == v
    original = tomllib.loads(before)
    original_kube = original["runners"][0].get("kubernetes", {})
    assert {k: v for k, v in kube.items() if k not in SETTINGS} == {k: v for k, v in original_kube.items() if k not in SETTINGS}
    assert {k: v for k, v in data.items() if k != "runners"} == {k: v for k, v in original.items() if k != "runners"}
    backups = list(tmp_path.glob("config.toml.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == before
    state = snapshot(tmp_path)
    r = ok(*set_args(cfg, **SETTINGS), "--runner-index", "0")
    assert "unchanged" in r.out
    assert snapshot(tmp_path) == state


HANDWRITTEN = (
    "# Global settings\r\n"
    "concurrent = 4   # jobs at once\r\n"
    "\r\n"
    "# first runner: no kubernetes table yet\r\n"
    "[[runners]]\r\n"
    "  name = 'alpha'   # literal strings here\r\n"
    "  url = 'https://gitlab.example.com/'\r\n"
    "  token = 'glrt-alpha'\r\n"
    "  executor = 'kubernetes'\r\n"
    "  [runners.cache]\r\n"
    "    Type = 's3'\r\n"
    "\r\n"
    "# second runner: a table with comments\r\n"
    "[[runners]]\r\n"
    "  name = \"beta\"\r\n"
    "  executor = \"kubernetes\"\r\n"
    "  [runners.kubernetes]\r\n"
    "    # the API server\r\n"
    "    host = \"https://old:6443\"  # old address\r\n"
    "    namespace = \"beta\"\r\n"
    "    [runners.kubernetes.node_selector]\r\n"
    "      gitlab = \"true\"\r\n"
    "\r\n"
    "# third runner: inline table\r\n"
    "[[runners]]\r\n"
    "  name = \"gamma\"\r\n"
    "  executor = \"kubernetes\"\r\n"
    "  kubernetes = { namespace = \"gamma\", image = \"alpine\" }  # inline\r\n"
)


def test_handwritten_crlf_config_keeps_every_other_byte(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(HANDWRITTEN.encode())
    ok(*set_args(cfg, host="https://new:6443", namespace="alpha"), "--runner", "alpha")
    ok(*set_args(cfg, host="https://new:6443"), "--runner", "beta")
    ok(*set_args(cfg, host="https://gamma:6443", ca_file="/ca.crt"), "--runner", "gamma", "--unset", "namespace")
    out = cfg.read_bytes().decode()
    assert out.count("\n") == out.count("\r\n"), "LF introduced into a CRLF file"
    expected = (
        HANDWRITTEN.replace(
            "    Type = 's3'\r\n",
            "    Type = 's3'\r\n  [runners.kubernetes]\r\n    host = 'https://new:6443'\r\n    namespace = 'alpha'\r\n",
        )
        .replace('host = "https://old:6443"  # old address', 'host = "https://new:6443"  # old address')
        .replace(
            'kubernetes = { namespace = "gamma", image = "alpine" }  # inline',
            'kubernetes = { image = "alpine", host = "https://gamma:6443", ca_file = "/ca.crt" }  # inline',
        )
    )
    assert out == expected
    data = tomllib.loads(out)
    assert [r["kubernetes"].get("host") for r in data["runners"]] == ["https://new:6443"] * 2 + ["https://gamma:6443"]
    assert data["runners"][1]["kubernetes"]["node_selector"] == {"gitlab": "true"}


def test_dry_run_prints_diff_and_writes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(HANDWRITTEN.encode())
    token = tmp_path / "token"
    token.write_text("s3cr3t-bearer\n")
    state = snapshot(tmp_path)
    r = ok(*set_args(cfg, host="https://x:6443"), "--runner", "beta", "--bearer-token-file", token, "--dry-run")
    assert '-    host = "https://old:6443"' in r.out and '+    host = "https://x:6443"' in r.out
    assert "s3cr3t" not in r.out and "<redacted>" in r.out
    assert snapshot(tmp_path) == state


def test_show_hides_secrets_unless_asked(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml").read_bytes())
    r = ok("runner-config", "show", "--config", cfg, "--json")
    assert "glrt-<TOKEN>" not in r.out
    runners = json.loads(r.out)
    assert runners[0]["name"] == "test-runner" and runners[0]["token"] == "<redacted>"
    assert runners[0]["kubernetes"]["host"] == "http://localhost:9876/"
    assert "glrt-<TOKEN>" in ok("runner-config", "show", "--config", cfg, "--json", "--show-secrets").out
    assert "glrt" not in ok("runner-config", "show", "--config", cfg).out


def test_bad_input_changes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('concurrent = 1\n[[runners]]\n  name = "a"\n  url = "unterminated\n')
    state = snapshot(tmp_path)
    r = run(*set_args(bad, host="h"), "--runner", "a")
    assert r.code == 2 and "config.toml" in r.err and "line 4, column" in r.err
    r = run("runner-config", "lint", "--config", bad)
    assert r.code == 2 and "line 4" in r.err
    assert snapshot(tmp_path) == state

    good = tmp_path / "good.toml"
    good.write_text('[[runners]]\n  name = "a"\n[[runners]]\n  name = "b"\n[[runners]]\n  name = "a"\n')
    state = snapshot(tmp_path)
    r = run(*set_args(good, host="h"), "--runner", "zzz")
    assert r.code == 2 and '"zzz"' in r.err and '"a", "b", "a"' in r.err
    r = run(*set_args(good, host="h"), "--runner", "a")
    assert r.code == 2 and "indexes 0, 2" in r.err and "--runner-index" in r.err
    r = run(*set_args(good, host="h"), "--runner-index", "7")
    assert r.code == 2 and "out of range" in r.err
    r = run("runner-config", "set", "--config", good, "--runner", "b", "--unset", "hostt")
    assert r.code == 2 and "hostt" in r.err
    r = run("runner-config", "set", "--config", tmp_path / "missing.toml", "--runner", "b", "--host", "h")
    assert r.code == 2 and "missing.toml" in r.err
    assert snapshot(tmp_path) == state
    ok(*set_args(good, host="h"), "--runner-index", "2")
    assert [r.get("kubernetes", {}).get("host") for r in toml(good)["runners"]] == [None, None, "h"]


def test_sixteen_concurrent_editors_lose_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("concurrent = 16\n" + "".join(
        f'\n[[runners]]\n  name = "r{i}"\n  executor = "kubernetes"\n  [runners.kubernetes]\n    namespace = "ns{i}"\n'
        for i in range(16)
    ))
    procs = [
        subprocess.Popen([str(binary()), *set_args(cfg, host=f"https://api-{i}:6443"), "--runner", f"r{i}", "--no-backup"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(16)
    ]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert all(rc == 0 for _, _, rc in results), results
    data = toml(cfg)
    assert [r["kubernetes"]["host"] for r in data["runners"]] == [f"https://api-{i}:6443" for i in range(16)]
    assert [r["kubernetes"]["namespace"] for r in data["runners"]] == [f"ns{i}" for i in range(16)]
    assert not list(tmp_path.glob(".*.tmp"))


def test_mode_owner_and_symlink_survive(tmp_path: Path) -> None:
    real_dir = tmp_path / "etc"
    real_dir.mkdir()
    real = real_dir / "config.toml"
    real.write_text('[[runners]]\n  name = "a"\n  executor = "kubernetes"\n')
    real.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(real, 1234, 2345)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    ok(*set_args(link, host="https://h:6443"), "--runner", "a")
    assert link.is_symlink() and link.resolve() == real
    st = real.stat()
    assert st.st_mode & 0o7777 == 0o600
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (1234, 2345)
    backups = list(real_dir.glob("config.toml.*.bak"))
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600
    assert toml(real)["runners"][0]["kubernetes"]["host"] == "https://h:6443"


def lint(path: Path) -> tuple[int, list[dict]]:
    r = run("runner-config", "lint", "--config", path, "--json")
    assert r.code in (0, 1), r
    return r.code, json.loads(r.out)


def test_lint_finds_the_negative_fixtures_errors() -> None:
    code, findings = lint(fixture("runner-configs", "gitlabhq_gitlab-runner_lint-wrong-section.toml"))
    assert code == 1
    f = next(f for f in findings if f["code"] == "unknown-key")
    assert f["key"] == "runner" and f["line"] == 12 and "runners" in f["fix"] and f["severity"] == "error"
    code, findings = lint(fixture("runner-configs", "frsab_k8S-gitlab-runner-tls-self-signed-setup_values-runners-config.toml"))
    assert code == 1
    f = next(f for f in findings if f["code"] == "unknown-key")
    assert f["key"] == "runners.tls_verify" and f["runner"] == "my-runner" and f["line"] == 7
    code, findings = lint(fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml"))
    # host = "http://localhost:9876/": plain http is an error of its own.
    assert {f["code"] for f in findings} == {"host-without-ca-file", "empty-namespace", "empty-service-account",
                                             "insecure-host"}


def test_lint_near_miss_and_removed_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "a"\n  executor = "docker"\n  [runners.kubernetes]\n'
                   '    cert_fille = "/x"\n    terminationGracePeriodSeconds = 5\n    cert_file = "relative.crt"\n')
    code, findings = lint(cfg)
    by = {f["code"]: f for f in findings}
    assert code == 1
    assert "cert_file" in next(f for f in findings if f["key"] == "runners.kubernetes.cert_fille")["fix"]
    assert by["removed-key"]["line"] == 6
    assert "executor-not-kubernetes" in by


def test_lint_clean_config_with_real_files(tmp_path: Path) -> None:
    ok("ca", "init", "--out-dir", tmp_path / "pki", "--algorithm", "ecdsa-p256")
    ok("issue", "--ca-dir", tmp_path / "pki", "--user", "gitlab-admin", "--out-dir", tmp_path / "ssl")
    cfg = tmp_path / "config.toml"
    cfg.write_text('concurrent = 1\n\n[[runners]]\n  name = "k8s"\n  url = "https://gitlab.example.com/"\n'
                   '  token = "glrt-x"\n  executor = "kubernetes"\n')
    ssl = tmp_path / "ssl"
    ok(*set_args(cfg, host="https://10.0.0.1:6443", cert_file=str(ssl / "gitlab-admin.crt"),
                 key_file=str(ssl / "gitlab-admin.key"), ca_file=str(ssl / "ca.crt"),
                 namespace="gitlab", service_account="gitlab-deployer"), "--runner", "k8s")
    code, findings = lint(cfg)
    assert (code, findings) == (0, [])
    assert "no problems found" in ok("runner-config", "lint", "--config", cfg).out
    (ssl / "gitlab-admin.key").chmod(0o644)
    ok("ca", "init", "--out-dir", tmp_path / "other", "--algorithm", "ecdsa-p256")
    cfg.write_text(cfg.read_text().replace(str(ssl / "ca.crt"), str(tmp_path / "other" / "ca.crt")))
    code, findings = lint(cfg)
    assert code == 1
    # other/ca.key lies beside the new ca_file: the CA key on the runner host.
    assert {f["code"] for f in findings} == {"cert-not-trusted", "key-file-permissions", "ca-key-on-runner-host"}
