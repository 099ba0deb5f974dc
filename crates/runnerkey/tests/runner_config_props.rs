//! Property test: random sequences of set/unset on random runners of a
//! generated config keep every untouched runner's text byte-identical and
//! the file parseable, with exactly the values asked for.
#![allow(missing_docs)]

use std::collections::HashMap;

use proptest::prelude::*;
use runnerkey::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector};

/// Styles a generated runner can take.
#[derive(Clone, Copy, Debug)]
enum Style {
    NoTable,
    Table,
    TableWithSubtables,
    Inline,
}

fn runner(i: usize, style: Style, crlf: bool) -> String {
    let mut s = format!(
        "# runner {i} comment\n[[runners]]\n  name = \"r{i}\"  # name {i}\n  url = \"https://gitlab.example.com/\"\n  token = \"glrt-{i}\"\n  executor = \"kubernetes\"\n"
    );
    match style {
        Style::NoTable => s.push_str("  [runners.cache]\n    Type = \"s3\"\n"),
        Style::Table => s.push_str("  [runners.kubernetes]\n    # keep me\n    namespace = 'ns' # trailing\n    image = \"alpine\"\n"),
        Style::TableWithSubtables => s.push_str(
            "  [runners.kubernetes]\n    host = \"https://1.2.3.4:6443\"\n    [runners.kubernetes.node_selector]\n      gitlab = \"true\"\n    [[runners.kubernetes.volumes.empty_dir]]\n      name = \"e\"\n      mount_path = \"/e\"\n",
        ),
        Style::Inline => s.push_str("  kubernetes = { namespace = \"inline\", image = \"alpine\" }  # inline\n"),
    }
    s.push('\n');
    if crlf { s.replace('\n', "\r\n") } else { s }
}

fn key() -> impl Strategy<Value = KubeKey> {
    prop::sample::select(KubeKey::ALL.to_vec())
}

fn value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        "[a-z0-9./:_-]{1,20}".prop_map(Some),
        Just(Some("with \"quote\" and 'apostrophe'".to_string())),
        Just(Some("ünïcode ✓".to_string())),
    ]
}

/// The text of each runner: from its leading comment to the next one's.
fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, part) in text.split("# runner ").enumerate() {
        if i > 0 {
            out.push(format!("# runner {part}"));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn untouched_runners_stay_identical(
        styles in prop::collection::vec(prop::sample::select(vec![Style::NoTable, Style::Table, Style::TableWithSubtables, Style::Inline]), 1..6),
        crlf in any::<bool>(),
        ops in prop::collection::vec((0usize..6, prop::collection::vec((key(), value()), 1..4)), 1..8),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("concurrent = 4{eol}check_interval = 0{eol}{eol}");
        for (i, s) in styles.iter().enumerate() {
            text.push_str(&runner(i, *s, crlf));
        }
        let mut cfg = RunnerConfig::parse(text.clone()).unwrap();
        let mut expected: Vec<HashMap<KubeKey, Option<String>>> = vec![HashMap::new(); styles.len()];
        let mut touched = vec![false; styles.len()];
        for (r, changes) in ops {
            let r = r % styles.len();
            let mut seen = Vec::new();
            let changes: Vec<Change> = changes
                .into_iter()
                .filter(|(k, _)| { let new = !seen.contains(k); seen.push(*k); new })
                .map(|(key, value)| match value {
                    Some(v) => Change::set(key, v),
                    None => Change::unset(key),
                })
                .collect();
            let before = cfg.text().to_string();
            let changed = cfg.set_kubernetes(&RunnerSelector::Name(format!("r{r}")), &changes).unwrap();
            if !changed.is_empty() {
                touched[r] = true;
            } else {
                prop_assert_eq!(cfg.text(), before.as_str());
            }
            for c in &changes {
                expected[r].insert(c.key, c.value.clone());
            }
            let after = blocks(cfg.text());
            let orig = blocks(&text);
            prop_assert_eq!(after.len(), orig.len());
            for i in 0..styles.len() {
                if !touched[i] {
                    prop_assert_eq!(&after[i], &orig[i], "runner {} changed", i);
                }
            }
            let head = format!("concurrent = 4{eol}check_interval = 0{eol}");
            prop_assert!(cfg.text().starts_with(&head));
            if !crlf {
                prop_assert!(!cfg.text().contains('\r'));
            } else {
                prop_assert_eq!(cfg.text().matches('\n').count(), cfg.text().matches("\r\n").count());
            }
            let reparsed = RunnerConfig::parse(cfg.text().to_string()).unwrap();
            let runners = reparsed.runners().unwrap();
            prop_assert_eq!(runners.len(), styles.len());
            for (i, want) in expected.iter().enumerate() {
                let k = runners[i].kubernetes.clone().unwrap_or_default();
                for (key, v) in want {
                    let got = k.get(*key).or(k.secret(*key).map(|s| s.expose_secret()));
                    prop_assert_eq!(got, v.as_deref(), "runner {} key {}", i, key);
                }
            }
        }
    }
}
