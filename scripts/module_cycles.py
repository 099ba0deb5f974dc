#!/usr/bin/env python3
"""Import cycles between the top-level modules of a crate.

Builds the module graph of a crate's `src/` from its `crate::…` paths
(`use crate::a::…`, `use crate::{a, b::…}`, `crate::a::f()` in code; a name
the crate root re-exports, `crate::Error`, counts as the module it comes
from) and prints its strongly connected components of more than one module:
each is a set of modules that all depend on each other, which can only be
understood, tested and changed as one.

A node is a top-level module (`src/a.rs`, `src/a/…`): what a module's own
files say of each other (`super::`) is its own business. Test code
(`tests.rs`, `#[cfg(test)] mod tests`) is left out: a test may use any
module without making the library's layers depend on each other.

    python3 scripts/module_cycles.py [CRATE_SRC ...]   (default: the core)

Exit status 1 when there is a cycle, 0 otherwise; `--json` prints the
components as JSON.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(text: str) -> str:
    """The code without comments, string literals and test modules."""
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+" + IDENT + r"\s*\{", text)
    if cut:
        text = text[: cut.start()]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def module_of(src: Path, file: Path) -> str | None:
    rel = file.relative_to(src)
    if rel.parts[0] in ("lib.rs", "main.rs"):
        return None
    return rel.parts[0].removesuffix(".rs")


def group_heads(text: str, start: int) -> list[str]:
    """The first segment of each item of the `{…}` group opening at `start`."""
    depth, item, heads = 0, "", []
    for ch in text[start:]:
        if ch == "{":
            depth += 1
            if depth == 1:
                continue
        elif ch == "}":
            depth -= 1
            if depth == 0:
                heads.append(item)
                break
        if depth == 1 and ch == ",":
            heads.append(item)
            item = ""
        elif depth >= 1:
            item += ch
    return [m.group(0) for h in heads if (m := re.match(IDENT, h.strip()))]


def reexports(src: Path) -> dict[str, str]:
    """Names the crate root re-exports, and the module each comes from."""
    names: dict[str, str] = {}
    root = src / "lib.rs" if (src / "lib.rs").exists() else src / "main.rs"
    text = strip(root.read_text())
    for m in re.finditer(r"pub(?:\(crate\))?\s+use\s+(" + IDENT + r")::", text):
        module, rest = m.group(1), text[m.end():]
        if rest.startswith("{"):
            for name in group_heads(rest, 0):
                names[name] = module
        elif n := re.match(IDENT, rest):
            names[n.group(0)] = module
    return names


def graph(src: Path) -> dict[str, set[str]]:
    modules = {module_of(src, f) for f in src.rglob("*.rs")} - {None}
    names = reexports(src)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for file in sorted(src.rglob("*.rs")):
        module = module_of(src, file)
        if module is None or file.name == "tests.rs":
            continue
        text = strip(file.read_text())
        targets: list[str] = []
        for m in re.finditer(r"\bcrate::", text):
            rest = text[m.end():]
            if rest.startswith("{"):
                targets += group_heads(rest, 0)
            elif n := re.match(IDENT, rest):
                targets.append(n.group(0))
        for t in targets:
            t = t if t in modules else names.get(t, "")
            if t and t != module:
                edges[module].add(t)
    return edges


def components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                found.append(sorted(scc))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found, key=len, reverse=True)


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    srcs = [Path(a) for a in argv if a != "--json"] or [ROOT / "crates" / "runnerkey" / "src"]
    result = {}
    for src in srcs:
        result[str(src)] = components(graph(src))
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        for src, sccs in result.items():
            print(f"{src}: {len(sccs)} cycle(s)")
            for scc in sccs:
                print(f"  {len(scc)} modules: {' '.join(scc)}")
    return 1 if any(result.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
