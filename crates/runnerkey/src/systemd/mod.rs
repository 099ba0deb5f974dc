//! systemd units that keep runners' identities alive:
//! - `runnerkey-renew@.service`, a oneshot template whose instance is the
//!   runner (escaped as `systemd-escape` does): it runs the renewal, which
//!   does nothing until the credential is due. It is confined (capabilities, file systems, system calls:
//!   `systemd-analyze security` rates it 2.3 of 10): it may write only
//!   config.toml's directory (the renewal record, a token's edit), each
//!   runner's credential directory (in the instance's drop-in) and its pins
//!   in `/var/lib/runnerkey`;
//! - `runnerkey-renew@.timer`, every 5 to 15 minutes (5 minutes after the
//!   last run, plus a random delay of up to 10), so a fleet does not renew
//!   at one instant and a failed attempt is retried soon;
//! - `runnerkey-renew@RUNNER.service.d/runnerkey.conf`, this runner's exact
//!   renewal command and credential directory;
//! - `gitlab-runner.service.d/runnerkey.conf`, an `ExecStartPre=` that
//!   checks every runner of config.toml before gitlab-runner starts: it
//!   names each runner whose identity is unusable, with the command that
//!   recovers it, in the journal, and stops gitlab-runner only when no
//!   runner could work (`status --pre-start`). One runner's expired
//!   identity never stops the others.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file;

/// What the units run and may touch.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RenewUnits {
    /// The runner the units are for (the template's instance).
    pub runner: String,
    /// The renewal command line, program first (absolute).
    pub exec: Vec<String>,
    /// The check gitlab-runner.service runs before it starts (program
    /// first, absolute; it must exit non-zero on an unusable identity).
    /// No drop-in for gitlab-runner.service when empty.
    pub check: Vec<String>,
    /// What runs after every renewal attempt, whether it renewed, found
    /// nothing due or failed (`ExecStopPost=`, its exit status ignored):
    /// the Prometheus text file's refresh, program first, absolute. None
    /// when empty.
    pub metrics: Vec<String>,
    /// The directories the renewal writes (config.toml's, the runner's
    /// credential directory).
    pub writable: Vec<PathBuf>,
    /// Time after one run before the next (`OnUnitActiveSec=`; default `5min`).
    pub interval: String,
    /// The timer's random delay (`RandomizedDelaySec=`; default `10min`).
    pub randomized_delay: String,
}

/// The template units' name.
const TEMPLATE: &str = "runnerkey-renew@";

/// gitlab-runner.service's drop-in, shared by the runners of a host.
const RUNNER_DROPIN: &str = "gitlab-runner.service.d/runnerkey.conf";

/// What the renewal may do, and nothing more (`systemd-analyze security`
/// rates it 2.3 of 10, "OK"). It runs as root, since it writes each
/// runner's credential directory as that directory's owner (its
/// capabilities are those: read and write past file modes, chown, fchmod);
/// it needs the network (the API server: IPv4, IPv6, and local sockets
/// for the resolver), its pins in `/var/lib/runnerkey`
/// (`StateDirectory=`), and writes nowhere else but `ReadWritePaths=`.
const CONFINEMENT: &str = "\
NoNewPrivileges=yes
CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH
ProtectSystem=strict
ProtectHome=read-only
StateDirectory=runnerkey
StateDirectoryMode=0700
PrivateTmp=yes
PrivateDevices=yes
PrivateIPC=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
ProtectClock=yes
ProtectProc=invisible
KeyringMode=private
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
";

impl RenewUnits {
    /// Units for `runner` running `exec`, checked by `check` before
    /// gitlab-runner starts, writing `writable`, every 5 to 15 minutes.
    pub fn new(
        runner: impl Into<String>,
        exec: Vec<String>,
        check: Vec<String>,
        writable: Vec<PathBuf>,
    ) -> Self {
        Self {
            runner: runner.into(),
            exec,
            check,
            metrics: Vec::new(),
            writable,
            interval: "5min".into(),
            randomized_delay: "10min".into(),
        }
    }

    /// The instance's name, without suffix: `runnerkey-renew@RUNNER`, the
    /// runner's name escaped as `systemd-escape` escapes it.
    pub fn name(&self) -> String {
        format!("{TEMPLATE}{}", escape(&self.runner))
    }

    fn check(&self) -> Result<()> {
        if self.runner.is_empty() {
            return Err(Error::InvalidArgument(
                "the units' instance name is empty: it would name the template-wide drop-in directory (runnerkey-renew@.service.d) that every runner's renewal reads".into(),
            ));
        }
        // systemd's limit on a unit name, suffix included.
        if self.name().len() + ".service".len() > 255 {
            return Err(Error::InvalidArgument(format!(
                "the runner name makes a unit name longer than systemd's 255 characters ({} escaped)",
                self.name().len()
            )));
        }
        for (what, command) in [
            ("renewal", &self.exec),
            ("check", &self.check),
            ("metrics", &self.metrics),
        ] {
            let Some(program) = command.first() else {
                if what != "renewal" {
                    continue;
                }
                return Err(Error::InvalidArgument(format!(
                    "the {what} command is empty"
                )));
            };
            if !Path::new(program).is_absolute() {
                return Err(Error::InvalidArgument(format!(
                    "the {what} program {program:?} must be an absolute path"
                )));
            }
            // systemd refuses an executable name with quotes or
            // backslashes (and expands nothing else in it).
            if program.contains(['"', '\'', '\\']) {
                return Err(Error::InvalidArgument(format!(
                    "runner {:?}: the {what} program {program:?} holds a quote or a backslash, which systemd refuses in an executable's name: install runnerkey at a plainer path",
                    self.runner
                )));
            }
        }
        for p in &self.writable {
            let Some(text) = p.to_str() else {
                return Err(Error::InvalidArgument(format!(
                    "runner {:?}: the writable path {:?} is not UTF-8: it cannot go into a unit file",
                    self.runner, p
                )));
            };
            if !p.is_absolute() {
                return Err(Error::InvalidArgument(format!(
                    "runner {:?}: the writable path {text:?} must be absolute",
                    self.runner
                )));
            }
            unit_value(&self.runner, "writable path (ReadWritePaths=)", text)?;
        }
        for (field, values) in [
            ("renewal command (ExecStart=)", &self.exec),
            ("check command (ExecStartPre=)", &self.check),
            ("metrics command (ExecStopPost=)", &self.metrics),
        ] {
            for v in values {
                unit_value(&self.runner, field, v)?;
            }
        }
        unit_value(&self.runner, "interval (OnUnitActiveSec=)", &self.interval)?;
        unit_value(
            &self.runner,
            "random delay (RandomizedDelaySec=)",
            &self.randomized_delay,
        )?;
        unit_value(&self.runner, "instance name", &self.runner)?;
        for (field, value) in [
            ("interval (OnUnitActiveSec=)", &self.interval),
            ("random delay (RandomizedDelaySec=)", &self.randomized_delay),
        ] {
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '.')
            {
                return Err(Error::InvalidArgument(format!(
                    "runner {:?}: the {field} {value:?} is not a systemd time span (e.g. 5min)",
                    self.runner
                )));
            }
        }
        Ok(())
    }

    /// `runnerkey-renew@.service`: the confined oneshot template (its
    /// ExecStart names the runner by `%I`; the instance's drop-in gives
    /// the exact command).
    pub fn service(&self) -> Result<String> {
        self.check()?;
        let mut generic = command_line(&self.exec);
        let runner_arg = self
            .exec
            .iter()
            .position(|a| a.starts_with("--runner=") || a.starts_with("--runner-index="));
        if let Some(i) = runner_arg {
            generic[i] = "--runner=%I".into();
        }
        let config_dirs: Vec<String> = self
            .writable
            .iter()
            .take(1)
            .map(|p| quote_path(&p.display().to_string()))
            .collect();
        Ok(format!(
            "[Unit]\n\
             Description=Renew gitlab-runner %I's Kubernetes identity when it is due (runnerkey)\n\
             After=network-online.target\n\
             Wants=network-online.target\n\
             \n\
             [Service]\n\
             Type=oneshot\n\
             ExecStart={exec}\n\
             UMask=0077\n\
             {confinement}\
             ReadWritePaths={writable}\n",
            exec = generic.join(" "),
            writable = config_dirs.join(" "),
            confinement = CONFINEMENT,
        ))
    }

    /// `runnerkey-renew@RUNNER.service.d/runnerkey.conf`: this runner's
    /// renewal command, the directories it writes, and the metrics'
    /// refresh after it.
    pub fn instance_dropin(&self) -> Result<String> {
        self.check()?;
        let exec = command_line(&self.exec);
        let metrics = if self.metrics.is_empty() {
            String::new()
        } else {
            format!("ExecStopPost=-{}\n", command_line(&self.metrics).join(" "))
        };
        let writable: Vec<String> = self
            .writable
            .iter()
            .map(|p| quote_path(&p.display().to_string()))
            .collect();
        Ok(format!(
            "# {runner}: written by runnerkey systemd\n\
             [Service]\n\
             ExecStart=\n\
             ExecStart={exec}\n\
             {metrics}\
             ReadWritePaths={writable}\n",
            runner = description(&self.runner),
            exec = exec.join(" "),
            writable = writable.join(" "),
        ))
    }

    /// `runnerkey-renew@.timer`.
    pub fn timer(&self) -> Result<String> {
        self.check()?;
        Ok(format!(
            "[Unit]\n\
             Description=Check whether gitlab-runner %I's Kubernetes identity is due for renewal (runnerkey)\n\
             \n\
             [Timer]\n\
             OnBootSec={interval}\n\
             OnUnitActiveSec={interval}\n\
             RandomizedDelaySec={delay}\n\
             \n\
             [Install]\n\
             WantedBy=timers.target\n",
            interval = self.interval,
            delay = self.randomized_delay,
        ))
    }

    /// `gitlab-runner.service.d/runnerkey.conf`: the check before
    /// gitlab-runner starts, one for all runners of its config.toml
    /// (`None` without a check command).
    pub fn runner_dropin(&self) -> Result<Option<String>> {
        self.check()?;
        if self.check.is_empty() {
            return Ok(None);
        }
        let check = command_line(&self.check);
        Ok(Some(format!(
            "# gitlab-runner starts unless no runner's identity could work (runnerkey systemd)\n\
             [Service]\n\
             ExecStartPre={check}\n",
            check = check.join(" "),
        )))
    }

    /// Every file, as (path under `/etc/systemd/system`, text).
    pub fn files(&self) -> Result<Vec<(PathBuf, String)>> {
        let mut files = vec![
            (
                PathBuf::from(format!("{TEMPLATE}.service")),
                self.service()?,
            ),
            (PathBuf::from(format!("{TEMPLATE}.timer")), self.timer()?),
            (
                Path::new(&format!("{}.service.d", self.name())).join("runnerkey.conf"),
                self.instance_dropin()?,
            ),
        ];
        if let Some(text) = self.runner_dropin()? {
            files.push((Path::new(RUNNER_DROPIN).to_path_buf(), text));
        }
        Ok(files)
    }

    /// Writes every file into `ROOT/etc/systemd/system` (mode 0644,
    /// atomically, replacing older ones), and returns their paths. The
    /// per-runner check older versions wrote for this runner
    /// (`gitlab-runner.service.d/runnerkey-RUNNER.conf`, which stopped
    /// gitlab-runner for one runner's identity) goes.
    pub fn install(&self, root: &Path) -> Result<Vec<PathBuf>> {
        let dir = root.join("etc/systemd/system");
        let legacy = dir
            .join("gitlab-runner.service.d")
            .join(format!("runnerkey-{}.conf", escape(&self.runner)));
        if std::fs::symlink_metadata(&legacy).is_ok_and(|m| m.is_file())
            && std::fs::read_to_string(&legacy).is_ok_and(|t| t.contains("(runnerkey systemd)"))
        {
            std::fs::remove_file(&legacy).map_err(|source| Error::Io {
                path: legacy.clone(),
                source,
            })?;
        }
        let files = self.files()?;
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                file::create_dirs(parent, file::PUBLIC_DIR)?;
            }
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

/// Refuses a value that cannot be written into a unit file as data: a
/// control character (a newline would start a directive of its own) or a
/// character that is not a valid Unicode scalar for systemd's parser.
fn unit_value(runner: &str, field: &str, value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::InvalidArgument(format!(
            "runner {runner:?}: the {field} {value:?} holds the control character {c:?}: it cannot go into a unit file"
        )));
    }
    Ok(())
}

/// A path for a space-separated path list (`ReadWritePaths=`): quoted
/// when it holds white space, quotes or backslashes (systemd unquotes and
/// unescapes C-style there), `%` doubled (specifiers are expanded); `$` is
/// not special in these settings.
fn quote_path(path: &str) -> String {
    let escaped = path.replace('%', "%%");
    if escaped.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\')) {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

/// A command line for ExecStart=: the program (where systemd expands no
/// `$`) then its arguments (where `$` must be written `$$`).
pub(crate) fn command_line(argv: &[String]) -> Vec<String> {
    argv.iter()
        .enumerate()
        .map(|(i, a)| if i == 0 { quote_path(a) } else { quote(a) })
        .collect()
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

mod plan;

pub use plan::{RenewSigner, RenewUnitPlan};

#[cfg(test)]
mod tests;
