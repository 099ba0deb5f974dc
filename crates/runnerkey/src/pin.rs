//! The identity `setup` pinned for a runner, so that unattended renewal
//! (root's timer) renews exactly that identity and nothing the runner's
//! user planted in its credential directory or config.toml.
//!
//! A pin is a small JSON file in runnerkey's state directory —
//! `$RUNNERKEY_STATE_DIR`, else `/var/lib/runnerkey` for root and
//! `$XDG_STATE_HOME/runnerkey` (`~/.local/state/runnerkey`) for anyone
//! else — under `pins/`, named by a digest of config.toml's absolute path
//! and the runner's name. It is written only by setup (or by an explicit
//! `renew --expect-user`), 0600 in 0700 directories, and read only when the
//! file and every directory of the state tree belong to this user or root
//! and nobody else may write them: the runner's user can neither write nor
//! swap it.

use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::file;
use crate::identity::Identity;
use crate::service_account::ServiceAccountRef;

/// How the pinned identity is renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinnedWay {
    /// A client certificate from the CA or the cluster's CSR API.
    ClientCertificate,
    /// A service account's bearer token.
    BearerToken,
}

/// What setup decided for one runner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// config.toml's absolute path.
    pub config: PathBuf,
    /// The runner's name (`#N` for a runner without one).
    pub runner: String,
    /// The way it authenticates.
    pub way: PinnedWay,
    /// The certificate's user (CN), for a client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The certificate's groups (O).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The cluster CA's SHA-256 fingerprint (as `openssl x509 -fingerprint
    /// -sha256` prints it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_sha256: Option<String>,
    /// The service account, for a token (`NAMESPACE/NAME`; a pin of an
    /// earlier version holds `[NAMESPACE, NAME]`, read the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountRef>,
    /// A CA private key `setup --ca-dir` signed with on this host (the
    /// runner host): `doctor` reports it as long as the file exists there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_key_seen: Option<PathBuf>,
}

impl Pin {
    /// The pinned client-certificate identity, if this pin is for one.
    pub fn identity(&self) -> Option<Identity> {
        let user = self.user.clone()?;
        Identity::new(user, self.groups.clone()).ok()
    }
}

/// The name a pin knows `selector`'s runner by: its name, or `#N` for a
/// runner without one.
pub fn runner_name(
    config: &crate::runner_config::RunnerConfig,
    selector: &crate::runner_config::RunnerSelector,
) -> Result<String> {
    let index = config.select(selector)?;
    Ok(config
        .runners()?
        .into_iter()
        .find(|r| r.index == index)
        .and_then(|r| r.name)
        .unwrap_or_else(|| format!("#{index}")))
}

fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RUNNERKEY_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/lib/runnerkey");
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Path::new(&d).join("runnerkey");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    Path::new(&home).join(".local/state/runnerkey")
}

fn absolute(config: &Path) -> PathBuf {
    fs::canonicalize(config)
        .or_else(|_| std::path::absolute(config))
        .unwrap_or_else(|_| config.to_path_buf())
}

/// Where the pin of `runner` in `config` lives.
pub fn path(config: &Path, runner: &str) -> PathBuf {
    state_path("pins", config, runner)
}

/// A state file of `kind` (`pins`, `pending`) for `runner` in `config`:
/// `STATE_DIR/KIND/DIGEST.json`, the digest of config.toml's absolute path
/// and the runner's name.
pub(crate) fn state_path(kind: &str, config: &Path, runner: &str) -> PathBuf {
    let config = absolute(config);
    let mut text = config.as_os_str().as_encoded_bytes().to_vec();
    text.push(0);
    text.extend_from_slice(runner.as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &text);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    state_dir().join(kind).join(format!("{hex}.json"))
}

/// Records `pin` (replacing the one before).
pub fn record(pin: &Pin) -> Result<PathBuf> {
    let path = path(&pin.config, &pin.runner);
    let text = serde_json::to_vec_pretty(pin)
        .map_err(|e| Error::InvalidArgument(format!("the pin could not be written: {e}")))?;
    write_state(&path, &text)?;
    Ok(path)
}

/// Writes the state file `path` (0600, atomically, in 0700 directories
/// that must be trusted: see [`load`]).
pub(crate) fn write_state(path: &Path, text: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    file::create_dirs(dir, file::PRIVATE_DIR)?;
    trusted(dir)?;
    file::write_atomic(path, text, file::PRIVATE, true)
}

/// The pin of `runner` in `config`, if setup recorded one; an error when
/// one exists that someone else could have written.
pub fn load(config: &Path, runner: &str) -> Result<Option<Pin>> {
    let path = path(config, runner);
    let Some(text) = read_state(&path)? else {
        return Ok(None);
    };
    let pin: Pin = serde_json::from_slice(&text).map_err(|e| Error::Io {
        path: path.clone(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            crate::error::text::without_values(&e.to_string()),
        ),
    })?;
    Ok(Some(pin))
}

/// The state file `path` (at most 64 KiB), if it exists; an error when it
/// exists and someone other than this user or root could have written it
/// or a directory above it.
pub(crate) fn read_state(path: &Path) -> Result<Option<Vec<u8>>> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    trusted(dir)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() || file::other_control(&meta).is_some() {
        return Err(untrusted(path));
    }
    let mut text = Vec::new();
    (&mut f)
        .take(64 * 1024)
        .read_to_end(&mut text)
        .map_err(io)?;
    Ok(Some(text))
}

/// Why someone other than this user (or root) could plant files in the
/// credential directory `dir`, if they could: it, or its version store,
/// belongs to another user or is writable by its group or others.
pub fn writable_by_others(dir: &Path) -> Option<String> {
    [dir.to_path_buf(), dir.join(crate::credential_dir::STORE)]
        .into_iter()
        .find_map(|d| {
            let meta = fs::symlink_metadata(&d).ok()?;
            Some(match file::other_control(&meta)? {
                file::OtherControl::Owner(uid) => {
                    format!(
                        "its credential directory {} belongs to uid {uid}",
                        d.display()
                    )
                }
                file::OtherControl::Writers(mode) => format!(
                    "its credential directory {} may be written by others (mode {:o})",
                    d.display(),
                    mode & 0o777
                ),
            })
        })
}

fn untrusted(path: &Path) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "a pinned identity must belong to this user or root and be writable by no one else: it is not trusted",
        ),
    }
}

/// Every directory from `dir` up to the root must belong to this user or
/// root and be writable by no one else (a sticky world-writable directory
/// such as /tmp excepted, as for any path a root service uses).
fn trusted(dir: &Path) -> Result<()> {
    let mut here = Some(dir);
    while let Some(d) = here {
        let meta = fs::symlink_metadata(d).map_err(|source| Error::Io {
            path: d.to_path_buf(),
            source,
        })?;
        if (meta.file_type().is_symlink() && d == dir) || file::other_control(&meta).is_some() {
            return Err(untrusted(d));
        }
        here = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_keyed_by_config_and_runner_and_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("config.toml");
        fs::write(&config, "").unwrap();
        assert_ne!(path(&config, "a"), path(&config, "b"));
        let pin = Pin {
            config: config.clone(),
            runner: "a".into(),
            way: PinnedWay::ClientCertificate,
            user: Some("u".into()),
            groups: vec!["g".into()],
            ca_sha256: Some("AA:BB".into()),
            service_account: None,
            ca_key_seen: Some("/root/pki/ca.key".into()),
        };
        let text = serde_json::to_string(&pin).unwrap();
        assert_eq!(serde_json::from_str::<Pin>(&text).unwrap(), pin);
        // A pin written before the field existed still reads.
        let old = r#"{"config":"/c","runner":"a","way":"client-certificate","user":"u"}"#;
        assert_eq!(serde_json::from_str::<Pin>(old).unwrap().ca_key_seen, None);
        assert_eq!(pin.identity().unwrap(), Identity::new("u", ["g"]).unwrap());
    }
}
