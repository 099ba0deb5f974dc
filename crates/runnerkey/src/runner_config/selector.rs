//! The typed way back from a listed runner to the selector that names it.

use super::{RunnerInfo, RunnerSelector};

impl RunnerInfo {
    /// The selector that names this runner: its name, or its index when it
    /// has none (never a `#N` text to parse back).
    pub fn selector(&self) -> RunnerSelector {
        match &self.name {
            Some(name) => RunnerSelector::Name(name.clone()),
            None => RunnerSelector::Index(self.index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner_config::RunnerConfig;

    #[test]
    fn a_runner_named_like_an_index_keeps_its_name() {
        let config = RunnerConfig::parse(
            "[[runners]]\n  name = \"#1\"\n[[runners]]\n  executor = \"shell\"\n",
        )
        .unwrap();
        let runners = config.runners().unwrap();
        assert_eq!(runners[0].selector(), RunnerSelector::Name("#1".into()));
        assert_eq!(runners[1].selector(), RunnerSelector::Index(1));
        assert_eq!(config.select(&runners[1].selector()).unwrap(), 1);
        assert_eq!(
            serde_json::to_string(&runners[0].selector()).unwrap(),
            r##"{"name":"#1"}"##
        );
        assert_eq!(
            serde_json::to_string(&runners[1].selector()).unwrap(),
            r#"{"index":1}"#
        );
    }
}
