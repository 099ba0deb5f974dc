//! `runnerkey`: the command-line face of the runnerkey library. It parses
//! arguments, calls the library, prints, and maps errors to exit codes:
//! 0 success, 1 a check found problems, 2 usage or input error. The binary
//! and the Python package's `runnerkey` command both call [`run`].

// The doc comments of the argument structs are clap's help texts, written
// for a terminal (`[[runners]]` is TOML, not a rustdoc link).
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

#[macro_use]
mod term;
mod approver;
mod args;
mod batch;
mod csr_api;
mod demo;
mod doctor;
mod inputs;
mod kube;
mod lifecycle;
mod next_step;
mod pki;
mod report;
mod runner_config;
mod setup;
mod stdio;

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

/// Exit status of a command that ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything fine.
    Ok,
    /// A check found problems.
    Problems,
}

/// How this process was invoked (`argv[0]`): the `runnerkey` console script
/// when the Python package runs the CLI inside an interpreter.
static INVOKED_AS: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The `runnerkey` command a unit file should run: this executable when it
/// is the runnerkey binary; when the CLI runs inside a Python interpreter
/// (the pip-installed console script), the script it was invoked as — never
/// the interpreter, which would take `renew` for a file to run.
pub(crate) fn runnerkey_command() -> runnerkey::Result<std::path::PathBuf> {
    let io = |source| runnerkey::Error::Io {
        path: "runnerkey".into(),
        source,
    };
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(io)?;
    let is_runnerkey = |p: &std::path::Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("runnerkey"))
    };
    if is_runnerkey(&exe) {
        return Ok(exe);
    }
    let script = INVOKED_AS
        .get()
        .filter(|p| is_runnerkey(p))
        .map(|p| std::path::absolute(p).map_err(io))
        .transpose()?
        .filter(|p| p.is_file());
    script.ok_or_else(|| {
        runnerkey::Error::InvalidArgument(format!(
            "cannot tell which runnerkey command the units should run: this process is {} (invoked as {:?}); run the installed runnerkey command by its path",
            exe.display(),
            INVOKED_AS.get()
        ))
    })
}

/// Runs the command line `args` (the program name first) and returns the
/// exit status: 0 success, 1 a check found problems, 2 usage or input error.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(first) = argv.first() {
        let _ = INVOKED_AS.set(std::path::PathBuf::from(first));
    }
    let cli = match args::Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to
            // stderr with 2.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    term::set_quiet(cli.quiet);
    let result = match cli.command {
        args::Command::Ca(args::CaCommand::Init(a)) => pki::ca_init(&a),
        args::Command::Key(args::KeyCommand::Generate(a)) => pki::key_generate(&a),
        args::Command::Csr(args::CsrCommand::Create(a)) => pki::csr_create(&a),
        args::Command::Csr(args::CsrCommand::Sign(a)) => pki::csr_sign(&a),
        args::Command::Issue(a) => pki::issue(&a),
        args::Command::Inspect(a) => report::inspect(&a),
        args::Command::Verify(a) => report::verify(&a),
        args::Command::RunnerConfig(c) => runner_config::run(&c),
        args::Command::Rbac(a) => kube::rbac(&a),
        args::Command::Kubeconfig(a) => kube::kubeconfig(&a),
        args::Command::K8sCsr(args::K8sCsrCommand::Create(a)) => kube::k8s_csr_create(&a),
        args::Command::K8sCsr(args::K8sCsrCommand::Import(a)) => kube::k8s_csr_import(&a),
        args::Command::K8sCsr(args::K8sCsrCommand::Submit(a)) => csr_api::submit(&a),
        args::Command::K8sCsr(args::K8sCsrCommand::Approve(a)) => csr_api::approve(&a),
        args::Command::Approver(args::ApproverCommand::Run(a)) => approver::run(&a),
        args::Command::Approver(args::ApproverCommand::Manifests(a)) => approver::manifests(&a),
        args::Command::Approver(args::ApproverCommand::Unit(a)) => approver::unit(&a),
        args::Command::Setup(a) => setup::run(&a),
        args::Command::Doctor(a) => doctor::run(&a),
        args::Command::Status(a) => lifecycle::status(&a),
        args::Command::Renew(a) => lifecycle::renew(&a),
        args::Command::Systemd(a) => lifecycle::systemd(&a),
        args::Command::Demo(a) => demo::run(&a),
        args::Command::Completion(a) => {
            let mut buf = Vec::new();
            clap_complete::generate(a.shell, &mut args::Cli::command(), "runnerkey", &mut buf);
            term::write_raw(&String::from_utf8_lossy(&buf));
            Ok(Outcome::Ok)
        }
        args::Command::Man => {
            let mut buf = Vec::new();
            match clap_mangen::Man::new(args::Cli::command()).render(&mut buf) {
                Ok(()) => {
                    term::write_raw(&String::from_utf8_lossy(&buf));
                    Ok(Outcome::Ok)
                }
                Err(e) => Err(runnerkey::Error::InvalidArgument(format!(
                    "cannot render the manual page: {e}"
                ))),
            }
        }
    };
    let code = match result {
        Ok(Outcome::Ok) => 0,
        Ok(Outcome::Problems) => 1,
        Err(e) => {
            err!("runnerkey: {}", e.chain());
            // A hint names a flag only when this command has it.
            let flags = command_flags(&argv);
            let hint = |flag: &str, text: &str| {
                if flags.iter().any(|f| f == flag) {
                    err!("runnerkey: hint: {text}");
                }
            };
            match e.root() {
                runnerkey::Error::DuplicateRunner { .. } => {
                    err!(
                        "runnerkey: hint: runner-config set, lint, doctor, renew, status and systemd take --runner-index N"
                    )
                }
                runnerkey::Error::Exists { .. } => hint("force", "--force replaces it"),
                runnerkey::Error::SystemMasters | runnerkey::Error::PrivilegedGroup { .. } => hint(
                    "allow-system-masters",
                    "--allow-system-masters, if you really mean it",
                ),
                runnerkey::Error::PassphraseRequired => {
                    hint("passphrase-file", "--passphrase-file FILE")
                }
                runnerkey::Error::NamespaceRequired => hint("namespace", "--namespace NS"),
                runnerkey::Error::CsrNotIssued {
                    name,
                    state: runnerkey::CsrState::Pending,
                    ..
                } => {
                    err!(
                        "runnerkey: hint: kubectl certificate approve {name}   (as an admin), then export it again"
                    )
                }
                runnerkey::Error::CsrApi(
                    runnerkey::CsrApiProblem::RenewalPending { name, .. }
                    | runnerkey::CsrApiProblem::StillPending {
                        name, kept: true, ..
                    },
                ) => {
                    err!(
                        "runnerkey: hint: kubectl certificate approve {name}   (as an admin), or let `runnerkey approver` approve renewals (docs/renewal.md)"
                    )
                }
                runnerkey::Error::CsrApi(runnerkey::CsrApiProblem::TokenNotVouched { .. }) => {
                    err!(
                        "runnerkey: hint: a token that has expired cannot vouch for itself: run setup --auth token again"
                    )
                }
                runnerkey::Error::TokenNeedsServiceAccount => hint(
                    "service-account",
                    "--service-account NS/NAME with --with-token-secret",
                ),
                runnerkey::Error::NoPin { .. } => err!(
                    "runnerkey: hint: run setup again, which pins the identity, or renew once with --expect-user USER [--expect-group GROUP]…"
                ),
                runnerkey::Error::NotPinned { .. } => {
                    err!("runnerkey: hint: to change the identity, run setup again")
                }
                _ => {}
            }
            return exit_status(e.kind());
        }
    };
    match term::finish() {
        // The reader went away (`runnerkey … | head`): nothing to say, and
        // the command's own outcome stands.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Some(e) => {
            err!("runnerkey: cannot write the output: {e} (the command itself completed)");
            2
        }
        None => code,
    }
}

/// The exit status of a command that failed, by the kind of its error
/// (the one place that decides it): 1 when the cluster, the network or a
/// trust decision said no — a request not granted or still pending, an
/// answer refusing the flow, a server not reached, a credential that cannot
/// be trusted — which is an outcome; 2 when the input is bad. Exhaustive:
/// a new kind does not compile until it is placed here.
fn exit_status(kind: runnerkey::ErrorKind) -> u8 {
    use runnerkey::ErrorKind as K;
    match kind {
        K::CsrNotIssued
        | K::CsrDenied
        | K::ClusterRefused
        | K::Unreachable
        | K::Timeout
        | K::Untrusted
        | K::Crypto => 1,
        K::Io
        | K::Malformed
        | K::PassphraseRequired
        | K::BadPassphrase
        | K::UnsupportedKey
        | K::WeakKey
        | K::KeyMismatch
        | K::NotACa
        | K::CaNotValid
        | K::InvalidName
        | K::SystemMasters
        | K::PrivilegedGroup
        | K::BadSignature
        | K::InvalidArgument
        | K::OutputExists
        | K::ConfigParse
        | K::RunnerNotFound
        | K::DuplicateRunner
        | K::Locked
        | K::ConcurrentModification => 2,
    }
}

/// Prints advice on stderr.
pub(crate) fn warn(message: &str) {
    if term::quiet() {
        return;
    }
    err!("runnerkey: warning: {message}");
}

/// The long flags of the (sub)command `argv` invokes.
fn command_flags(argv: &[OsString]) -> Vec<String> {
    use clap::CommandFactory;
    let root = args::Cli::command();
    let Ok(matches) = root.clone().try_get_matches_from(argv) else {
        return Vec::new();
    };
    let (mut command, mut m) = (&root, &matches);
    while let Some((name, sub)) = m.subcommand() {
        match command.find_subcommand(name) {
            Some(c) => command = c,
            None => break,
        }
        m = sub;
    }
    command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use runnerkey::ErrorKind as K;

    #[test]
    fn outcomes_exit_1_and_bad_input_exits_2() {
        for kind in [
            K::Unreachable,
            K::Timeout,
            K::ClusterRefused,
            K::CsrDenied,
            K::CsrNotIssued,
            K::Untrusted,
        ] {
            assert_eq!(super::exit_status(kind), 1, "{kind:?}");
        }
        for kind in [
            K::InvalidArgument,
            K::InvalidName,
            K::SystemMasters,
            K::PrivilegedGroup,
            K::Malformed,
            K::Io,
            K::ConfigParse,
        ] {
            assert_eq!(super::exit_status(kind), 2, "{kind:?}");
        }
    }
}
