"""runnerkey's PEM decoder against Go's own `encoding/pem`, step by step.

Kubernetes and kubectl read PEM with Go's `pem.Decode`, so what runnerkey
reads must be exactly what they read: the same blocks, the same headers, the
same bytes and the same rest (the `"x" + PEM(csr1) + PEM(csr2)` input, where
Go skips the first block and returns the second, is the attack this guards).

The oracle is tests/go/oracle (`oracle pem`), built here with the local Go
toolchain and called once for the whole corpus: a list of named PEM shapes
and seeded random mutations of a valid two-block document. For every input
both sides run Go's loop

    for { block, rest = pem.Decode(rest); record(block, rest); if block == nil { break } }

(`runnerkey.pem_decode(data) -> (PemBlock | None, rest)` on ours) and every
step is compared: type, headers, bytes and rest. The oracle answers every
byte string in base64 (types and header keys and values too), so a type or
header that is not UTF-8 is compared byte for byte, with runnerkey's str
encoded as UTF-8 with surrogateescape.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

import runnerkey
from conftest import FIXTURES, ROOT

ORACLE_SRC = ROOT / "tests" / "go" / "oracle"
MIN_SHAPES = 40
MUTATIONS = 200


# ---------------------------------------------------------------------------
# Real DER, deterministic: Ed25519 keys from fixed seeds, and Ed25519
# signatures are deterministic, so the corpus is the same bytes on every run.
# ---------------------------------------------------------------------------

def _key(seed: int) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _csr_der(cn: str, seed: int) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gitlab-runners")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(_key(seed), None)
    return csr.public_bytes(serialization.Encoding.DER)


def _cert_der() -> bytes:
    key = _key(9)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oracle-ca")])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    sans = [x509.DNSName(f"runner-{i}.example.com") for i in range(12)]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x1234_5678).not_valid_before(start).not_valid_after(start + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(key, None))
    return cert.public_bytes(serialization.Encoding.DER)


CSR1 = _csr_der("gitlab-admin", 1)
CSR2 = _csr_der("attacker", 2)
CERT = _cert_der()
SMALL = bytes(range(24))  # a short body: one base64 line


def b64lines(der: bytes, width: int = 64, eol: bytes = b"\n") -> bytes:
    """The base64 body as PEM writes it: `width` characters a line, each ended by `eol`."""
    text = base64.b64encode(der)
    return b"".join(text[i:i + width] + eol for i in range(0, len(text), width))


def pem(type_: bytes | str, der: bytes, headers: list[tuple[str, str]] | None = None, eol: bytes = b"\n",
        width: int = 64) -> bytes:
    t = type_.encode() if isinstance(type_, str) else type_
    head = b"".join(f"{k}: {v}".encode() + eol for k, v in headers or []) + (eol if headers else b"")
    return b"-----BEGIN " + t + b"-----" + eol + head + b64lines(der, width, eol) + b"-----END " + t + b"-----" + eol


P_CSR1 = pem("CERTIFICATE REQUEST", CSR1)
P_CSR2 = pem("CERTIFICATE REQUEST", CSR2)
P_CERT = pem("CERTIFICATE", CERT)
ENC_HEADERS = [("Proc-Type", "4,ENCRYPTED"), ("DEK-Info", "AES-128-CBC,0123456789ABCDEF0123456789ABCDEF")]


def _lines(doc: bytes) -> list[bytes]:
    return doc.split(b"\n")


def _body_line(doc: bytes, i: int, new: bytes) -> bytes:
    """`doc` with its i-th line (0 is the BEGIN line) replaced by `new`."""
    lines = _lines(doc)
    lines[i] = new
    return b"\n".join(lines)


def _named_shapes() -> list[tuple[str, bytes]]:
    c1 = P_CSR1
    c1_lines = _lines(c1)
    begin, end = c1_lines[0], c1_lines[-2]
    body = b"\n".join(c1_lines[1:-2]) + b"\n"
    one_line_body = base64.b64encode(CSR1) + b"\n"
    cases: list[tuple[str, bytes]] = [
        # plain documents
        ("csr", c1),
        ("certificate", P_CERT),
        ("empty_input", b""),
        ("only_newline", b"\n"),
        ("no_pem_at_all", b"hello world\nthis is not PEM\n"),
        ("fixtures_concatenated", b"".join(p.read_bytes() for p in sorted((FIXTURES / "pki").glob("*.pem")))),
        # text around and inside
        ("junk_before", b"some junk before\n" + c1),
        ("junk_before_with_dashes", b"----- not a header -----\n" + c1),
        ("junk_after", c1 + b"trailing junk\n"),
        ("junk_after_no_newline", c1 + b"trailing junk"),
        ("junk_line_inside_body_invalid_b64", _body_line(c1, 2, b"junk! inside")),
        ("junk_line_inside_body_valid_b64", _body_line(c1, 2, b"AAAA")),
        ("junk_appended_to_body_line", _body_line(c1, 1, c1_lines[1] + b"xyz")),
        ("begin_mid_line", b"x" + c1),
        ("attack_x_then_two_csrs", b"x" + c1 + P_CSR2),
        ("attack_space_then_two_csrs", b" " + c1 + P_CSR2),
        ("leading_blank_lines", b"\n\n\n" + c1),
        ("leading_crlf_blank_lines", b"\r\n\r\n" + c1),
        ("utf8_bom_before_begin", b"\xef\xbb\xbf" + c1),
        ("utf8_bom_then_two_csrs", b"\xef\xbb\xbf" + c1 + P_CSR2),
        # line endings
        ("crlf", pem("CERTIFICATE REQUEST", CSR1, eol=b"\r\n")),
        ("crlf_with_headers", pem("RSA PRIVATE KEY", SMALL, ENC_HEADERS, eol=b"\r\n")),
        ("mixed_crlf_lf", b"\n".join(ln + (b"\r" if i % 2 else b"") for i, ln in enumerate(c1_lines[:-1])) + b"\n"),
        ("crlf_begin_only", begin + b"\r\n" + body + end + b"\n"),
        ("cr_only_line_endings", pem("CERTIFICATE REQUEST", CSR1, eol=b"\r")),
        ("cr_only_then_lf_block", pem("CERTIFICATE REQUEST", CSR1, eol=b"\r") + b"\n" + P_CSR2),
        ("no_final_newline", c1[:-1]),
        ("end_line_ends_with_cr_at_eof", c1[:-1] + b"\r"),
        ("end_line_ends_with_cr_then_lf", c1[:-1] + b"\r\n"),
        ("end_line_ends_with_cr_space_at_eof", c1[:-1] + b"\r "),
        ("body_lines_with_cr_inside", _body_line(c1, 1, c1_lines[1][:10] + b"\r" + c1_lines[1][10:])),
        ("body_lines_crlf_only", begin + b"\n" + b64lines(CSR1, eol=b"\r\n") + end + b"\n"),
        # whitespace on the armour lines
        ("begin_trailing_spaces", begin + b"   \n" + body + end + b"\n"),
        ("begin_trailing_tabs", begin + b"\t\t\n" + body + end + b"\n"),
        ("end_trailing_spaces", begin + b"\n" + body + end + b"  \n"),
        ("end_trailing_tab_at_eof", begin + b"\n" + body + end + b"\t"),
        ("end_trailing_vertical_tab", begin + b"\n" + body + end + b"\x0b\n"),
        ("begin_trailing_form_feed", begin + b"\x0c\n" + body + end + b"\n"),
        ("begin_leading_space", b" " + c1),
        ("begin_space_before_dashes", b"-----BEGIN CERTIFICATE REQUEST -----\n" + body
         + b"-----END CERTIFICATE REQUEST -----\n"),
        ("begin_four_trailing_dashes", b"-----BEGIN CERTIFICATE REQUEST----\n" + body + end + b"\n"),
        ("begin_six_trailing_dashes", b"-----BEGIN CERTIFICATE REQUEST------\n" + body + end + b"\n"),
        ("end_line_trailing_junk", begin + b"\n" + body + end + b"junk\n"),
        ("end_line_trailing_junk_then_good_block", begin + b"\n" + body + end + b"junk\n" + P_CSR2),
        ("end_line_six_dashes", begin + b"\n" + body + end + b"-\n"),
        ("end_line_four_dashes", begin + b"\n" + body + end[:-1] + b"\n"),
        ("end_line_mid_line", begin + b"\n" + body + b"x" + end + b"\n"),
        ("end_marker_mid_body_line", _body_line(c1, 2, c1_lines[2][:8] + b"-----END CERTIFICATE REQUEST-----")),
        # headers
        ("headers_encrypted", pem("RSA PRIVATE KEY", SMALL, ENC_HEADERS)),
        ("headers_without_blank_line", b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
         b"DEK-Info: AES-128-CBC,00\n" + b64lines(SMALL) + b"-----END RSA PRIVATE KEY-----\n"),
        ("headers_no_body", b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n-----END X-----\n"),
        ("headers_blank_line_no_body", b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\n-----END X-----\n"),
        ("headers_duplicate_key", pem("X", SMALL, [("K", "first"), ("K", "second")])),
        ("headers_colons_in_value", pem("X", SMALL, [("K", "a:b:c"), ("Url", "http://h:1/p")])),
        ("headers_empty_key_and_value", b"-----BEGIN X-----\n:\n k :  \n\n" + b64lines(SMALL) + b"-----END X-----\n"),
        ("headers_whitespace_around", b"-----BEGIN X-----\n \tKey\t :\t value with  spaces \t\n\n"
         + b64lines(SMALL) + b"-----END X-----\n"),
        ("headers_unicode_whitespace_trimmed", b"-----BEGIN X-----\n\xc2\xa0Key\xe3\x80\x80: v\xc2\x85\n"
         b"K2:\xe2\x80\x8bzero-width\xe2\x80\x8b\n\n" + b64lines(SMALL) + b"-----END X-----\n"),
        ("headers_vertical_tab_form_feed", b"-----BEGIN X-----\n\x0bK\x0c: \x0bv\x0c\n\n" + b64lines(SMALL)
         + b"-----END X-----\n"),
        ("headers_not_utf8", b"-----BEGIN X-----\nK\xff: v\xfe\xc3\n\n" + b64lines(SMALL) + b"-----END X-----\n"),
        ("header_line_after_body", b"-----BEGIN X-----\n" + b64lines(SMALL) + b"K: v\n-----END X-----\n"),
        ("header_then_colon_in_body", b"-----BEGIN X-----\nK: v\n" + b64lines(SMALL)[:-1] + b":\n-----END X-----\n"),
        ("headers_crlf_no_blank_line", b"-----BEGIN X-----\r\nK: v\r\n" + b64lines(SMALL, eol=b"\r\n")
         + b"-----END X-----\r\n"),
        # pairs of blocks, and blocks that do not pair
        ("two_blocks", c1 + P_CERT),
        ("two_blocks_junk_between", c1 + b"junk between\n\n" + P_CERT),
        ("two_blocks_no_newline_between", c1[:-1] + P_CERT),
        ("two_blocks_same_line", c1[:-1] + b" " + P_CERT),
        ("mismatched_end_type", begin + b"\n" + body + b"-----END CERTIFICATE-----\n"),
        ("mismatched_end_type_then_good_block", begin + b"\n" + body + b"-----END CERTIFICATE-----\n" + P_CSR2),
        ("end_type_prefix_of_begin_type", b"-----BEGIN CERTIFICATES-----\n" + body + b"-----END CERTIFICATE-----\n"),
        ("end_type_longer_than_begin", b"-----BEGIN CERT-----\n" + body + b"-----END CERTIFICATE-----\n"),
        ("end_without_begin", body + end + b"\n"),
        ("end_without_begin_then_block", body + end + b"\n" + P_CSR2),
        ("begin_without_end", begin + b"\n" + body),
        ("begin_without_end_then_block", begin + b"\n" + body + P_CSR2),
        ("repeated_begin_lines", begin + b"\n" + begin + b"\n" + begin + b"\n" + body + end + b"\n"),
        ("repeated_begin_other_types", b"-----BEGIN A-----\n-----BEGIN B-----\n" + body + b"-----END B-----\n"),
        ("nested_blocks", b"-----BEGIN A-----\n" + pem("B", SMALL) + b"-----END A-----\n"),
        ("many_begin_lines", (begin + b"\n") * 500 + body + end + b"\n"),
        ("many_end_lines", c1 + (end + b"\n") * 200),
        # bodies
        ("empty_body", b"-----BEGIN X-----\n-----END X-----\n"),
        ("empty_body_no_newline", b"-----BEGIN X-----\n-----END X-----"),
        ("empty_body_blank_line", b"-----BEGIN X-----\n\n-----END X-----\n"),
        ("empty_body_crlf", b"-----BEGIN X-----\r\n-----END X-----\r\n"),
        ("body_only_spaces", b"-----BEGIN X-----\n  \t \n-----END X-----\n"),
        ("body_spaces_and_tabs_inside", _body_line(c1, 1, b" " + c1_lines[1][:20] + b" \t " + c1_lines[1][20:] + b"\t")),
        ("body_indented_lines", begin + b"\n" + b"".join(b"    " + ln + b"\n" for ln in c1_lines[1:-2]) + end + b"\n"),
        ("invalid_base64_char", _body_line(c1, 1, c1_lines[1][:5] + b"*" + c1_lines[1][6:])),
        ("base64url_chars", b"-----BEGIN X-----\n" + base64.urlsafe_b64encode(b"\xfb\xff\xbf" * 8) + b"\n-----END X-----\n"),
        ("base64_missing_padding", b"-----BEGIN X-----\nAAA\n-----END X-----\n"),
        ("base64_one_char", b"-----BEGIN X-----\nA\n-----END X-----\n"),
        ("base64_too_much_padding", b"-----BEGIN X-----\nAA===\n-----END X-----\n"),
        ("base64_single_pad", b"-----BEGIN X-----\nAA=\n-----END X-----\n"),
        ("base64_padding_split_across_lines", b"-----BEGIN X-----\nAA=\n=\n-----END X-----\n"),
        ("base64_noncanonical_trailing_bits", b"-----BEGIN X-----\nAB==\n-----END X-----\n"),
        ("base64_noncanonical_trailing_bits_one_pad", b"-----BEGIN X-----\nAAB=\n-----END X-----\n"),
        ("base64_pad_in_middle", b"-----BEGIN X-----\nAA==AAAA\n-----END X-----\n"),
        ("base64_pad_at_line_end_then_more", b"-----BEGIN X-----\nAA==\nAAAA\n-----END X-----\n"),
        ("base64_only_padding", b"-----BEGIN X-----\n====\n-----END X-----\n"),
        ("base64_unpadded_line_breaks", b"-----BEGIN X-----\nAA\nAA\n-----END X-----\n"),
        ("very_long_line", b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(CERT * 20) + b"\n-----END CERTIFICATE-----\n"),
        ("short_lines", pem("CERTIFICATE REQUEST", CSR1, width=3)),
        # types
        ("lowercase_armour", c1.replace(b"BEGIN", b"begin").replace(b"END", b"end")),
        ("lowercase_type", pem("certificate request", CSR1)),
        ("type_with_spaces", pem("RSA PRIVATE KEY", SMALL)),
        ("type_with_dashes_inside", pem("A-----B", SMALL)),
        ("type_with_colon", pem("A: B", SMALL)),
        ("empty_type", b"-----BEGIN -----\n" + b64lines(SMALL) + b"-----END -----\n"),
        ("empty_type_no_space", b"-----BEGIN-----\n" + b64lines(SMALL) + b"-----END-----\n"),
        ("type_only_dashes", b"-----BEGIN ----------\n" + b64lines(SMALL) + b"-----END ----------\n"),
        ("type_with_trailing_space", pem("X ", SMALL)),
        ("type_with_tab_inside", pem("A\tB", SMALL)),
        ("type_not_utf8", pem(b"\xff\xfeTYPE\xc3", SMALL)),
        ("type_utf8_non_ascii", pem("ZERTIFIKAT \xe4\xf6\xfc \u2603", SMALL)),
        # NUL bytes
        ("nul_before_begin", b"\x00\x00\n" + c1),
        ("nul_in_type", pem(b"A\x00B", SMALL)),
        ("nul_in_body", _body_line(c1, 1, c1_lines[1][:10] + b"\x00" + c1_lines[1][10:])),
        ("nul_after_end", c1 + b"\x00"),
        ("nul_in_header", b"-----BEGIN X-----\nK\x00: v\x00\n\n" + b64lines(SMALL) + b"-----END X-----\n"),
        # a one-line body, as some tools write it
        ("one_line_body", begin + b"\n" + one_line_body + end + b"\n"),
    ]
    return cases


def _mutations(n: int) -> list[tuple[str, bytes]]:
    """`n` distinct seeded mutations (1-3 single-byte inserts, deletes or
    replacements among `-\\n\\r \\tAB=:x`) of a valid two-block document,
    half of them aimed near the armour lines and line ends where the parser
    decides the most."""
    doc = P_CSR1 + pem("TEST BLOCK", SMALL, ENC_HEADERS)
    alphabet = b"-\n\r \tAB=:x"
    hot = sorted({i for i, c in enumerate(doc) if c in b"-:\n"})
    rng = random.Random(1234)
    seen: set[bytes] = {doc}
    out: list[tuple[str, bytes]] = []
    while len(out) < n:
        data = bytearray(doc)
        ops = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                pos = min(max(rng.choice(hot) + rng.randint(-2, 2), 0), len(data))
            else:
                pos = rng.randint(0, len(data))
            op = rng.choice("idr")
            byte = rng.choice(alphabet)
            if op == "i":
                data.insert(pos, byte)
            elif pos < len(data):
                if op == "d":
                    del data[pos]
                else:
                    data[pos] = byte
            ops.append(f"{op}{pos}" + (f"x{byte:02x}" if op != "d" else ""))
        if bytes(data) not in seen:
            seen.add(bytes(data))
            out.append((f"mutation_{len(out):03d}_{'_'.join(ops)}", bytes(data)))
    return out


SHAPES = _named_shapes()
CASES = SHAPES + _mutations(MUTATIONS)
CASE_DATA = dict(CASES)


# ---------------------------------------------------------------------------
# The oracle: built once, called once.
# ---------------------------------------------------------------------------

def _go() -> str | None:
    return os.environ.get("GO") or shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = _go()
    if go is None:
        pytest.fail("`go` is not installed (not on PATH, not at /usr/local/go/bin/go, $GO unset): "
                    f"the PEM differential needs Go to build its oracle ({ORACLE_SRC})")
    out = tmp_path_factory.mktemp("go-oracle") / "oracle"
    # std only: no network; GOTOOLCHAIN=local fails plainly instead of downloading a toolchain
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod -buildvcs=false"}
    try:
        p = subprocess.run([go, "build", "-o", str(out), "."], cwd=ORACLE_SRC, env=env,
                           capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"building the Go oracle failed: {e}")
    if p.returncode != 0 or not out.exists():
        pytest.fail(f"`{go} build` of the Go oracle in {ORACLE_SRC} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return out


def _unb64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


Step = tuple[tuple[bytes, tuple[tuple[bytes, bytes], ...], bytes] | None, bytes]


@pytest.fixture(scope="module")
def go_steps(oracle: Path) -> dict[str, list[Step]]:
    request = json.dumps([base64.b64encode(data).decode() for _, data in CASES])
    p = subprocess.run([str(oracle), "pem"], input=request.encode(), capture_output=True, timeout=120)
    if p.returncode != 0:
        pytest.fail(f"the Go oracle exited {p.returncode}:\n{p.stderr.decode(errors='replace')}")
    answer = json.loads(p.stdout)
    assert len(answer) == len(CASES), f"the oracle answered {len(answer)} of {len(CASES)} inputs"
    out: dict[str, list[Step]] = {}
    for (name, _), steps in zip(CASES, answer):
        out[name] = [
            (None if s["block"] is None else (
                _unb64(s["block"]["type"]),
                tuple(sorted((_unb64(k), _unb64(v)) for k, v in s["block"]["headers"].items())),
                _unb64(s["block"]["bytes"]),
            ), _unb64(s["rest"]))
            for s in steps
        ]
    return out


# ---------------------------------------------------------------------------
# runnerkey's side, and the comparison
# ---------------------------------------------------------------------------

def _text(s: object) -> bytes | object:
    """A str as the bytes Go holds: UTF-8, with surrogateescape for bytes that are not UTF-8."""
    return s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s


def runnerkey_steps(data: bytes) -> list[Step]:
    steps: list[Step] = []
    rest = data
    while True:
        block, rest = runnerkey.pem_decode(rest)
        if block is None:
            steps.append((None, rest))
            break
        headers = block.headers
        steps.append(((
            _text(block.type),
            tuple(sorted((_text(k), _text(v)) for k, v in headers.items())) if isinstance(headers, dict) else headers,
            block.bytes,
        ), rest))
        if len(steps) > len(data) + 1:  # every block consumes at least one byte
            steps.append((None, b"<runnerkey.pem_decode did not stop: rest never shrank>"))
            break
    return steps


def _short(b: object, limit: int = 160) -> str:
    """bytes as their length, a digest (two long values that differ late still look different) and a prefix."""
    if not isinstance(b, bytes):
        return f"{type(b).__name__} {b!r}"[:limit]
    r = repr(b)
    return f"{len(b)} bytes sha256:{hashlib.sha256(b).hexdigest()[:12]} {r[:limit]}{'...' if len(r) > limit else ''}"


def _show(steps: list[Step]) -> str:
    lines = []
    for i, (block, rest) in enumerate(steps):
        if block is None:
            lines.append(f"  step {i}: block None, rest {_short(rest)}")
        else:
            t, headers, body = block
            lines.append(f"  step {i}: type {t!r}, headers {headers!r}, bytes {_short(body, 80)}, rest {_short(rest)}")
    return "\n".join(lines)


def _first_difference(ours: list[Step], go: list[Step]) -> str:
    for i, (a, b) in enumerate(zip(ours, go)):
        if a == b:
            continue
        (ab, ar), (gb, gr) = a, b
        if (ab is None) != (gb is None):
            return f"step {i}: runnerkey {'found no block' if ab is None else 'found a block'}, Go did not"
        if ab is not None and gb is not None:
            for what, x, y in zip(("type", "headers", "bytes"), ab, gb):
                if x != y:
                    return f"step {i}: {what} differs"
        return f"step {i}: rest differs"
    return f"runnerkey took {len(ours)} steps, Go {len(go)}"


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_pem_decode_matches_go(name: str, go_steps: dict[str, list[Step]]) -> None:
    data = CASE_DATA[name]
    go = go_steps[name]
    try:
        ours = runnerkey_steps(data)
    except Exception as e:  # noqa: BLE001 - Go's Decode never fails; neither may ours
        pytest.fail(f"[{name}] runnerkey.pem_decode raised {type(e).__name__}: {e}\n"
                    f"input: {_short(data, 400)}\nGo's steps:\n{_show(go)}")
    if ours != go:
        pytest.fail(f"[{name}] runnerkey.pem_decode differs from Go's pem.Decode: {_first_difference(ours, go)}\n"
                    f"input: {_short(data, 400)}\nrunnerkey's steps:\n{_show(ours)}\nGo's steps:\n{_show(go)}")


def test_corpus_summary(go_steps: dict[str, list[Step]], capsys: pytest.CaptureFixture[str]) -> None:
    names = [name for name, _ in CASES]
    assert len(set(names)) == len(names), "case names must be unique"
    shapes = {data for _, data in SHAPES}
    assert len(shapes) >= MIN_SHAPES, f"only {len(shapes)} distinct named PEM shapes, want >= {MIN_SHAPES}"
    assert len(shapes) == len(SHAPES), "two named shapes are the same bytes"
    blocks = sum(block is not None for steps in go_steps.values() for block, _ in steps)
    assert len(go_steps) == len(CASES)
    # the corpus must exercise both outcomes: blocks found and inputs without one
    assert blocks > 0 and any(steps[0][0] is None for steps in go_steps.values())
    with capsys.disabled():
        print(f"\nGo PEM oracle: {len(CASES)} cases compared by test_pem_decode_matches_go "
              f"({len(shapes)} named shapes + {len(CASES) - len(SHAPES)} mutations), "
              f"{sum(map(len, go_steps.values()))} Go steps, {blocks} blocks")
