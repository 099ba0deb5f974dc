#!/usr/bin/env bash
# Builds the Python distribution into OUT_DIR: an sdist, and from it a wheel
# tagged manylinux2014
# (glibc 2.17, so it installs on RHEL 8, Ubuntu 20.04, Debian 11 and later;
# one abi3 wheel for CPython 3.9+). Reproducible: the tools are
# pinned, Cargo.lock is used as it is, and timestamps come from the last
# commit. Checks the wheel with auditwheel. Installs what it needs (maturin,
# zig from the ziglang package, auditwheel) into target/wheel-venv.
#
#   scripts/build-wheel.sh dist/
set -euo pipefail
out=${1:?usage: scripts/build-wheel.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)

venv=target/wheel-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2"

# Timestamps inside the archives: the last commit's, when there is one.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 315532800)
export SOURCE_DATE_EPOCH

rm -f "$out"/runnerkey-*.whl "$out"/runnerkey-*.tar.gz "$out"/wheel-source.txt
# The sdist first, and the wheel built from it (as `python -m build` does):
# what a user's pip builds from the sdist is what the tests run, and the
# Rust code is compiled once.
"$venv/bin/maturin" sdist --out "$out"
sdist=$(ls "$out"/runnerkey-*.tar.gz)
src=target/wheel-src
rm -rf "$src" && mkdir -p "$src"
tar -xzf "$sdist" -C "$src"
unpacked=$(cd "$src"/runnerkey-* && pwd)
root=$PWD
# zig links against glibc 2.17's symbols, for aws-lc's C code too; its own
# target directory, so that it never invalidates the tests' build.
(cd "$unpacked" && PATH="$root/$venv/bin:$PATH" "$root/$venv/bin/maturin" build --release --locked -j2 \
    --zig --compatibility manylinux2014 --target-dir "$root/target/wheel-build" \
    --interpreter "$root/$venv/bin/python" --out "$out")
rm -rf "$src"
echo "built from $(basename "$sdist") sha256 $(sha256sum "$sdist" | cut -d' ' -f1)" > "$out/wheel-source.txt"

wheel=$(ls "$out"/runnerkey-*.whl)
"$venv/bin/auditwheel" show "$wheel" | tee "$out/auditwheel.txt"
if ! tr -s " \n" "  " < "$out/auditwheel.txt" | grep -q 'platform tag: "manylinux_2_17_x86_64"'; then
    echo "scripts/build-wheel.sh: $wheel is not manylinux_2_17 (manylinux2014)" >&2
    exit 1
fi
ls -l "$out"
