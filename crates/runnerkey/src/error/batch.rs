//! Why a batch, or one of its entries, cannot be issued (data only: the
//! batch is in `batch`).

use std::path::PathBuf;

/// Why a batch, or one of its entries, cannot be issued.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchProblem {
    /// The user template has no `{host}`.
    #[error("the user template {template:?} has no {{host}}: every host would get the same user")]
    TemplateWithoutHost {
        /// The template.
        template: String,
    },
    /// More entries than [`MAX_BATCH_ENTRIES`](crate::MAX_BATCH_ENTRIES).
    #[error("more than {max} entries: split the batch")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// Two entries write one file.
    #[error("{} is also written by line {first_line}: give the entries distinct \"name\"s", path.display())]
    WrittenTwice {
        /// The file.
        path: PathBuf,
        /// The first entry that writes it.
        first_line: usize,
    },
    /// No entry at all.
    #[error("the batch has no entries")]
    Empty,
    /// The line is not a batch entry (JSON, known keys, types).
    #[error("not a batch entry: {reason}")]
    NotAnEntry {
        /// The JSON reader's reason.
        reason: String,
    },
    /// A `host` without a user template.
    #[error("the entry gives a host but there is no user template")]
    HostWithoutTemplate,
    /// Both `user` and `host`.
    #[error("give user or host, not both")]
    UserAndHost,
    /// Neither `user` nor `host`.
    #[error("the entry has no user")]
    NoUser,
    /// An unusable `out_dir`.
    #[error("out_dir {reason}")]
    BadOutDir {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file name too long for a directory entry.
    #[error("the file name {name:?} is too long for a directory entry: give a shorter name")]
    NameTooLong {
        /// The name.
        name: String,
    },
}
