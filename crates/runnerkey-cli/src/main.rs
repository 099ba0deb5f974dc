//! The `runnerkey` binary: [`runnerkey_cli::run`] on the process's arguments.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(runnerkey_cli::run(std::env::args_os()))
}
