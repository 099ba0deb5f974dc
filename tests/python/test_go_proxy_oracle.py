"""Which proxy, as Go decides it: tests/go/oracle/testdata/proxy.json holds
555 environments and URLs (golang.org/x/net/http/httpproxy's own test table,
and NO_PROXY entries an operator writes against API server URLs) with the
proxy Go's httpproxy — at v0.49.0, the version the pinned Kubernetes release
uses — chooses. runnerkey's Rust test (crates/runnerkey/src/proxy.rs) checks
every row; this test checks every row is still what Go says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from test_go_pem_oracle import oracle  # noqa: F401  (the fixture that builds it)

from conftest import ROOT

TABLE = ROOT / "tests" / "go" / "oracle" / "testdata" / "proxy.json"


def test_the_proxy_table_is_what_go_says(oracle: Path) -> None:  # noqa: F811
    table = json.loads(TABLE.read_text())
    assert len(table) >= 200, len(table)
    cases = [{k: row[k] for k in ("http_proxy", "https_proxy", "no_proxy", "url")} for row in table]
    p = subprocess.run([str(oracle), "proxy"], input=json.dumps(cases), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    go = json.loads(p.stdout)
    stale = [(c, row["go"], now) for c, row, now in zip(cases, table, go) if row["go"] != now]
    assert not stale, f"{len(stale)} rows differ from Go (regenerate with tests/go/oracle/make_proxy_table.py):" \
                      f"\n{stale[:10]}"
    # The table is not trivial: Go proxies some and connects others directly.
    assert {bool(r["go"]["proxy"]) for r in table} == {True, False}
