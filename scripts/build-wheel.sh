#!/usr/bin/env bash
# Builds the Python distribution into OUT_DIR: a wheel tagged manylinux2014
# (glibc 2.17, so it installs on RHEL 8, Ubuntu 20.04, Debian 11 and later;
# one abi3 wheel for CPython 3.9+) and an sdist. Reproducible: the tools are
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

rm -f "$out"/runnerkey-*.whl "$out"/runnerkey-*.tar.gz
# zig links against glibc 2.17's symbols, for aws-lc's C code too; its own
# target directory, so that it never invalidates the tests' build.
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/maturin" build --release --locked -j2 \
    --zig --compatibility manylinux2014 --target-dir target/wheel-build \
    --interpreter "$venv/bin/python" --out "$out"
"$venv/bin/maturin" sdist --out "$out"

wheel=$(ls "$out"/runnerkey-*.whl)
"$venv/bin/auditwheel" show "$wheel" | tee "$out/auditwheel.txt"
if ! tr -s " \n" "  " < "$out/auditwheel.txt" | grep -q 'platform tag: "manylinux_2_17_x86_64"'; then
    echo "scripts/build-wheel.sh: $wheel is not manylinux_2_17 (manylinux2014)" >&2
    exit 1
fi
ls -l "$out"
