//! Criterion benchmark: load a 1,000-runner config (~1.3 MB, written by
//! `benches/gen_config.py`) and set two keys of one runner, in the library.
//! Run: `cargo bench -p runnerkey --bench runner_config`.
#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use runnerkey::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector};

fn config_text() -> String {
    let out = std::env::temp_dir().join("runnerkey-bench-1000.toml");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/gen_config.py");
    let status = Command::new("python3")
        .arg(script)
        .arg(&out)
        .arg("1000")
        .status()
        .expect("run python3 benches/gen_config.py");
    assert!(status.success());
    std::fs::read_to_string(out).unwrap()
}

fn bench(c: &mut Criterion) {
    let text = config_text();
    let runner = RunnerSelector::Name("runner-0500".into());
    let changes = [
        Change::set(KubeKey::Host, "https://new:6443"),
        Change::set(KubeKey::CaFile, "/etc/ssl/kubernetes/ca.crt"),
    ];
    let mut g = c.benchmark_group("runner_config");
    g.sample_size(20);
    g.bench_function("parse-1000-runners", |b| {
        b.iter(|| RunnerConfig::parse(text.clone()).unwrap())
    });
    g.bench_function("parse-and-set-1000-runners", |b| {
        b.iter(|| {
            let mut cfg = RunnerConfig::parse(text.clone()).unwrap();
            cfg.set_kubernetes(&runner, &changes).unwrap();
            cfg
        })
    });
    g.finish();
}

criterion_group!(runner_config, bench);
criterion_main!(runner_config);
