#!/usr/bin/env python3
"""Writes docs/cli.md from the `runnerkey` binary's own --help, so the CLI
reference cannot drift from the CLI (tests/python/test_docs.py runs this
with --check).

Usage: python3 scripts/cli_docs.py [--check] [--bin PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli.md"

HEADER = """# runnerkey CLI reference

Generated from `runnerkey --help` by `scripts/cli_docs.py`; a test fails
when this file and the binary disagree. Regenerate with
`python3 scripts/cli_docs.py`.

Exit codes for every command: **0** success, **1** a check found problems
(`verify`, `runner-config lint`, `doctor`, and `setup` when its final offline
doctor finds errors), **2** usage or input error (`runnerkey: <message>` on
stderr; no file written or changed).

Conventions: `-` as a file argument is standard input (inputs) or standard
output (public outputs), and is refused with a message where the output
holds a private key or a file is edited in place — never a file named `-`.
Text from certificates, configs and API objects is escaped before it
reaches the terminal. The symbols ✓ ✗ → — are printed as `+ x -> --` when
the locale (`LC_ALL`, `LC_CTYPE`, `LANG`) is not UTF-8. runnerkey prints no
colours; the one animation, `issue --batch`'s progress bar, is drawn only
when standard error is a terminal. `-q` (any command) leaves the exit
status, data asked for (`-o json|yaml`, manifests, PEM to `-`) and errors:
no text for people, no warnings, no progress bar. Shell completions:
`runnerkey completion bash|zsh|fish|powershell|elvish`; manual page:
`runnerkey man`.

"""


def help_text(binary: str, path: list[str]) -> str:
    out = subprocess.run([binary, *path, "--help"], capture_output=True, text=True, check=True).stdout
    return out.rstrip() + "\n"


def subcommands(text: str) -> list[str]:
    m = re.search(r"^Commands:\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    if not m:
        return []
    names = [line.split()[0] for line in m.group(1).splitlines() if line.startswith("  ") and line.split()]
    return [n for n in names if n != "help"]


def render(binary: str) -> str:
    parts = [HEADER]
    queue: list[list[str]] = [[]]
    while queue:
        path = queue.pop(0)
        text = help_text(binary, path)
        title = " ".join(["runnerkey", *path])
        parts.append(f"## `{title}`\n\n```text\n{text}```\n\n")
        queue.extend([*path, sub] for sub in subcommands(text))
    return "".join(parts).rstrip() + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--bin", default=str(ROOT / "target" / "debug" / "runnerkey"))
    args = ap.parse_args()
    text = render(args.bin)
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print("docs/cli.md differs from runnerkey --help: run python3 scripts/cli_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
