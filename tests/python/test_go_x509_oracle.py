"""runnerkey's reading of client certificates against Go's crypto/x509, the
code kube-apiserver authenticates them with (tests/go/oracle, `oracle
x509`): the user and groups pkix.Name reads from every string type and
subject shape, and x509.Verify with ExtKeyUsageClientAuth on chains that
are valid, expired (leaf, intermediate, anchor), for the wrong usage, not a
CA, signed with SHA-1, and so on. Where they differ, runnerkey is wrong."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import runnerkey
from test_go_pem_oracle import oracle  # noqa: F401  (the fixture that builds it)

from conftest import run

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)
KEY = ec.generate_private_key(ec.SECP256R1())


def der(c: x509.Certificate) -> str:
    return base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()


def cert(subject: x509.Name, issuer: x509.Certificate | None = None, issuer_key=None, *, ca: bool | None = False,
         eku: list | None = (ExtendedKeyUsageOID.CLIENT_AUTH,), start=NOW - DAY, end=NOW + 30 * DAY,
         hash_=hashes.SHA256(), key=None, extra: list | None = None) -> x509.Certificate:
    key = key or KEY
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer.subject if issuer else subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    for ext, critical in extra or []:
        b = b.add_extension(ext, critical)
    return b.sign(issuer_key or key, hash_)


def name(*attrs: tuple) -> x509.Name:
    out = []
    for a in attrs:
        if isinstance(a, list):
            out.append(x509.RelativeDistinguishedName([attribute(o, v, t) for o, v, t in a]))
        else:
            oid, value, *t = a
            out.append(x509.RelativeDistinguishedName([attribute(oid, value, t[0] if t else None)]))
    return x509.Name(out)


def attribute(oid, value: str, type_=None) -> x509.NameAttribute:
    """Without cryptography's own checks (an empty CN, say): Go is the judge."""
    import warnings

    if type_ is None:
        type_ = _ASN1Type.UTF8String
    with warnings.catch_warnings():
        # cryptography warns about the empty CN this builds on purpose.
        warnings.simplefilter("ignore", UserWarning)
        return x509.NameAttribute(oid, value, type_, _validate=False)


CN, O, OU = NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME
T = _ASN1Type


def subject_cases() -> list[tuple[str, x509.Name]]:
    cases = [
        ("plain", name((CN, "u"))),
        ("groups", name((CN, "u"), (O, "a"), (O, "b"))),
        ("two-cns", name((CN, "first"), (CN, "second"))),
        ("cn-after-o", name((O, "g"), (CN, "u"))),
        ("multi-valued", name([(CN, "u", None), (O, "g", None)])),
        ("ou-ignored", name((CN, "u"), (OU, "team"), (O, "g"))),
        ("empty-cn", name((CN, ""))),
        ("no-cn", name((O, "g"))),
        ("empty-subject", x509.Name([])),
        ("masters", name((CN, "u"), (O, "system:masters"))),
        ("newline", name((CN, "u\nv"))),
        ("nul", name((CN, "u\x00v"))),
        ("bidi", name((CN, "u\u202ev"))),
        ("unicode", name((CN, "ünïcødé"), (O, "グループ"))),
        ("spaces", name((CN, " u "), (O, " g"))),
        ("commas", name((CN, "a,b"), (O, "c+d"))),
        ("many-groups", name((CN, "u"), *[(O, f"g{i}") for i in range(40)])),
        ("dup-groups", name((CN, "u"), (O, "g"), (O, "g"))),
    ]
    for t in (T.PrintableString, T.IA5String, T.BMPString, T.UniversalString, T.T61String, T.VisibleString,
              T.UTF8String):
        cases.append((f"cn-{t.name}", name((CN, "runner-1", t))))
        cases.append((f"o-{t.name}", name((CN, "u"), (O, "team", t))))
    cases.append(("bmp-unicode", name((CN, "ünï", T.BMPString))))
    cases.append(("numeric", name((CN, "123", T.NumericString))))
    return cases


def chain_cases() -> list[tuple[str, list[x509.Certificate], list[x509.Certificate]]]:
    """(name, [leaf, intermediates…], [roots])"""
    rkey, ikey = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = cert(name((CN, "root")), ca=True, eku=None, key=rkey, end=NOW + 3650 * DAY)
    old_root = cert(name((CN, "old-root")), ca=True, eku=None, key=rkey, start=NOW - 400 * DAY, end=NOW - DAY)
    other = cert(name((CN, "other-root")), ca=True, eku=None, key=ikey)
    inter = cert(name((CN, "inter")), root, rkey, ca=True, eku=None, key=ikey)
    leaf = lambda issuer=root, ik=rkey, **kw: cert(name((CN, "u"), (O, "g")), issuer, ik, **kw)  # noqa: E731
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_root = cert(name((CN, "rsa-root")), ca=True, eku=None, key=rsa_key)
    return [
        ("valid", [leaf()], [root]),
        ("valid-via-intermediate", [leaf(inter, ikey), inter], [root]),
        ("intermediate-not-sent", [leaf(inter, ikey)], [root]),
        ("leaf-expired", [leaf(start=NOW - 60 * DAY, end=NOW - DAY)], [root]),
        ("leaf-not-yet-valid", [leaf(start=NOW + DAY, end=NOW + 60 * DAY)], [root]),
        ("root-expired", [leaf(old_root)], [old_root]),
        ("intermediate-expired", [leaf(inter2 := cert(name((CN, "inter2")), root, rkey, ca=True, eku=None, key=ikey,
                                                      start=NOW - 90 * DAY, end=NOW - DAY), ikey), inter2], [root]),
        ("no-eku", [leaf(eku=None)], [root]),
        ("server-auth-only", [leaf(eku=[ExtendedKeyUsageOID.SERVER_AUTH])], [root]),
        ("any-eku", [leaf(eku=[ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])], [root]),
        ("client-and-server", [leaf(eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])],
         [root]),
        ("intermediate-server-only", [leaf(i3 := cert(name((CN, "inter3")), root, rkey, ca=True, key=ikey,
                                                      eku=[ExtendedKeyUsageOID.SERVER_AUTH]), ikey), i3], [root]),
        ("intermediate-not-ca", [leaf(i4 := cert(name((CN, "inter4")), root, rkey, ca=False, eku=None, key=ikey),
                                      ikey), i4], [root]),
        ("intermediate-no-basic-constraints", [leaf(i5 := cert(name((CN, "inter5")), root, rkey, ca=None, eku=None,
                                                               key=ikey), ikey), i5], [root]),
        ("wrong-root", [leaf()], [other]),
        ("two-roots-one-right", [leaf()], [other, root]),
        ("leaf-is-ca", [leaf(ca=True)], [root]),
        ("sha512", [leaf(hash_=hashes.SHA512())], [root]),
        ("rsa-root", [cert(name((CN, "u")), rsa_root, rsa_key)], [rsa_root]),
        ("critical-unknown-extension", [leaf(extra=[(x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"), True)])], [root]),
        ("self-signed-leaf-as-root", [leaf(None, None)], [leaf(None, None)]),
    ]


def ask(oracle_bin: Path, cases: list[dict]) -> list[dict]:
    p = subprocess.run([str(oracle_bin), "x509"], input=json.dumps(cases), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_subjects_read_as_go_reads_them(oracle: Path) -> None:  # noqa: F811
    cases = subject_cases()
    certs = [cert(n, ca=None) for _, n in cases]
    go = ask(oracle, [{"leaf": der(c), "intermediates": [], "roots": [], "time": int(NOW.timestamp())}
                      for c in certs])
    wrong = []
    for (label, _), c, g in zip(cases, certs, go):
        pem = c.public_bytes(serialization.Encoding.PEM).decode()
        try:
            ours = runnerkey.Certificate.from_pem(pem)
        except runnerkey.RunnerkeyError as e:
            if not g.get("parse_error"):
                wrong.append(f"{label}: Go reads {g['user']!r} {g['groups']}, runnerkey refuses: {e}")
            continue
        if g.get("parse_error"):
            # Go cannot read it: the API server refuses the certificate, and
            # runnerkey's verdict must be a refusal too.
            checked = run("inspect", "-", input=pem)
            if "subject:" not in checked.out and checked.code == 0:
                wrong.append(f"{label}: Go refuses ({g['parse_error']}), runnerkey reads {ours.user!r}")
            continue
        if (ours.user, list(ours.groups)) != (g["user"], g["groups"]):
            wrong.append(f"{label}: Go {g['user']!r} {g['groups']}, runnerkey {ours.user!r} {list(ours.groups)}")
    assert not wrong, "\n".join(wrong)
    assert len(cases) >= 30


def test_client_chains_verify_as_go_verifies_them(oracle: Path, tmp_path: Path) -> None:  # noqa: F811
    cases = chain_cases()
    go = ask(oracle, [{"leaf": der(chain[0]), "intermediates": [der(c) for c in chain[1:]],
                       "roots": [der(r) for r in roots], "time": int(NOW.timestamp())}
                      for _, chain, roots in cases])
    wrong = []
    for (label, chain, roots), g in zip(cases, go):
        cf, rf = tmp_path / f"{label}.crt", tmp_path / f"{label}-ca.crt"
        cf.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        rf.write_bytes(b"".join(r.public_bytes(serialization.Encoding.PEM) for r in roots))
        r = run("verify", "--ca", rf, "--cert", cf)
        go_ok = not g.get("verify_error") and not g.get("parse_error")
        ours_ok = r.code == 0
        if go_ok != ours_ok:
            wrong.append(f"{label}: Go {'accepts' if go_ok else 'refuses: ' + g.get('verify_error', '')}, "
                         f"runnerkey {'accepts' if ours_ok else 'refuses: ' + r.out.strip().splitlines()[-1]}")
    assert not wrong, "\n".join(wrong)
    assert {bool(g.get("verify_error")) for g in go} == {True, False}
