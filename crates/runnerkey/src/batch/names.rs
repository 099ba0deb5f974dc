//! What a batch entry names: its files and its host.

use super::*;

/// The default base name of an entry's files: the user, with every
/// character other than ASCII letters, digits, `.`, `-`, `_`, `@` and `+`
/// replaced by `-`, and a leading `.` too (`gitlab-runner:runner-01` →
/// `gitlab-runner-runner-01`). A `:` in a file name is read as a host by
/// scp and rsync, and `/`, white space or quotes are no better; the user
/// itself stays in the certificate as it is. Two users that give one name
/// (`a:b`, `a-b`) are refused before anything is written
/// ([`BatchProblem::WrittenTwice`]): give them a `name`.
pub fn file_base_name(user: &str) -> String {
    user.chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '@' | '+')
                || (c == '.' && i > 0)
            {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A host name for the user template: letters, digits, `.`, `-`, `_`.
pub(super) fn check_host(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !host.starts_with('.')
        && host != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            field: "host",
            value: host.to_string(),
            reason: "must be a host name: letters, digits, '.', '-' and '_', not empty, not starting with '.'".into(),
        })
    }
}
