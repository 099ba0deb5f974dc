//! Which `[[runners]]` entry of config.toml a command means: a value of
//! its own, so that next steps and reports carry it typed without depending
//! on the config editor.

use serde::Serialize;

/// Which `[[runners]]` entry (as data `{"name": "r"}` or `{"index": 0}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunnerSelector {
    /// By `name`; an error when none or several have it.
    Name(String),
    /// By 0-based position among the `[[runners]]` entries.
    Index(usize),
}

impl RunnerSelector {
    /// The runner's name, or `#INDEX`.
    pub fn label(&self) -> String {
        match self {
            RunnerSelector::Name(n) => n.clone(),
            RunnerSelector::Index(i) => format!("#{i}"),
        }
    }
}
