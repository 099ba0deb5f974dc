#!/usr/bin/env python3
"""The runnerkey crate's public API as a sorted list of `kind path` lines,
read from rustdoc's item index (`target/doc/runnerkey/all.html`, made by
`cargo doc -p runnerkey --no-deps`), so that API changes show up in review
as changes to docs/public-api.txt.

Usage: python3 scripts/public_api.py [--check]
  without --check: (re)writes docs/public-api.txt
  with --check:    exits 1 when the checked-in list differs
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "target" / "doc" / "runnerkey" / "all.html"
LISTING = ROOT / "docs" / "public-api.txt"


def items() -> list[str]:
    text = INDEX.read_text()
    out = []
    for section, body in re.findall(r'<h3 id="([a-z-]+)">[^<]*</h3>\s*<ul class="all-items">(.*?)</ul>', text, re.S):
        for href in re.findall(r'<a href="([^"]+)"', body):
            parts = href.split("/")
            kind, name = parts[-1].removesuffix(".html").split(".", 1)
            out.append(f"{kind} runnerkey::{'::'.join([*parts[:-1], name])}")
    return sorted(set(html.unescape(i) for i in out))


def main() -> int:
    if not INDEX.exists():
        print(f"{INDEX} is missing: run `cargo doc -p runnerkey --no-deps` first", file=sys.stderr)
        return 2
    listing = "".join(f"{i}\n" for i in items())
    if "--check" in sys.argv:
        if LISTING.read_text() != listing:
            print("docs/public-api.txt differs from the crate's public API: "
                  "review the change, then run `python3 scripts/public_api.py`", file=sys.stderr)
            return 1
        return 0
    LISTING.write_text(listing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
