#!/bin/sh
# rustdoc allowed its unstable `--output-format json` on the stable
# toolchain, for scripts/public_api.py, which hands it to cargo as RUSTDOC.
# Only rustdoc sees RUSTC_BOOTSTRAP: set for all of cargo, it would make
# proc-macro2's build script rerun and so rebuild every crate that derives
# something, twice per suite run.
RUSTC_BOOTSTRAP=1 exec rustdoc "$@"
