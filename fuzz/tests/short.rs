//! The short fuzz run of the test suite: every target, a few thousand
//! mutated inputs each, no crash. The long run is a separate command
//! (docs/fuzzing.md).

use runnerkey_fuzz::{Target, fuzz};

#[test]
fn every_target_survives_a_short_run() {
    std::panic::set_hook(Box::new(|_| {}));
    for target in Target::ALL {
        let outcome = fuzz(target, 3_000, 7);
        assert!(outcome.executions > 3_000);
        let crashes: Vec<_> = outcome.crashes.iter().map(|(_, m)| m.clone()).collect();
        assert!(crashes.is_empty(), "{}: {crashes:?}", target.name());
    }
}
