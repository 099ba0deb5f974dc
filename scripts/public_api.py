#!/usr/bin/env python3
"""The runnerkey crate's whole public API, one line per item, so that every
API change shows up in review as a change to docs/public-api.txt and the
suite fails until the listing is regenerated.

Read from rustdoc's JSON output (`target/doc/runnerkey.json`), which this
script makes itself with `cargo rustdoc ... --output-format json` (rustdoc
as scripts/rustdoc-json.sh, so that the stable toolchain allows it).

What is listed, at every public path (`runnerkey::X` and
`runnerkey::module::X` when both reach it):
- modules, structs, enums, unions, traits, functions, constants, statics,
  type aliases and macros, with generics, bounds and where clauses,
  `#[non_exhaustive]` and `#[repr(..)]`; functions with their full
  signature (`const`, `async`, `unsafe`, `extern`);
- every public field with its type, every enum variant with its fields and
  explicit discriminant, whether a struct has private fields;
- every method and associated constant of inherent impls (sorted by
  name), and every item of public traits (provided ones end in `{ .. }`);
- every trait impl of a public type (derived, written or auto traits:
  `Send`, `Sync`, `Unpin`, `UnwindSafe`, `RefUnwindSafe`, which change
  when a field's type does), with its associated types and constants.
  The methods of a trait impl follow from the trait and the impl line, so
  they are not repeated. Blanket impls (`impl<T> From<T> for T`, `Any`,
  `Borrow`, `ToString` from `Display`, ...) follow from the others and are
  left out, as are the unstable traits rustdoc adds (`Freeze`,
  `UnsafeUnpin`, `StructuralPartialEq`).

An item reachable at two paths is listed in full at its shortest path (the
path types are written with everywhere); its other paths get one line
`... // same item as <that path>`.

Lines are grouped by item, items sorted by path; within an item: fields
and variants in declaration order (it matters for tuple structs and
derived orderings), then methods, trait impls and auto traits, each sorted.

Usage: python3 scripts/public_api.py [--check] [--json FILE] [--listing FILE] [--stats]
  without --check: (re)writes docs/public-api.txt
  with --check:    exits 1 when the checked-in list differs, printing a diff
  --json FILE:     reads FILE instead of running rustdoc
  --listing FILE:  writes or checks FILE instead of docs/public-api.txt
  --stats:         prints the counts of items, methods, fields, variants
                   and impls to stderr
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRATE = "runnerkey"
JSON = ROOT / "target" / "doc" / f"{CRATE}.json"
LISTING = ROOT / "docs" / "public-api.txt"
# The format this renderer was written against; rustdoc changes the layout
# between versions, so another one is refused rather than misread.
FORMAT_VERSIONS = {57}
# The auto traits a user can name on stable Rust (rustdoc also lists the
# unstable `Freeze` and `UnsafeUnpin`).
AUTO_TRAITS = {"Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"}
# Unstable traits that derives implement along with a stable one
# (`#[derive(PartialEq)]` also implements `StructuralPartialEq`).
IMPLIED = {"core::marker::StructuralPartialEq"}


def build_json() -> Path:
    """Runs rustdoc's JSON output on the library (a few seconds when the
    dependencies are already checked, as after `cargo doc`)."""
    env = dict(os.environ, RUSTDOC=str(ROOT / "scripts" / "rustdoc-json.sh"))
    subprocess.run(
        ["cargo", "rustdoc", "-j2", "--locked", "--quiet", "-p", CRATE, "--lib",
         "--", "-Z", "unstable-options", "--output-format", "json"],
        cwd=ROOT, env=env, check=True)
    return JSON


def kind_of(item: dict) -> str:
    (kind,) = item["inner"].keys()
    return kind


class Api:
    """The public paths of a crate's items and their rendering."""

    def __init__(self, doc: dict) -> None:
        if doc.get("format_version") not in FORMAT_VERSIONS:
            raise SystemExit(f"rustdoc JSON format {doc.get('format_version')} is not one of "
                             f"{sorted(FORMAT_VERSIONS)}: update scripts/public_api.py")
        self.index: dict[str, dict] = doc["index"]
        self.paths: dict[str, dict] = doc["paths"]
        root = self.index[str(doc["root"])]
        self.crate = root["name"]
        # item id -> every public path that reaches it
        self.public: dict[str, list[tuple[str, ...]]] = {}
        # `pub use` of something rustdoc did not document: path -> source
        self.foreign_uses: dict[tuple[str, ...], str] = {}
        self._walk(root, (self.crate,), set())
        self.canonical = {i: min(ps, key=lambda p: (len(p), p)) for i, ps in self.public.items()}

    # -- which items are public, and where -------------------------------

    def _walk(self, module: dict, prefix: tuple[str, ...], active: set[str]) -> None:
        if module["id"] in active:  # a module that re-exports its ancestor
            return
        active = active | {module["id"]}
        inner = module["inner"]["module"] if "module" in module["inner"] else None
        children = inner["items"] if inner else [v for v in module["inner"]["enum"]["variants"]]
        for child in children:
            item = self.index.get(str(child))
            if item is None or item["visibility"] != "public" and kind_of(item) != "variant":
                continue
            if kind_of(item) == "use":
                use = item["inner"]["use"]
                target = self.index.get(str(use["id"])) if use["id"] is not None else None
                if use["is_glob"]:
                    if target is not None and kind_of(target) in ("module", "enum"):
                        self._walk(target, prefix, active)
                    continue
                path = prefix + (use["name"],)
                if target is None:
                    self.foreign_uses[path] = self._foreign_name(use["id"]) or use["source"]
                else:
                    self._add(str(use["id"]), path, target, active)
            else:
                self._add(str(child), prefix + (item["name"],), item, active)

    def _add(self, item_id: str, path: tuple[str, ...], item: dict, active: set[str]) -> None:
        paths = self.public.setdefault(item_id, [])
        if path not in paths:
            paths.append(path)
        if kind_of(item) == "module":
            self._walk(item, path, active)

    def _foreign_name(self, item_id: int | None) -> str | None:
        entry = self.paths.get(str(item_id))
        return "::".join(entry["path"]) if entry else None

    def name(self, item_id: int | None, fallback: str) -> str:
        """The path types are written with: an item's shortest public path,
        else where it is defined (another crate's, or a private one)."""
        if item_id is not None and str(item_id) in self.canonical:
            return "::".join(self.canonical[str(item_id)])
        return self._foreign_name(item_id) or fallback

    # -- types ------------------------------------------------------------

    def path(self, p: dict) -> str:
        return self.name(p["id"], p["path"]) + self.args(p.get("args"))

    def args(self, a: dict | None) -> str:
        if not a:
            return ""
        if "angle_bracketed" in a:
            ab = a["angle_bracketed"]
            parts = [self.arg(x) for x in ab["args"]] + [self.constraint(c) for c in ab["constraints"]]
            return f"<{', '.join(parts)}>" if parts else ""
        if "parenthesized" in a:
            pa = a["parenthesized"]
            out = f" -> {self.ty(pa['output'])}" if pa["output"] is not None else ""
            return f"({', '.join(self.ty(t) for t in pa['inputs'])}){out}"
        return "(..)"  # return type notation

    def arg(self, g: dict | str) -> str:
        if not isinstance(g, dict):  # "infer"
            return "_"
        (k, v), = g.items()
        return {"lifetime": lambda: v, "type": lambda: self.ty(v), "const": lambda: v["expr"]}[k]()

    def constraint(self, c: dict) -> str:
        head = c["name"] + self.args(c.get("args"))
        binding = c["binding"]
        if "equality" in binding:
            return f"{head} = {self.term(binding['equality'])}"
        return f"{head}: {self.bounds(binding['constraint'])}"

    def term(self, t: dict) -> str:
        return self.ty(t["type"]) if "type" in t else t["constant"]["expr"]

    def bounds(self, bs: list) -> str:
        return " + ".join(self.bound(b) for b in bs)

    def bound(self, b: dict) -> str:
        if "trait_bound" in b:
            tb = b["trait_bound"]
            modifier = {"none": "", "maybe": "?", "maybe_const": "[const] "}[tb["modifier"]]
            return f"{self.hrtb(tb['generic_params'])}{modifier}{self.path(tb['trait'])}"
        if "outlives" in b:
            return b["outlives"]
        return "use<" + ", ".join(x.get("lifetime") or x.get("param") for x in b["use"]) + ">"

    def hrtb(self, params: list) -> str:
        return f"for<{', '.join(self.param(p) for p in params)}> " if params else ""

    def ty(self, t: dict) -> str:
        (k, v), = t.items()
        if k in ("generic", "primitive"):
            return v
        if k == "resolved_path":
            return self.path(v)
        if k == "borrowed_ref":
            lifetime = f"{v['lifetime']} " if v["lifetime"] else ""
            return f"&{lifetime}{'mut ' if v['is_mutable'] else ''}{self.pointee(v['type'])}"
        if k == "raw_pointer":
            return f"*{'mut' if v['is_mutable'] else 'const'} {self.pointee(v['type'])}"
        if k == "slice":
            return f"[{self.ty(v)}]"
        if k == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if k == "tuple":
            return "(" + ", ".join(self.ty(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        if k == "impl_trait":
            return "impl " + self.bounds(v)
        if k == "dyn_trait":
            parts = [self.hrtb(pt["generic_params"]) + self.path(pt["trait"]) for pt in v["traits"]]
            return "dyn " + " + ".join(parts + ([v["lifetime"]] if v["lifetime"] else []))
        if k == "function_pointer":
            return (self.hrtb(v["generic_params"]) + self.header(v["header"])
                    + "fn" + self.params(v["sig"], named=False))
        if k == "qualified_path":
            self_ty = self.ty(v["self_type"])
            tail = v["name"] + self.args(v.get("args"))
            if v["trait"] is None:
                return f"<{self_ty}>::{tail}"
            if self_ty == "Self":
                return f"Self::{tail}"
            return f"<{self_ty} as {self.path(v['trait'])}>::{tail}"
        if k == "pat":
            return f"{self.ty(v['type'])} is {v['__pat_unstable_do_not_use']}"
        if k == "infer":
            return "_"
        raise SystemExit(f"scripts/public_api.py: unknown type kind {k!r}")

    def pointee(self, t: dict) -> str:
        """`&(dyn A + B)`: a pointee with several bounds needs parentheses."""
        s = self.ty(t)
        multi = ("dyn_trait" in t and len(t["dyn_trait"]["traits"]) + bool(t["dyn_trait"]["lifetime"]) > 1
                 or "impl_trait" in t and len(t["impl_trait"]) > 1)
        return f"({s})" if multi else s

    # -- generics and signatures -------------------------------------------

    def param(self, p: dict) -> str:
        (k, v), = p["kind"].items()
        if k == "lifetime":
            return p["name"] + (f": {' + '.join(v['outlives'])}" if v["outlives"] else "")
        if k == "type":
            s = p["name"] + (f": {self.bounds(v['bounds'])}" if v["bounds"] else "")
            return s + (f" = {self.ty(v['default'])}" if v["default"] is not None else "")
        s = f"const {p['name']}: {self.ty(v['type'])}"
        return s + (f" = {v['default']}" if v["default"] is not None else "")

    def generics(self, g: dict) -> str:
        params = [self.param(p) for p in g["params"]
                  if not ("type" in p["kind"] and p["kind"]["type"]["is_synthetic"])]
        return f"<{', '.join(params)}>" if params else ""

    def where(self, g: dict) -> str:
        preds = []
        for w in g["where_predicates"]:
            if "bound_predicate" in w:
                bp = w["bound_predicate"]
                preds.append(f"{self.hrtb(bp['generic_params'])}{self.ty(bp['type'])}: {self.bounds(bp['bounds'])}")
            elif "lifetime_predicate" in w:
                lp = w["lifetime_predicate"]
                preds.append(f"{lp['lifetime']}: {' + '.join(lp['outlives'])}")
            else:
                ep = w["eq_predicate"]
                preds.append(f"{self.ty(ep['lhs'])} = {self.term(ep['rhs'])}")
        return f" where {', '.join(preds)}" if preds else ""

    @staticmethod
    def header(h: dict) -> str:
        out = ("const " if h["is_const"] else "") + ("async " if h["is_async"] else "")
        out += "unsafe " if h["is_unsafe"] else ""
        abi = h["abi"]
        if abi != "Rust":
            (name, detail), = abi.items() if isinstance(abi, dict) else ((abi, None),)
            if name == "Other":
                name, detail = str(detail).strip('"'), None
            unwind = "-unwind" if isinstance(detail, dict) and detail.get("unwind") else ""
            out += f'extern "{name}{unwind}" '
        return out

    def params(self, sig: dict, named: bool = True) -> str:
        parts = []
        for name, t in sig["inputs"]:
            if name == "self" and t == {"generic": "Self"}:
                parts.append("self")
            elif name == "self" and "borrowed_ref" in t and t["borrowed_ref"]["type"] == {"generic": "Self"}:
                r = t["borrowed_ref"]
                parts.append(f"&{r['lifetime'] + ' ' if r['lifetime'] else ''}{'mut ' if r['is_mutable'] else ''}self")
            else:
                parts.append(f"{name}: {self.ty(t)}" if named else self.ty(t))
        if sig["is_c_variadic"]:
            parts.append("...")
        out = sig["output"]
        return f"({', '.join(parts)})" + (f" -> {self.ty(out)}" if out is not None else "")

    def function(self, path: str, item: dict) -> str:
        f = item["inner"]["function"]
        return (f"pub {self.header(f['header'])}fn {path}{self.generics(f['generics'])}"
                f"{self.params(f['sig'])}{self.where(f['generics'])}")

    @staticmethod
    def attrs(item: dict) -> str:
        out = []
        for a in item["attrs"]:
            if a == "non_exhaustive":
                out.append("#[non_exhaustive] ")
            elif isinstance(a, dict) and "repr" in a:
                r = a["repr"]
                kinds = [r["kind"]] if r.get("kind") not in (None, "rust") else []
                kinds += [r["int"]] if r.get("int") else []
                kinds += [f"align({r['align']})"] if r.get("align") else []
                kinds += [f"packed({r['packed']})"] if r.get("packed") else []
                out.append(f"#[repr({', '.join(kinds)})] " if kinds else "")
        return "".join(out)

    # -- the listing ------------------------------------------------------

    def item_lines(self, item_id: str, path: str) -> list[str]:
        """One item at its canonical path: its line, then its fields or
        variants, methods and impls."""
        item = self.index[item_id]
        kind, inner = kind_of(item), item["inner"][kind_of(item)]
        a = self.attrs(item)
        if kind == "module":
            return [f"pub mod {path}"]
        if kind == "function":
            return [a + self.function(path, item)]
        if kind == "constant":
            return [f"pub const {path}: {self.ty(inner['type'])}"]
        if kind == "static":
            return [f"pub {'unsafe ' if inner.get('is_unsafe') else ''}static {'mut ' if inner['is_mutable'] else ''}"
                    f"{path}: {self.ty(inner['type'])}"]
        if kind == "type_alias":
            g = inner["generics"]
            return [f"pub type {path}{self.generics(g)}{self.where(g)} = {self.ty(inner['type'])}"]
        if kind == "macro":
            return [f"pub macro {path}!"]
        if kind == "proc_macro":
            return [f"pub proc macro {path} ({inner['kind']})"]
        if kind in ("struct", "union"):
            return self.struct_lines(path, item, kind, inner, a)
        if kind == "enum":
            g = inner["generics"]
            private = " { /* private variants */ }" if inner["has_stripped_variants"] else ""
            lines = [f"{a}pub enum {path}{self.generics(g)}{self.where(g)}{private}"]
            for v in inner["variants"]:
                lines += self.variant_lines(path, self.index[str(v)])
            return lines + self.impl_lines(path, inner["impls"])
        if kind == "trait":
            return self.trait_lines(path, item, inner, a)
        if kind == "variant":  # `pub use Enum::*`
            return self.variant_lines(path.rsplit("::", 1)[0], item)
        raise SystemExit(f"scripts/public_api.py: unknown item kind {kind!r} at {path}")

    def struct_lines(self, path: str, item: dict, kind: str, inner: dict, a: str) -> list[str]:
        g = inner["generics"]
        head = f"{a}pub {kind} {path}{self.generics(g)}"
        lines = []
        shape = inner.get("kind", {"plain": {"fields": inner.get("fields", []),
                                             "has_stripped_fields": inner.get("has_stripped_fields")}})
        if shape == "unit":
            lines.append(f"{head}{self.where(g)};")
        elif "tuple" in shape:
            fields = ["pub " + self.ty(self.index[str(f)]["inner"]["struct_field"]) if f is not None else "_"
                      for f in shape["tuple"]]
            lines.append(f"{head}({', '.join(fields)}){self.where(g)}")
        else:
            private = " { /* private fields */ }" if shape["plain"]["has_stripped_fields"] else ""
            lines.append(f"{head}{self.where(g)}{private}")
            lines += self.field_lines(path, shape["plain"]["fields"])
        return lines + self.impl_lines(path, inner["impls"])

    def field_lines(self, path: str, fields: list) -> list[str]:
        out = []
        for f in fields:
            field = self.index[str(f)]
            out.append(f"{self.attrs(field)}pub {path}::{field['name']}: {self.ty(field['inner']['struct_field'])}")
        return out

    def variant_lines(self, path: str, v: dict) -> list[str]:
        inner = v["inner"]["variant"]
        head = f"{self.attrs(v)}pub {path}::{v['name']}"
        disc = f" = {inner['discriminant']['expr']}" if inner["discriminant"] else ""
        shape = inner["kind"]
        if shape == "plain":
            return [head + disc]
        if "tuple" in shape:
            fields = [self.ty(self.index[str(f)]["inner"]["struct_field"]) if f is not None else "_"
                      for f in shape["tuple"]]
            return [f"{head}({', '.join(fields)}){disc}"]
        s = shape["struct"]
        private = " { /* private fields */ }" if s["has_stripped_fields"] else ""
        return [f"{head}{private}{disc}"] + self.field_lines(f"{path}::{v['name']}", s["fields"])

    def trait_lines(self, path: str, item: dict, inner: dict, a: str) -> list[str]:
        g = inner["generics"]
        supers = f": {self.bounds(inner['bounds'])}" if inner["bounds"] else ""
        flags = ("unsafe " if inner["is_unsafe"] else "") + ("auto " if inner["is_auto"] else "")
        lines = [f"{a}pub {flags}trait {path}{self.generics(g)}{supers}{self.where(g)}"]
        members = []
        for i in inner["items"]:
            member = self.index[str(i)]
            line = self.assoc_line(path, member)
            if kind_of(member) == "function" and member["inner"]["function"]["has_body"]:
                line += " { .. }"  # provided: implementors need not write it
            elif kind_of(member) == "assoc_const" and member["inner"]["assoc_const"]["value"] is not None:
                line += f" = {member['inner']['assoc_const']['value']}"
            members.append((member["name"], line))
        lines += [line for _, line in sorted(members)]
        # implementations on types of other crates (local types list theirs)
        impls = []
        for i in inner["implementations"]:
            impl = self.index[str(i)]["inner"]["impl"]
            target = impl["for"].get("resolved_path")
            if impl["blanket_impl"] is None and not (target and str(target["id"]) in self.canonical):
                impls.append(self.impl_header(impl))
        return lines + sorted(impls)

    def assoc_line(self, owner: str, item: dict, in_trait_impl: bool = False) -> str:
        kind, inner = kind_of(item), item["inner"][kind_of(item)]
        path = item["name"] if in_trait_impl else f"{owner}::{item['name']}"
        vis = "" if in_trait_impl else "pub "
        if kind == "function":
            return self.function(path, item).removeprefix("pub ") if in_trait_impl else self.function(path, item)
        if kind == "assoc_const":
            value = f" = {inner['value']}" if in_trait_impl and inner.get("value") else ""
            return f"{vis}const {path}: {self.ty(inner['type'])}{value}"
        if kind == "assoc_type":
            g = inner["generics"]
            bounds = f": {self.bounds(inner['bounds'])}" if inner["bounds"] else ""
            default = f" = {self.ty(inner['type'])}" if inner["type"] is not None else ""
            return f"{vis}type {path}{self.generics(g)}{bounds}{self.where(g)}{default}"
        raise SystemExit(f"scripts/public_api.py: unknown associated item {kind!r} in {owner}")

    def impl_header(self, impl: dict) -> str:
        g = impl["generics"]
        trait = ""
        if impl["trait"] is not None:
            trait = ("unsafe " if impl["is_unsafe"] else "") + ("!" if impl["is_negative"] else "")
            trait += self.path(impl["trait"]) + " for "
        return f"impl{self.generics(g)} {trait}{self.ty(impl['for'])}{self.where(g)}"

    def impl_lines(self, path: str, impl_ids: list) -> list[str]:
        methods: list[tuple[str, str]] = []
        traits: list[str] = []
        autos: list[str] = []
        for i in impl_ids:
            impl = self.index[str(i)]["inner"]["impl"]
            if impl["blanket_impl"] is not None:
                continue
            if impl["trait"] is None:
                g = impl["generics"]
                for m in impl["items"]:
                    member = self.index[str(m)]
                    if member["visibility"] != "public":
                        continue
                    line = self.assoc_line(path, member)
                    if g["params"] or g["where_predicates"]:  # say which types it applies to
                        line = f"{self.impl_header(impl)} {{ {line} }}"
                    methods.append((member["name"], line))
                continue
            if impl["is_synthetic"] and impl["trait"]["path"].rsplit("::", 1)[-1] not in AUTO_TRAITS:
                continue
            if self.name(impl["trait"]["id"], impl["trait"]["path"]) in IMPLIED:
                continue
            line = self.impl_header(impl)
            assoc = [self.assoc_line(path, self.index[str(m)], in_trait_impl=True) for m in impl["items"]
                     if kind_of(self.index[str(m)]) in ("assoc_type", "assoc_const")]
            if assoc:
                line += " { " + "; ".join(sorted(assoc)) + " }"
            (autos if impl["is_synthetic"] else traits).append(line)
        return [line for _, line in sorted(methods)] + sorted(traits) + sorted(autos)

    def listing(self) -> list[str]:
        entries: list[tuple[tuple[str, ...], str | None]] = [
            (p, i) for i, ps in self.public.items() for p in ps]
        entries += [(p, None) for p in self.foreign_uses]
        lines = []
        for path, item_id in sorted(entries, key=lambda e: (e[0], e[1] or "")):
            text = "::".join(path)
            if item_id is None:
                lines.append(f"pub use {text}  // = {self.foreign_uses[path]}")
            elif path == self.canonical[item_id]:
                lines += self.item_lines(item_id, text)
            else:
                kind = kind_of(self.index[item_id]).replace("_alias", "").replace("constant", "const")
                kind = {"function": "fn", "module": "mod"}.get(kind, kind)
                lines.append(f"pub {kind} {text}  // same item as {self.name(int(item_id), text)}")
        return lines

    def stats(self) -> Counter:
        """How much API there is, counted once per item."""
        c: Counter = Counter()
        c["public paths"] = sum(len(ps) for ps in self.public.values()) + len(self.foreign_uses)
        c["items at two or more paths"] = sum(len(ps) > 1 for ps in self.public.values())
        for item_id in self.public:
            item = self.index[item_id]
            kind, inner = kind_of(item), item["inner"][kind_of(item)]
            c[f"items: {kind}"] += 1
            if kind in ("struct", "union"):
                shape = inner["kind"]
                fields = (shape["plain"]["fields"] if "plain" in shape
                          else [f for f in shape["tuple"] if f is not None] if "tuple" in shape else [])
                c["fields"] += len(fields)
            if kind == "enum":
                c["variants"] += len(inner["variants"])
                for v in inner["variants"]:
                    shape = self.index[str(v)]["inner"]["variant"]["kind"]
                    if isinstance(shape, dict) and "struct" in shape:
                        c["variant fields (named)"] += len(shape["struct"]["fields"])
            for i in inner.get("impls", []):
                impl = self.index[str(i)]["inner"]["impl"]
                if impl["blanket_impl"] is not None:
                    continue
                if impl["trait"] is None:
                    for m in impl["items"]:
                        member = self.index[str(m)]
                        if member["visibility"] == "public":
                            c["methods" if kind_of(member) == "function" else "associated consts"] += 1
                elif not impl["is_synthetic"]:
                    c["trait impls"] += self.name(impl["trait"]["id"], impl["trait"]["path"]) not in IMPLIED
                elif impl["trait"]["path"].rsplit("::", 1)[-1] in AUTO_TRAITS:
                    c["auto trait impls"] += 1
        return c


def render(doc: dict) -> str:
    return "".join(f"{line}\n" for line in Api(doc).listing())


def main(argv: list[str]) -> int:
    check = "--check" in argv
    listing_file = Path(argv[argv.index("--listing") + 1]) if "--listing" in argv else LISTING
    if "--json" in argv:
        source = Path(argv[argv.index("--json") + 1])
    else:
        try:
            source = build_json()
        except subprocess.CalledProcessError as e:
            print(f"scripts/public_api.py: rustdoc failed ({e})", file=sys.stderr)
            return 2
    doc = json.loads(source.read_text())
    listing = render(doc)
    if "--stats" in argv:
        for key, n in sorted(Api(doc).stats().items()):
            print(f"{key}: {n}", file=sys.stderr)
    if check:
        current = listing_file.read_text() if listing_file.exists() else ""
        if current != listing:
            name = listing_file.relative_to(ROOT) if listing_file.is_relative_to(ROOT) else listing_file
            diff = difflib.unified_diff(current.splitlines(True), listing.splitlines(True),
                                        str(name), "the crate's public API")
            sys.stderr.writelines(diff)
            print(f"{name} differs from the crate's public API (above): "
                  "review the change, then run `python3 scripts/public_api.py`", file=sys.stderr)
            return 1
        return 0
    listing_file.write_text(listing)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
