//! Why an edit of a runner's `[runners.kubernetes]` cannot be made.

/// Why an edit of `[runners.kubernetes]` cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditProblem {
    /// A key holds something other than a string.
    #[error("[runners.kubernetes] {key} is not a string value; fix it by hand")]
    NotAString {
        /// The key.
        key: &'static str,
    },
    /// One key given twice in one edit.
    #[error("{key} is given more than once")]
    GivenTwice {
        /// The key.
        key: &'static str,
    },
    /// A value with a line break.
    #[error("the value for {key} must be one line")]
    Multiline {
        /// The key.
        key: &'static str,
    },
    /// A key runnerkey does not set.
    #[error("unknown [runners.kubernetes] key {key:?} (runnerkey sets {})", known.join(", "))]
    UnknownKey {
        /// What was given.
        key: String,
        /// The keys runnerkey sets.
        known: Vec<&'static str>,
    },
    /// `kubernetes` is neither a table nor an inline table.
    #[error(
        "this runner's kubernetes settings are neither a [runners.kubernetes] table nor an inline table; fix it by hand"
    )]
    NotATable,
    /// A runner index past the last runner.
    #[error("runner index {index} is out of range: the file has {count} runner(s)")]
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// How many runners there are.
        count: usize,
    },
    /// The config was parsed from text, not loaded from a file.
    #[error("this config was not loaded from a file")]
    NoFile,
    /// runnerkey's own edit went wrong (a bug); nothing was written.
    #[error("internal error, nothing written: {what}")]
    Internal {
        /// What went wrong.
        what: String,
    },
}
