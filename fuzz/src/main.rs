//! `runnerkey-fuzz TARGET|all [--runs N] [--seed S] [--out DIR]`: runs the
//! mutation fuzzers (see the library docs); crashing inputs are written to
//! DIR (default `fuzz/crashes`). Exit 1 when anything crashed.

use std::time::Instant;

use runnerkey_fuzz::{Target, fuzz};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.windows(2).find(|w| w[0] == flag).map(|w| w[1].clone());
    let runs: u64 = value("--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = value("--seed").and_then(|v| v.parse().ok()).unwrap_or(1);
    let out = std::path::PathBuf::from(value("--out").unwrap_or_else(|| "fuzz/crashes".into()));
    let targets: Vec<Target> = match args.first().map(String::as_str) {
        Some("all") | None => Target::ALL.to_vec(),
        Some(name) => match Target::from_name(name) {
            Some(t) => vec![t],
            None => {
                eprintln!(
                    "runnerkey-fuzz: unknown target {name:?}; targets: all, {}",
                    Target::ALL.map(Target::name).join(", ")
                );
                return std::process::ExitCode::from(2);
            }
        },
    };
    // Panics are caught and counted; their default report would drown the output.
    std::panic::set_hook(Box::new(|_| {}));
    let mut crashed = false;
    for target in targets {
        let start = Instant::now();
        let outcome = fuzz(target, runs, seed);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{:<10} {:>9} executions in {:>7.1} s ({:>7.0}/s), {:>5.1}% parsed, {} crash(es)",
            target.name(),
            outcome.executions,
            secs,
            outcome.executions as f64 / secs.max(1e-9),
            100.0 * outcome.accepted as f64 / outcome.executions.max(1) as f64,
            outcome.crashes.len()
        );
        for (i, (input, message)) in outcome.crashes.iter().enumerate() {
            crashed = true;
            let _ = std::fs::create_dir_all(&out);
            let path = out.join(format!("{}-{seed}-{i}", target.name()));
            let _ = std::fs::write(&path, input);
            println!("  crash: {message} (input in {})", path.display());
        }
    }
    if crashed {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}
