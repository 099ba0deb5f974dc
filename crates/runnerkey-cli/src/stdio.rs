//! `-` as a file argument: standard input for inputs, standard output for
//! public outputs, and a clear refusal where a secret would be printed or
//! a file is edited in place. Never a file named `-`.

use std::path::Path;

use runnerkey::{Error, Result};

/// Whether the argument is `-`.
pub fn is_dash(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The bytes of an input file, or of standard input for `-` (bounded the
/// same way).
pub fn read(path: &Path) -> Result<Vec<u8>> {
    if is_dash(path) {
        runnerkey::fs::read_from(std::io::stdin().lock(), "<stdin>")
    } else {
        runnerkey::fs::read(path)
    }
}

/// Writes public text to `path`, or to standard output for `-`; says which.
pub fn write_public(path: &Path, text: &str, force: bool) -> Result<bool> {
    if is_dash(path) {
        crate::term::write_raw(text);
        return Ok(false);
    }
    runnerkey::fs::write(
        path,
        text.as_bytes(),
        runnerkey::fs::Visibility::Public,
        force,
    )?;
    Ok(true)
}

/// Refuses `-` where the output holds a secret.
pub fn refuse_for_secret(path: &Path, what: &str) -> Result<()> {
    if is_dash(path) {
        return Err(Error::InvalidArgument(format!(
            "{what} holds a private key and is never written to standard output: give a file"
        )));
    }
    Ok(())
}

/// Refuses `-` for a file that is edited in place.
pub fn refuse_for_edit(path: &Path) -> Result<()> {
    if is_dash(path) {
        return Err(Error::InvalidArgument(
            "the config is edited in place (backup, lock, atomic replace): give its file, not -"
                .into(),
        ));
    }
    Ok(())
}

/// A config to read (show, lint, doctor): the file, or standard input for
/// `-` (then relative paths and file checks are judged from here).
pub fn load_config(path: &Path) -> Result<runnerkey::runner_config::RunnerConfig> {
    if is_dash(path) {
        let data = read(path)?;
        let text = String::from_utf8(data)
            .map_err(|_| Error::InvalidArgument("<stdin>: the config is not valid UTF-8".into()))?;
        return runnerkey::runner_config::RunnerConfig::parse(text)
            .map_err(|e| e.in_file("<stdin>"));
    }
    runnerkey::runner_config::RunnerConfig::load(path)
}
