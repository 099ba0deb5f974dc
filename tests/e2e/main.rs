//! End-to-end tests of the `runnerkey` binary: one harness (see `util`),
//! one module per command family.

mod commands;
mod pki;
mod util;
