#!/usr/bin/env bash
# Runs every test of runnerkey: Rust unit, doc and end-to-end tests, then the
# Python suite (interop with openssl, cryptography, tomllib, JSON schemas,
# kubectl). Installs what the tests need on a fresh machine first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage says when it starts (seconds since the start), for the
# suite's stage times in docs/performance.md.
stage() { echo "scripts/test.sh: [${SECONDS}s] $*"; }
stage "packages and Python environment"

# Debian packages the tests call (installed only when missing).
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v strace >/dev/null || missing+=(strace)
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "scripts/test.sh: please install: ${missing[*]}" >&2
        exit 2
    fi
fi
if ! command -v kubectl >/dev/null; then
    echo "scripts/test.sh: kubectl is required by the kubeconfig tests and is not installed" >&2
    exit 2
fi

# Python test environment.
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
# ansible-test (the collection's sanity test) bootstraps pip in each of its
# virtual environments with a script from a host this network does not
# reach; it looks for a cached copy first. Ours uses ensurepip, then PyPI.
pip_version=$(.venv/bin/python - <<'PY'
import pathlib, re, ansible_test
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp scripts/ansible_test_get_pip.py "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

# Identities that setup pins (see docs/renewal.md) go to a state directory
# of this run's own, not to the machine's /var/lib/runnerkey.
RUNNERKEY_STATE_DIR=$(mktemp -d /tmp/runnerkey-state.XXXXXX)
export RUNNERKEY_STATE_DIR

# Rust: formatting, lints and docs hold the line; then build the binaries the
# Python tests drive, and every Rust test.
stage "rust: fmt, clippy, doc, build, test"
cargo fmt --all -- --check
cargo clippy -j2 --locked --workspace --all-targets -- -D warnings
# The library with each feature set (none: the PKI core; each alone; all).
CARGO_BUILD_JOBS=2 bash scripts/feature-sets.sh
RUSTDOCFLAGS="-D warnings" cargo doc -j2 --locked --workspace --no-deps --quiet
cargo build -j2 --locked --workspace
cargo test -j2 --locked --workspace

# The real control plane the online tests run against (kube-apiserver,
# kube-controller-manager and etcd from the official Go modules at the pinned
# release; built once per pin into a cache outside the tree). A build that
# fails fails the suite: those tests are never skipped.
stage "the real control plane (Go build, cached per pin)"
command -v go >/dev/null || { echo "scripts/test.sh: Go is required to build the test control plane" >&2; exit 2; }
bash scripts/control-plane.sh build

# The Python package as it ships: the manylinux2014 wheel and the sdist
# (scripts/build-wheel.sh; tests/python/test_packaging.py checks both), and
# the wheel installed for the Python tests.
stage "the Python wheel and sdist"
bash scripts/build-wheel.sh target/dist
.venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/dist/runnerkey-*.whl

# Python (API, stubs, Ansible, interop): exit code 5 means no test ran,
# which is a failure here. Two workers or more (pytest-xdist; each test
# file runs whole in one worker, each worker starts its own control plane
# when its files need one): the tests wait on processes and the cluster
# about a third of the time, so two workers on two cores take 108 s where
# one takes 195 s. At most 4, each control plane costing memory.
stage "pytest"
workers=$(nproc)
[ "$workers" -ge 2 ] || workers=2
[ "$workers" -le 4 ] || workers=4
set +e
RUNNERKEY_BIN="$PWD/target/debug/runnerkey" .venv/bin/python -m pytest -n "$workers" --dist loadfile
rc=$?
set -e
if [ "$rc" = 5 ]; then
    echo "scripts/test.sh: pytest collected no tests" >&2
    exit 1
fi
stage "done (pytest exit $rc)"
exit "$rc"
