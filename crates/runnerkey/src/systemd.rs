//! systemd units that keep a runner's identity alive: a oneshot service that
//! runs the renewal (it does nothing until the certificate is due) and a
//! daily timer with a random delay, so a fleet does not renew at one
//! instant. The service is confined: it may write only the directory that
//! holds the runner's key, certificate and CA certificate.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file;

/// What the units run and may touch.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RenewUnits {
    /// The runner the units are for (names the units).
    pub runner: String,
    /// The renewal command line, program first (absolute).
    pub exec: Vec<String>,
    /// The directories the renewal writes (the runner's credential
    /// directory).
    pub writable: Vec<PathBuf>,
    /// When the timer fires (`OnCalendar=`; default `daily`).
    pub on_calendar: String,
    /// The timer's random delay (`RandomizedDelaySec=`; default `1h`).
    pub randomized_delay: String,
}

impl RenewUnits {
    /// Units for `runner` running `exec` and writing `writable`, daily with
    /// a random delay of up to an hour.
    pub fn new(runner: impl Into<String>, exec: Vec<String>, writable: Vec<PathBuf>) -> Self {
        Self {
            runner: runner.into(),
            exec,
            writable,
            on_calendar: "daily".into(),
            randomized_delay: "1h".into(),
        }
    }

    /// The units' name, without suffix: `runnerkey-renew-RUNNER`, the
    /// runner's name escaped as `systemd-escape` escapes it.
    pub fn name(&self) -> String {
        format!("runnerkey-renew-{}", escape(&self.runner))
    }

    fn check(&self) -> Result<()> {
        // systemd's limit on a unit name, suffix included.
        if self.name().len() + ".service".len() > 255 {
            return Err(Error::InvalidArgument(format!(
                "the runner name makes a unit name longer than systemd's 255 characters ({} escaped)",
                self.name().len()
            )));
        }
        let Some(program) = self.exec.first() else {
            return Err(Error::InvalidArgument(
                "the renewal command is empty".into(),
            ));
        };
        if !Path::new(program).is_absolute() {
            return Err(Error::InvalidArgument(format!(
                "the renewal program {program:?} must be an absolute path"
            )));
        }
        for p in &self.writable {
            if !p.is_absolute() {
                return Err(Error::InvalidArgument(format!(
                    "{} must be an absolute path",
                    p.display()
                )));
            }
        }
        for value in
            self.exec
                .iter()
                .chain([&self.on_calendar, &self.randomized_delay, &self.runner])
        {
            if value.chars().any(char::is_control) {
                return Err(Error::InvalidArgument(format!(
                    "{value:?} holds a control character: it cannot go into a unit file"
                )));
            }
        }
        Ok(())
    }

    /// The `.service` unit.
    pub fn service(&self) -> Result<String> {
        self.check()?;
        let exec: Vec<String> = self.exec.iter().map(|a| quote(a)).collect();
        let writable: Vec<String> = self
            .writable
            .iter()
            .map(|p| quote(&p.display().to_string()))
            .collect();
        Ok(format!(
            "[Unit]\n\
             Description=Renew the Kubernetes client certificate of gitlab-runner {runner} when it is due\n\
             After=network-online.target\n\
             Wants=network-online.target\n\
             \n\
             [Service]\n\
             Type=oneshot\n\
             ExecStart={exec}\n\
             UMask=0077\n\
             NoNewPrivileges=yes\n\
             ProtectSystem=strict\n\
             ProtectHome=read-only\n\
             ReadWritePaths={writable}\n",
            runner = description(&self.runner),
            exec = exec.join(" "),
            writable = writable.join(" "),
        ))
    }

    /// The `.timer` unit.
    pub fn timer(&self) -> Result<String> {
        self.check()?;
        Ok(format!(
            "[Unit]\n\
             Description=Check whether gitlab-runner {runner}'s Kubernetes certificate is due for renewal\n\
             \n\
             [Timer]\n\
             OnCalendar={calendar}\n\
             RandomizedDelaySec={delay}\n\
             Persistent=true\n\
             \n\
             [Install]\n\
             WantedBy=timers.target\n",
            runner = description(&self.runner),
            calendar = self.on_calendar,
            delay = self.randomized_delay,
        ))
    }

    /// Writes both units into `ROOT/etc/systemd/system` (mode 0644,
    /// atomically, replacing older ones), and returns their paths.
    pub fn install(&self, root: &Path) -> Result<Vec<PathBuf>> {
        let dir = root.join("etc/systemd/system");
        let (service, timer) = (self.service()?, self.timer()?);
        file::create_dirs(&dir, file::PUBLIC_DIR)?;
        let mut written = Vec::new();
        for (suffix, text) in [("service", service), ("timer", timer)] {
            let path = dir.join(format!("{}.{suffix}", self.name()));
            file::write_atomic(&path, text.as_bytes(), file::PUBLIC, true)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// A unit-name component as `systemd-escape` makes it: `/` becomes `-`,
/// and every byte but ASCII letters, digits, `:`, `_` and `.` (and a
/// leading `.`) becomes `\xNN`.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i == 0 => out.push_str("\\x2e"),
            b if b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.') => {
                out.push(b as char)
            }
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// A runner name for Description=: quotes and backslashes replaced, `%`
/// doubled (systemd expands specifiers there too).
fn description(runner: &str) -> String {
    format!("{:?}", runner.replace(['"', '\\'], "_")).replace('%', "%%")
}

/// A word for ExecStart=: quoted when it holds white space, quotes,
/// backslashes or `%` (systemd's specifier character, doubled).
fn quote(word: &str) -> String {
    let escaped = word.replace('%', "%%");
    if escaped.is_empty()
        || escaped
            .contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';' | '$'))
    {
        format!(
            "\"{}\"",
            escaped
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "$$")
        )
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_words_are_escaped_as_systemd_wants() {
        assert_eq!(escape("my-runner"), "my\\x2drunner");
        assert_eq!(escape("a/b c"), "a-b\\x20c");
        assert_eq!(escape(".x"), "\\x2ex");
        assert_eq!(quote("/usr/bin/runnerkey"), "/usr/bin/runnerkey");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("100%"), "100%%");
        assert_eq!(quote("$HOME"), "\"$$HOME\"");
    }

    #[test]
    fn relative_programs_and_control_characters_are_refused() {
        let units = RenewUnits::new("r", vec!["runnerkey".into()], vec![]);
        assert!(units.service().is_err());
        let units = RenewUnits::new("r\n[Service]", vec!["/bin/true".into()], vec![]);
        assert!(units.timer().is_err());
        let tmp = tempfile::tempdir().unwrap();
        let ok = RenewUnits::new("r", vec!["/bin/true".into()], vec!["/etc/ssl".into()]);
        let paths = ok.install(tmp.path()).unwrap();
        assert!(paths[0].ends_with("etc/systemd/system/runnerkey-renew-r.service"));
    }
}
