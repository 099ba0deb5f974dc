#!/usr/bin/env bash
# The runnerkey crate with each of its feature sets: none (the PKI core),
# each feature alone, and all. Clippy (-D warnings, every target) for each;
# the core's own unit tests and doctests. What each set pulls in is checked
# by crates/runnerkey/tests/feature_dependencies.rs (cargo test).
#
#     bash scripts/feature-sets.sh            (from anywhere in the tree)
#
# scripts/test.sh runs it after the workspace's clippy. Jobs: CARGO_BUILD_JOBS
# (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

for features in "" kubeconfig runner-config client client,kubeconfig,runner-config; do
    echo "scripts/feature-sets.sh: clippy, features [${features}]"
    cargo clippy --locked --quiet -p runnerkey --no-default-features \
        --features "$features" --all-targets -- -D warnings
done

echo "scripts/feature-sets.sh: the PKI core's unit tests and doctests"
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
RUNNERKEY_STATE_DIR=$state cargo test --locked --quiet -p runnerkey --no-default-features --lib
RUNNERKEY_STATE_DIR=$state cargo test --locked --quiet -p runnerkey --no-default-features --doc
