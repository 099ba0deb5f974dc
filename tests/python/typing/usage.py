"""A typed use of the runnerkey package, checked with `mypy --strict` by
test_typing.py: the stubs must let real code type-check."""

from __future__ import annotations

import datetime
from pathlib import Path

import runnerkey


def issue_for_runner(pki: Path, out: Path) -> tuple[str, int]:
    ca: runnerkey.CertificateAuthority = runnerkey.CertificateAuthority.load_dir(pki)
    key, cert = ca.issue(user="gitlab-admin", groups=["gitlab-runners"], algorithm="ecdsa-p256", days=90)
    key.write(out / "gitlab-admin.key")
    cert.write(out / "gitlab-admin.crt", overwrite=True)
    expires: datetime.datetime = cert.not_after
    report: runnerkey.VerifyReport = runnerkey.verify(ca.certificate, cert, key)
    problems: list[tuple[str, str]] = report.problems
    assert report.ok and not problems
    return expires.isoformat(), cert.days_left


def point_runner(config: Path, server: str, ssl: Path) -> list[str]:
    cfg = runnerkey.RunnerConfig.load(config)
    changed = cfg.set_kubernetes("my-runner", host=server, cert_file=ssl / "gitlab-admin.crt",
                                 key_file=ssl / "gitlab-admin.key", ca_file=str(ssl / "ca.crt"))
    saved = cfg.save(backup=True)
    if saved is not None:
        print(saved["backup"])
    for finding in cfg.lint("my-runner"):
        print(finding["code"])
    return changed


def manifests() -> str:
    m: runnerkey.Manifests = runnerkey.rbac(user="gitlab-admin", profile="executor", namespace="ci")
    return m.to_yaml()


def handle_errors(path: Path) -> str:
    try:
        runnerkey.RunnerConfig.load(path)
    except runnerkey.ConfigParseError as e:
        return f"{e.path}:{e.line}:{e.column}"
    except runnerkey.RunnerkeyError as e:
        return str(e)
    return "ok"
