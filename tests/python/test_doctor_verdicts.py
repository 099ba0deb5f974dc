"""doctor's verdicts where they used to differ from what the API server
(and kubectl, gitlab-runner) would do: an expired bearer token is expired
offline too, and a client certificate whose key cannot be loaded stops the
online check instead of checking system:anonymous."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from control_plane import ControlPlane
from conftest import ok, run


def jwt(claims: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'RS256'})}.{enc(claims)}.c2ln"


def test_an_expired_bearer_token_is_expired_offline(tmp_path: Path) -> None:
    now = int(time.time())
    cfg = tmp_path / "config.toml"
    for exp, expired in ((now - 3600, True), (now + 3600, False)):
        token = jwt({"sub": "system:serviceaccount:ci:runner", "iat": now - 7200, "exp": exp})
        cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                       f'host = "https://10.0.0.1:6443"\nnamespace = "ci"\nbearer_token = "{token}"\n')
        r = run("doctor", "--config", cfg, "--json")
        codes = [f["code"] for f in json.loads(r.out)["runners"][0]["findings"]]
        assert ("bearer-token-expired" in codes) == expired, (exp, codes)
        if expired:
            assert r.code == 1 and token not in r.out + r.err, "the token is never printed"
            status = json.loads(run("status", "--config", cfg, "--json").out)["runners"][0]
            assert status["expired"], "status says the same"


def test_an_unloadable_key_stops_the_online_check(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    ssl = tmp_path / "ssl"
    ok("issue", "--ca-dir", cp.pki, "--user", "gitlab-admin", "--out-dir", ssl)
    key = ssl / "gitlab-admin.key"
    # Encrypted with a passphrase the runner does not have.
    pem = load_pem_private_key(key.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"))
    key.write_bytes(pem)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                   f'host = "{cp.server}"\nnamespace = "ci"\ncert_file = "{ssl}/gitlab-admin.crt"\n'
                   f'key_file = "{key}"\nca_file = "{ssl}/ca.crt"\n')
    r = run("doctor", "--config", cfg, "--online", "--json")
    report = json.loads(r.out)["runners"][0]
    codes = [f["code"] for f in report["findings"]]
    assert r.code == 1 and "client-setup" in codes, codes
    assert report["authenticated_as"] is None and not report["permissions"], report
    assert "anonymous" not in " ".join(f["message"] for f in report["findings"] if f["code"] != "client-setup")
