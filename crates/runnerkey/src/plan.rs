//! A plan of outputs (for `setup` and [`EnsureParams`](crate::EnsureParams)):
//! every file prepared in memory, compared with what is on disk, then
//! staged as temporary files and committed together.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cert::Certificate;
use crate::credential_dir::CredentialFile;
use crate::error::{Error, Result};
use crate::file::{self, Outputs};
use crate::key::{KeyAlgorithm, PrivateKey};

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FileAction {
    /// The file.
    pub path: PathBuf,
    /// What happened to it (or, in a dry run, would).
    pub action: FileChange,
    /// Its mode.
    pub mode: String,
    /// What it is for.
    pub purpose: &'static str,
}

/// What happened to one file, as `setup`, `issue --keep-valid` and the
/// batch report it (the text is the serialised form, e.g. `"would be
/// created"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum FileChange {
    /// Left as it is.
    #[serde(rename = "unchanged")]
    Unchanged,
    /// Written where there was none.
    #[serde(rename = "created")]
    Created,
    /// Replaced.
    #[serde(rename = "updated")]
    Updated,
    /// A kept key others could read, made 0600.
    #[serde(rename = "mode set to 600")]
    ModeSetTo600,
    /// A dry run's [`FileChange::Created`].
    #[serde(rename = "would be created")]
    WouldBeCreated,
    /// A dry run's [`FileChange::Updated`].
    #[serde(rename = "would be updated")]
    WouldBeUpdated,
    /// A dry run's [`FileChange::ModeSetTo600`].
    #[serde(rename = "mode would be set to 600")]
    ModeWouldBeSetTo600,
}

impl FileChange {
    /// The text: `unchanged`, `created`, `would be created`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            FileChange::Unchanged => "unchanged",
            FileChange::Created => "created",
            FileChange::Updated => "updated",
            FileChange::ModeSetTo600 => "mode set to 600",
            FileChange::WouldBeCreated => "would be created",
            FileChange::WouldBeUpdated => "would be updated",
            FileChange::ModeWouldBeSetTo600 => "mode would be set to 600",
        }
    }

    /// This change as a dry run states it (`would be ...`) when `dry_run`.
    fn planned(self, dry_run: bool) -> Self {
        match (self, dry_run) {
            (FileChange::Created, true) => FileChange::WouldBeCreated,
            (FileChange::Updated, true) => FileChange::WouldBeUpdated,
            (FileChange::ModeSetTo600, true) => FileChange::ModeWouldBeSetTo600,
            (change, _) => change,
        }
    }
}

crate::named::display_as_str!(FileChange);

/// Files prepared in memory, then staged and committed together.
pub(crate) struct Plan {
    dry_run: bool,
    files: Vec<(PathBuf, Vec<u8>, u32, bool, &'static str)>,
    /// Kept keys whose mode lets others read them: set to 0600 on commit.
    modes: Vec<PathBuf>,
    pub(crate) actions: Vec<FileAction>,
    /// Files several writers may create at once with the same content
    /// (a shared `ca.crt`): one already there with that content is fine.
    shared: Vec<PathBuf>,
}

impl Plan {
    /// An empty plan.
    pub(crate) fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            files: Vec::new(),
            modes: Vec::new(),
            actions: Vec::new(),
            shared: Vec::new(),
        }
    }

    /// Records a file that stays as it is.
    pub(crate) fn keep(&mut self, path: &Path, mode: u32, purpose: &'static str) {
        self.actions.push(FileAction {
            path: path.to_owned(),
            action: FileChange::Unchanged,
            mode: format!("{mode:o}"),
            purpose,
        });
    }

    /// The runner's key: the existing one, kept, unless `force`;
    /// otherwise (when `generate`) a new `algorithm` key, staged for
    /// writing.
    pub(crate) fn key(
        &mut self,
        path: &Path,
        algorithm: KeyAlgorithm,
        force: bool,
        generate: bool,
        purpose: &'static str,
    ) -> Result<PrivateKey> {
        let exists = std::fs::symlink_metadata(path).is_ok();
        if (exists && !force) || !generate {
            let key = PrivateKey::load(path, None)?;
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(file::PRIVATE);
            if mode & 0o077 != 0 {
                self.actions.push(FileAction {
                    path: path.to_owned(),
                    action: FileChange::ModeSetTo600.planned(self.dry_run),
                    mode: format!("{mode:o}"),
                    purpose,
                });
                self.modes.push(path.to_owned());
            } else {
                self.keep(path, mode, purpose);
            }
            return Ok(key);
        }
        let key = PrivateKey::generate(algorithm)?;
        self.add(
            path,
            key.to_pem().as_bytes().to_vec(),
            file::PRIVATE,
            force,
            purpose,
        )?;
        Ok(key)
    }

    /// Takes the runner's key, certificate and CA certificate out of the
    /// plan when any of them changes, as one unit for a
    /// [`CredentialDir`](crate::credential_dir::CredentialDir): the changed
    /// ones with their new content, the others with their bytes on disk.
    /// `None` when none of them changes.
    pub(crate) fn take_credentials(
        &mut self,
        paths: &[&Path],
    ) -> Result<Option<Vec<CredentialFile>>> {
        if !self.files.iter().any(|f| paths.contains(&f.0.as_path())) {
            return Ok(None);
        }
        let mut out = Vec::new();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (content, mode) = match self.files.iter().position(|f| f.0 == *path) {
                Some(i) => {
                    let (_, content, mode, _, _) = self.files.remove(i);
                    (content, mode)
                }
                None => {
                    let mode = if self.modes.iter().any(|m| m == path) {
                        file::PRIVATE
                    } else {
                        std::fs::metadata(path)
                            .map(|m| m.permissions().mode() & 0o777)
                            .map_err(|source| Error::Io {
                                path: path.to_path_buf(),
                                source,
                            })?
                    };
                    (file::read(path)?, mode)
                }
            };
            out.push(CredentialFile {
                name,
                content: content.into(),
                mode,
            });
        }
        Ok(Some(out))
    }

    /// Sets the mode of kept keys that others could read to 0600.
    pub(crate) fn fix_modes(&self) -> Result<()> {
        for path in &self.modes {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(file::PRIVATE))
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// A certificate file, left alone when it already holds `cert` (even
    /// with other formatting or comments around the PEM).
    pub(crate) fn add_certificate(
        &mut self,
        path: &Path,
        cert: &Certificate,
        purpose: &'static str,
    ) -> Result<()> {
        self.add_certificates(path, std::slice::from_ref(cert), purpose)
    }

    /// A certificate and the chain sent with it (a leaf issued by an
    /// intermediate CA, then that CA and the ones above it), kept when the
    /// file holds exactly these.
    pub(crate) fn add_certificates(
        &mut self,
        path: &Path,
        certs: &[Certificate],
        purpose: &'static str,
    ) -> Result<()> {
        if Certificate::load_all(path).is_ok_and(|c| c == certs) {
            self.keep(path, file::PUBLIC, purpose);
            Ok(())
        } else {
            let pem: String = certs.iter().map(Certificate::to_pem).collect();
            self.add(path, pem.into_bytes(), file::PUBLIC, true, purpose)
        }
    }

    pub(crate) fn add(
        &mut self,
        path: &Path,
        content: Vec<u8>,
        mode: u32,
        replace: bool,
        purpose: &'static str,
    ) -> Result<()> {
        // Whatever is there counts, readable or not (a dangling link, a
        // file others made unreadable): it is replaced only when allowed.
        // What is not a regular file (a directory) is never replaced.
        let exists = std::fs::symlink_metadata(path).is_ok();
        let existing = match exists.then(|| file::read(path)) {
            None => None,
            Some(Ok(old)) => Some(old),
            Some(Err(Error::Io { source, .. }))
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                None
            }
            Some(Err(e)) => return Err(e),
        };
        let action = match (&existing, exists) {
            (Some(old), _) if *old == content => FileChange::Unchanged,
            (_, true) if !replace => {
                return Err(Error::Exists {
                    path: path.to_owned(),
                });
            }
            (_, true) => FileChange::Updated,
            (_, false) => FileChange::Created,
        };
        self.actions.push(FileAction {
            path: path.to_owned(),
            action: action.planned(self.dry_run),
            mode: format!("{mode:o}"),
            purpose,
        });
        if action != FileChange::Unchanged {
            self.files
                .push((path.to_owned(), content, mode, exists, purpose));
        }
        Ok(())
    }

    /// Marks `path` as shared: when it does not exist yet, another writer
    /// creating it with the same content first is not a conflict.
    pub(crate) fn share(&mut self, path: &Path) {
        self.shared.push(path.to_owned());
    }

    /// Stages every file (creating `dir` if needed; removed again if
    /// staging fails) and returns the staged set.
    pub(crate) fn stage(&self, dir: &Path) -> Result<(Outputs, Vec<PathBuf>)> {
        // The directory holds the runner's key: 0700 whatever the umask.
        let created = file::create_dirs(dir, file::PRIVATE_DIR)?;
        let mut out = Outputs::new();
        for (path, content, mode, exists, _) in &self.files {
            let added = if !exists && self.shared.contains(path) {
                out.add_shared(path, content, *mode)
            } else {
                out.add(path, content, *mode, *exists)
            };
            if let Err(e) = added {
                drop(out);
                remove_dirs(&created);
                return Err(e);
            }
        }
        Ok((out, created))
    }
}

fn remove_dirs(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

#[cfg(test)]
mod tests {
    use super::FileChange;

    #[test]
    fn file_changes_read_as_before_and_a_dry_run_says_would_be() {
        for (change, text, planned) in [
            (FileChange::Unchanged, "unchanged", "unchanged"),
            (FileChange::Created, "created", "would be created"),
            (FileChange::Updated, "updated", "would be updated"),
            (
                FileChange::ModeSetTo600,
                "mode set to 600",
                "mode would be set to 600",
            ),
        ] {
            assert_eq!(serde_json::to_value(change).unwrap(), text);
            assert_eq!(change.planned(false), change);
            let dry = change.planned(true);
            assert_eq!(serde_json::to_value(dry).unwrap(), planned);
            assert_eq!((dry.as_str(), dry.to_string()), (planned, planned.into()));
        }
        assert_eq!(format!("{:<10}|", FileChange::Created), "created   |");
    }
}
