"""A bearer token's claims as kube-apiserver reads them (tests/go/oracle,
`oracle jwt`: gopkg.in/go-jose/go-jose.v2's jwt, the version the pinned
release uses) against what runnerkey reads from it for `status`, renewal
due dates and `doctor` (the subject, iat and exp): where Go reads claims,
runnerkey reads the same ones; where Go cannot parse the token, runnerkey
says the token cannot be judged — never a date Go would not see."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

from test_go_pem_oracle import oracle  # noqa: F401  (the fixture that builds it)

from conftest import run

NOW = int(time.time())
SUB = "system:serviceaccount:ci:runner"


def b64(data: bytes, pad: bool = False) -> str:
    s = base64.urlsafe_b64encode(data).decode()
    return s if pad else s.rstrip("=")


def token(payload: str | bytes, header: str = '{"alg":"RS256","kid":"k"}', sig: str = "c2ln", pad: bool = False) -> str:
    p = payload if isinstance(payload, bytes) else payload.encode()
    return f"{b64(header.encode(), pad)}.{b64(p, pad)}.{sig}"


def cases() -> list[tuple[str, str]]:
    ok = f'{{"sub":"{SUB}","iat":{NOW - 60},"exp":{NOW + 3600}}}'
    return [
        ("plain", token(ok)),
        ("padded", token(ok, pad=True)),
        ("float-exp", token(f'{{"sub":"{SUB}","iat":{NOW - 60}.5,"exp":{NOW + 3600}.9}}')),
        ("exponent-exp", token(f'{{"sub":"{SUB}","exp":1.9e9}}')),
        ("string-exp", token(f'{{"sub":"{SUB}","exp":"{NOW + 3600}"}}')),
        ("null-exp", token(f'{{"sub":"{SUB}","exp":null}}')),
        ("no-exp", token(f'{{"sub":"{SUB}","iat":{NOW}}}')),
        ("no-iat", token(f'{{"sub":"{SUB}","exp":{NOW + 60}}}')),
        ("expired", token(f'{{"sub":"{SUB}","iat":{NOW - 7200},"exp":{NOW - 3600}}}')),
        ("negative-exp", token(f'{{"sub":"{SUB}","exp":-5}}')),
        ("upper-case-keys", token(f'{{"SUB":"{SUB}","EXP":{NOW + 3600}}}')),
        ("duplicate-exp", token(f'{{"sub":"{SUB}","exp":1,"exp":{NOW + 3600}}}')),
        ("sub-number", token(f'{{"sub":5,"exp":{NOW + 60}}}')),
        ("aud-string", token(f'{{"sub":"{SUB}","aud":"x","exp":{NOW + 60}}}')),
        ("aud-list", token(f'{{"sub":"{SUB}","aud":["x","y"],"exp":{NOW + 60}}}')),
        ("nested-kubernetes-claims", token(f'{{"sub":"{SUB}","kubernetes.io":{{"namespace":"ci"}},"exp":{NOW + 60}}}')),
        ("whitespace-in-json", token(f' {{ "sub" : "{SUB}" , "exp" : {NOW + 60} }} ')),
        ("not-json", token("hello")),
        ("json-array", token("[1,2]")),
        ("empty-payload", token("")),
        ("two-segments", token(ok).rsplit(".", 1)[0]),
        ("four-segments", token(ok) + ".x"),
        ("five-segments", ".".join([token(ok)] + ["x", "y"])),
        ("std-base64-chars", token(ok).replace("-", "+").replace("_", "/") + "+/"),
        ("alg-none", token(ok, header='{"alg":"none"}')),
        ("no-alg", token(ok, header='{"kid":"k"}')),
        ("bad-header", token(ok, header="nope")),
        ("empty-signature", token(ok, sig="")),
        ("utf8-sub", token(f'{{"sub":"system:serviceaccount:ci:rünner","exp":{NOW + 60}}}')),
        ("escaped-sub", token(f'{{"sub":"system:serviceaccount:ci:\\u0072unner","exp":{NOW + 60}}}')),
        ("huge-exp", token(f'{{"sub":"{SUB}","exp":1e30}}')),
        ("trailing-garbage-json", token(f'{{"sub":"{SUB}","exp":{NOW + 60}}}x')),
    ]


def ours(tmp: Path, name: str, tok: str) -> dict:
    cfg = tmp / f"{name}.toml"
    cfg.write_text('[[runners]]\nname = "r"\nexecutor = "kubernetes"\n[runners.kubernetes]\n'
                   f'host = "https://10.0.0.1:6443"\nbearer_token = {json.dumps(tok)}\n')
    r = run("status", "--config", cfg, "--json")
    assert r.code in (0, 1), r
    return json.loads(r.out)["runners"][0]


def rfc3339(secs: int) -> str:
    import datetime as dt
    t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=secs)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_token_claims_read_as_kube_apiserver_reads_them(oracle: Path, tmp_path: Path) -> None:  # noqa: F811
    cs = cases()
    p = subprocess.run([str(oracle), "jwt"], input=json.dumps([t for _, t in cs]), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    go = json.loads(p.stdout)
    wrong = []
    for (name, tok), g in zip(cs, go):
        s = ours(tmp_path, name, tok)
        if g.get("error"):
            # Not a token the service-account authenticator takes: runnerkey
            # reads no claims from it (an opaque token) or says it cannot.
            if s["problem"] is None and (s["user"] is not None or s["not_after"] is not None):
                wrong.append(f"{name}: Go cannot parse it ({g['error']}), runnerkey reads it: {s}")
            continue
        if g["exp"] is not None and not -62135596800 <= g["exp"] < 253402300800:
            # A time no API server can use (Go's int64 of 1e30): a problem.
            if s["problem"] is None:
                wrong.append(f"{name}: Go reads exp {g['exp']}, runnerkey sees no problem")
            continue
        if s["problem"] is not None and "expired" not in s["problem"]:
            wrong.append(f"{name}: Go reads {g}, runnerkey cannot: {s['problem']}")
            continue
        if (s["user"] or "") != g["sub"]:
            wrong.append(f"{name}: sub Go {g['sub']!r}, runnerkey {s['user']!r}")
        exp = rfc3339(g["exp"]) if g["exp"] is not None else None
        if g["exp"] is not None and s["not_after"] != exp:
            wrong.append(f"{name}: exp Go {exp}, runnerkey {s['not_after']}")
    assert not wrong, "\n".join(wrong)
