"""Layering: no import cycle between the modules of the core, the CLI or the
Python binding (scripts/module_cycles.py), and the script does find one
where there is."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from conftest import ROOT

spec = importlib.util.spec_from_file_location("module_cycles", ROOT / "scripts" / "module_cycles.py")
module_cycles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module_cycles)


def cycles(src: Path) -> list[list[str]]:
    return module_cycles.components(module_cycles.graph(src))


def test_the_core_has_no_import_cycle():
    assert cycles(ROOT / "crates" / "runnerkey" / "src") == []


def test_the_cli_has_no_import_cycle():
    assert cycles(ROOT / "crates" / "runnerkey-cli" / "src") == []


def test_the_python_binding_has_no_import_cycle():
    assert cycles(ROOT / "crates" / "runnerkey-py" / "src") == []


def test_runner_config_depends_neither_on_the_http_client_nor_on_verification():
    edges = module_cycles.graph(ROOT / "crates" / "runnerkey" / "src")
    assert not {"api_client", "verify"} & edges["runner_config"]


def test_error_depends_on_no_other_module():
    assert module_cycles.graph(ROOT / "crates" / "runnerkey" / "src")["error"] == set()


def test_a_cycle_through_grouped_uses_and_reexports_is_found(tmp_path):
    src = tmp_path / "src"
    (src / "c").mkdir(parents=True)
    (src / "lib.rs").write_text("mod a;\nmod b;\nmod c;\nmod d;\npub use c::Thing;\n")
    (src / "a.rs").write_text("use crate::{b::f, d};\n")
    (src / "b.rs").write_text("// crate::d is a comment\nfn g() -> crate::Thing { todo!() }\n")
    (src / "c" / "mod.rs").write_text('const S: &str = "crate::d";\nfn h() { crate::a::x(); }\n'
                                      "#[cfg(test)]\nmod tests {\n    use crate::d;\n}\n")
    (src / "d.rs").write_text("")
    assert cycles(src) == [["a", "b", "c"]]
    (src / "c" / "mod.rs").write_text("")
    assert cycles(src) == []


def test_no_core_file_over_500_lines() -> None:
    """Small files named after the noun they hold: none of the core's over
    500 lines (a file that grows past it is split, not waved through)."""
    long = {}
    for path in sorted((ROOT / "crates" / "runnerkey" / "src").rglob("*.rs")):
        lines = len(path.read_text().splitlines())
        if lines > 500:
            long[str(path.relative_to(ROOT))] = lines
    assert long == {}, long
