"""scripts/public_api.py, the gate that makes every change of the library's
public API show in review as a change of docs/public-api.txt: it renders
each kind of item from rustdoc's JSON, and its `--check` fails on a changed
signature, field, variant, trait impl or auto trait. The listing of the
real crate is checked by test_docs.py::test_public_api_listing_is_current."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "public_api.py"
DEMO = ROOT / "tests" / "fixtures" / "public_api" / "demo.rs"

spec = importlib.util.spec_from_file_location("public_api", SCRIPT)
public_api = importlib.util.module_from_spec(spec)
spec.loader.exec_module(public_api)


def rustdoc_json(source: Path, out: Path) -> Path:
    """The one-file crate `demo` as rustdoc JSON (a fraction of a second)."""
    subprocess.run([str(ROOT / "scripts" / "rustdoc-json.sh"), "--edition", "2024", "--crate-name", "demo",
                    "--crate-type", "lib", "-Z", "unstable-options", "--output-format", "json",
                    "-o", str(out), str(source)], check=True, capture_output=True, text=True)
    return out / "demo.json"


def script(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


EXPECTED = """\
pub static demo::COUNT: core::sync::atomic::AtomicU32
#[repr(u8)] pub enum demo::Failure
pub demo::Failure::Plain = 3
pub demo::Failure::Tuple(u16, &'static str) = 4
pub demo::Failure::Named = 5
pub demo::Failure::Named::path: std::path::PathBuf
pub demo::Failure::Named::reason: alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>
impl core::fmt::Debug for demo::Failure
impl core::fmt::Display for demo::Failure
impl core::str::traits::FromStr for demo::Failure { type Err = alloc::string::String }
impl demo::Render for demo::Failure { type Out = alloc::string::String }
impl !core::panic::unwind_safe::RefUnwindSafe for demo::Failure
impl !core::panic::unwind_safe::UnwindSafe for demo::Failure
impl core::marker::Send for demo::Failure
impl core::marker::Sync for demo::Failure
impl core::marker::Unpin for demo::Failure
pub const demo::LIMIT: &[&str]
pub type demo::Outcome<T, E = demo::Failure> = core::result::Result<T, E>
#[non_exhaustive] pub struct demo::Params { /* private fields */ }
pub demo::Params::name: alloc::string::String
pub demo::Params::timeout: core::option::Option<core::time::Duration>
pub const fn demo::Params::new() -> Self
pub fn demo::Params::run<'a, T>(&'a mut self, items: &[&'a T], each: impl core::ops::function::FnMut(usize) -> bool) -> core::result::Result<(), demo::Failure> where T: core::fmt::Debug + core::convert::AsRef<str> + ?core::marker::Sized
impl core::clone::Clone for demo::Params
impl core::cmp::PartialEq for demo::Params
impl core::default::Default for demo::Params
impl core::fmt::Debug for demo::Params
impl core::marker::Send for demo::Params
impl core::marker::Sync for demo::Params
impl core::marker::Unpin for demo::Params
impl core::panic::unwind_safe::RefUnwindSafe for demo::Params
impl core::panic::unwind_safe::UnwindSafe for demo::Params
pub trait demo::Render: core::fmt::Debug
pub type demo::Render::Out: core::convert::Into<alloc::string::String>
pub const demo::Render::WIDTH: usize = 80
pub fn demo::Render::callback(&self) -> fn(&str) -> usize { .. }
pub fn demo::Render::render(&self, sink: &mut dyn core::fmt::Write) -> Self::Out
impl demo::Render for bool
pub struct demo::Unit;
impl core::clone::Clone for demo::Unit
impl core::marker::Copy for demo::Unit
impl core::marker::Send for demo::Unit
impl core::marker::Sync for demo::Unit
impl core::marker::Unpin for demo::Unit
impl core::panic::unwind_safe::RefUnwindSafe for demo::Unit
impl core::panic::unwind_safe::UnwindSafe for demo::Unit
pub struct demo::Wrapper<'a, T: core::clone::Clone = u8>(pub &'a [T], _)
impl<'a, T = u8> !core::marker::Send for demo::Wrapper<'a, T>
impl<'a, T = u8> !core::marker::Sync for demo::Wrapper<'a, T>
impl<'a, T> core::marker::Unpin for demo::Wrapper<'a, T>
impl<'a, T> core::panic::unwind_safe::RefUnwindSafe for demo::Wrapper<'a, T> where T: core::panic::unwind_safe::RefUnwindSafe
impl<'a, T> core::panic::unwind_safe::UnwindSafe for demo::Wrapper<'a, T> where T: core::panic::unwind_safe::RefUnwindSafe
pub extern "C" fn demo::callback(f: for<'b> fn(&'b u8) -> &'b u8, g: &(dyn core::ops::function::Fn(&str) + core::marker::Send + 'static)) -> u8
pub unsafe fn demo::free<I: core::iter::traits::iterator::Iterator>(it: I, grid: [[u8; 4]; 2], pair: (i32,), raw: *const u8) -> core::option::Option<<I as core::iter::traits::iterator::Iterator>::Item>
pub mod demo::inner
pub struct demo::inner::Params  // same item as demo::Params
pub async fn demo::later(n: u32) -> impl core::fmt::Display + core::marker::Send
"""


def test_renders_every_kind_of_item(tmp_path: Path) -> None:
    doc = json.loads(rustdoc_json(DEMO, tmp_path).read_text())
    assert public_api.render(doc) == EXPECTED


# (what changes in demo.rs, the lines --check reports removed and added)
CHANGES = {
    "signature": (
        "items: &[&'a T], each", "items: &[&'a T], limit: u8, each",
        "pub fn demo::Params::run<'a, T>(&'a mut self, items: &[&'a T], each:",
        "pub fn demo::Params::run<'a, T>(&'a mut self, items: &[&'a T], limit: u8, each:",
    ),
    "field type": (
        "pub timeout: Option<std::time::Duration>", "pub timeout: Option<u64>",
        "pub demo::Params::timeout: core::option::Option<core::time::Duration>",
        "pub demo::Params::timeout: core::option::Option<u64>",
    ),
    "variant": (
        "Tuple(u16, &'static str) = 4", "Tuple(u16) = 4",
        "pub demo::Failure::Tuple(u16, &'static str) = 4",
        "pub demo::Failure::Tuple(u16) = 4",
    ),
    "trait impl": (
        "#[derive(Clone, Debug, Default, PartialEq)]", "#[derive(Clone, Debug, Default)]",
        "impl core::cmp::PartialEq for demo::Params",
        None,
    ),
    "non_exhaustive": (
        "#[non_exhaustive]\n", "",
        "#[non_exhaustive] pub struct demo::Params { /* private fields */ }",
        "pub struct demo::Params { /* private fields */ }",
    ),
    "auto trait": (
        "secret: u8,", "secret: std::rc::Rc<u8>,",
        "impl core::marker::Send for demo::Params",
        "impl !core::marker::Send for demo::Params",
    ),
}


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo.rs's listing, written by the script and passing its check."""
    tmp = tmp_path_factory.mktemp("public_api")
    listing = tmp / "api.txt"
    doc = rustdoc_json(DEMO, tmp)
    assert script("--json", doc, "--listing", listing).returncode == 0
    assert script("--check", "--json", doc, "--listing", listing).returncode == 0
    return listing


@pytest.mark.parametrize("change", CHANGES)
def test_check_fails_on_an_api_change(tmp_path: Path, listing: Path, change: str) -> None:
    before, after, removed, added = CHANGES[change]
    source = DEMO.read_text()
    assert before in source
    changed = tmp_path / "demo.rs"
    changed.write_text(source.replace(before, after, 1))
    r = script("--check", "--json", rustdoc_json(changed, tmp_path), "--listing", listing)
    assert r.returncode == 1, r.stderr
    diff = [line for line in r.stderr.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert any(line.startswith("-" + removed) for line in diff), r.stderr
    if added is not None:
        assert any(line.startswith("+" + added) for line in diff), r.stderr
    assert "review the change, then run `python3 scripts/public_api.py`" in r.stderr


def test_the_crate_listing_has_full_signatures() -> None:
    """The reviewer's case: a signature change of CertificateAuthority::issue
    must change docs/public-api.txt, so the listing holds its parameters
    and result (whatever they are today), and its fields and variants."""
    lines = (ROOT / "docs" / "public-api.txt").read_text().splitlines()
    issue = [line for line in lines if line.startswith("pub fn runnerkey::CertificateAuthority::issue(&self, ")]
    assert len(issue) == 1 and ": &runnerkey::IssueParams" in issue[0] and " -> runnerkey::Result<" in issue[0]
    assert any(line.startswith("pub runnerkey::IssueParams::") for line in lines)
    assert any(line.startswith("pub runnerkey::Code::") for line in lines)
    assert "impl core::marker::Send for runnerkey::CertificateAuthority" in lines
