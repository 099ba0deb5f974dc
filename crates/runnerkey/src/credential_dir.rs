//! The directory holding the runner's key, certificate and CA certificate,
//! replaced as one unit. Every version lives in its own directory under
//! `DIR/.runnerkey/`; `DIR/.runnerkey/current` is a symbolic link to one of
//! them, and the paths config.toml names (`DIR/NAME.key`, `DIR/NAME.crt`,
//! `DIR/ca.crt`) are symbolic links through `current`. A new version is
//! written and synced in full, then `current` is swapped by one atomic
//! rename: whatever instant a process dies, the stable paths show the old
//! files or the new ones, never a mix. The previous version is kept for
//! rollback.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::io::Write;

use crate::error::{Error, Result};
use crate::file::{self, sync_dir};

/// The directory of versions, inside the credential directory.
pub const STORE: &str = ".runnerkey";
const CURRENT: &str = "current";
const PREVIOUS: &str = "previous";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// One file of a version: its name in the directory, content and mode.
#[derive(Clone, Debug)]
pub struct CredentialFile {
    /// The file name, e.g. `gitlab-admin.key` (no `/`).
    pub name: String,
    /// The content.
    pub content: Vec<u8>,
    /// Its mode (0600 for keys).
    pub mode: u32,
}

/// A credential directory (see the module documentation).
#[derive(Clone, Debug)]
pub struct CredentialDir {
    dir: PathBuf,
}

impl CredentialDir {
    /// The credential directory `dir` (not created yet).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.join(STORE)
    }

    /// Writes a complete new version holding `files` and makes it current
    /// in one atomic step, then points the stable paths at it (creating the
    /// symbolic links once, and converting plain files left by an earlier
    /// version without ever showing a mix). The version before is kept as
    /// `previous`; older ones are removed.
    ///
    /// Other files of the current version (another runner's, sharing the
    /// directory) are carried into the new one. One install at a time per
    /// directory (a lock in the store); new directories and files belong to
    /// the credential directory's owner, so a runner that runs as another
    /// user keeps reading them.
    pub fn install(&self, files: &[CredentialFile]) -> Result<()> {
        let store = self.store();
        make_dir(&store)?;
        self.own(&store)?;
        let _lock = self.lock()?;
        self.remove_unreferenced();
        self.adopt_plain_files(files)?;
        let mut all = files.to_vec();
        all.extend(self.others(files)?);
        let version = self.write_version(&all)?;
        let old = fs::read_link(store.join(CURRENT)).ok();
        swap_link(&store.join(CURRENT), &version)?;
        self.link_stable_paths(files)?;
        if let Some(old) = old.filter(|o| *o != version) {
            swap_link(&store.join(PREVIOUS), &old)?;
        }
        self.remove_unreferenced();
        Ok(())
    }

    /// The exclusive lock on this directory's versions, held while it lives.
    fn lock(&self) -> Result<fs::File> {
        let path = self.store().join("lock");
        let lock = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io(&path))?;
        lock.lock().map_err(io(&path))?;
        Ok(lock)
    }

    /// The files of the current version that `files` does not replace.
    fn others(&self, files: &[CredentialFile]) -> Result<Vec<CredentialFile>> {
        let current = self.store().join(CURRENT);
        let Ok(entries) = fs::read_dir(&current) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if files.iter().any(|f| f.name == name) {
                continue;
            }
            let path = e.path();
            let meta = fs::symlink_metadata(&path).map_err(io(&path))?;
            if !meta.file_type().is_file() {
                continue;
            }
            out.push(CredentialFile {
                name,
                content: file::read(&path)?,
                mode: meta.permissions().mode() & 0o777,
            });
        }
        Ok(out)
    }

    /// Gives `path` to the owner of the credential directory, when that is
    /// not who runs this (root renewing a runner that runs as another user).
    fn own(&self, path: &Path) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(&self.dir).map_err(io(&self.dir))?;
        let here = fs::symlink_metadata(path).map_err(io(path))?;
        if (here.uid(), here.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::lchown(path, Some(meta.uid()), Some(meta.gid()))
                .map_err(io(path))?;
        }
        Ok(())
    }

    /// Plain files at the stable paths (from an earlier runnerkey, or made
    /// by hand) become a version of their own first, so that turning each
    /// into a symbolic link never changes what it shows.
    fn adopt_plain_files(&self, files: &[CredentialFile]) -> Result<()> {
        let plain: Vec<&CredentialFile> = files
            .iter()
            .filter(|f| {
                fs::symlink_metadata(self.dir.join(&f.name)).is_ok_and(|m| m.file_type().is_file())
            })
            .collect();
        if plain.is_empty() {
            return Ok(());
        }
        let mut old = Vec::new();
        for f in &plain {
            let path = self.dir.join(&f.name);
            let meta = fs::metadata(&path).map_err(io(&path))?;
            old.push(CredentialFile {
                name: f.name.clone(),
                content: file::read(&path)?,
                mode: meta.permissions().mode() & 0o777,
            });
        }
        let version = self.write_version(&old)?;
        let current = self.store().join(CURRENT);
        swap_link(&current, &version)?;
        let names: Vec<CredentialFile> = plain.into_iter().cloned().collect();
        self.link_stable_paths(&names)
    }

    /// Writes `files` into a fresh version directory, synced.
    fn write_version(&self, files: &[CredentialFile]) -> Result<PathBuf> {
        let store = self.store();
        let name = version_name()?;
        let version = store.join(&name);
        make_dir(&version)?;
        self.own(&version)?;
        for f in files {
            let path = version.join(&f.name);
            let mut out = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(io(&path))?;
            out.write_all(&f.content).map_err(io(&path))?;
            out.set_permissions(fs::Permissions::from_mode(f.mode))
                .map_err(io(&path))?;
            out.sync_all().map_err(io(&path))?;
            self.own(&path)?;
        }
        if let Ok(d) = fs::File::open(&version) {
            let _ = d.sync_all();
        }
        sync_dir(&version);
        Ok(PathBuf::from(name))
    }

    /// `DIR/NAME` → `.runnerkey/current/NAME` for each file, made once.
    fn link_stable_paths(&self, files: &[CredentialFile]) -> Result<()> {
        for f in files {
            let stable = self.dir.join(&f.name);
            let target = Path::new(STORE).join(CURRENT).join(&f.name);
            if fs::read_link(&stable).is_ok_and(|t| t == target) {
                continue;
            }
            swap_link(&stable, &target)?;
        }
        Ok(())
    }

    /// Removes what a process that died left behind: versions neither
    /// `current` nor `previous` point at, and temporary links.
    pub fn clean(&self) {
        if !self.store().is_dir() {
            return;
        }
        if let Ok(_lock) = self.lock() {
            self.remove_unreferenced();
        }
    }

    fn remove_unreferenced(&self) {
        let store = self.store();
        let keep: Vec<PathBuf> = [CURRENT, PREVIOUS]
            .iter()
            .filter_map(|l| fs::read_link(store.join(l)).ok())
            .collect();
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten().take(10_000) {
                let text = e.file_name().to_string_lossy().into_owned();
                if text.ends_with(".tmp-link") && is_stale(&text) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        let Ok(entries) = fs::read_dir(&store) else {
            return;
        };
        for e in entries.flatten() {
            let name = PathBuf::from(e.file_name());
            let text = name.to_string_lossy().into_owned();
            if text.starts_with("v-") && !keep.contains(&name) && is_stale(&text) {
                let _ = fs::remove_dir_all(e.path());
            } else if text.ends_with(".tmp-link") && is_stale(&text) {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    /// The version directory `previous` points at (for rollback).
    #[cfg(test)]
    pub fn previous(&self) -> Option<PathBuf> {
        fs::read_link(self.store().join(PREVIOUS))
            .ok()
            .map(|v| self.store().join(v))
    }
}

/// Whether a version or temporary name was made by a process that no longer
/// runs (names carry the writer's pid), so that a concurrent writer's work
/// in progress is never removed.
fn is_stale(name: &str) -> bool {
    let Some(pid) = name
        .split('-')
        .find_map(|p| p.strip_prefix("pid"))
        .and_then(|p| p.split('.').next())
    else {
        return true;
    };
    pid == std::process::id().to_string() || file::writer_is_gone(pid)
}

fn version_name() -> Result<String> {
    let mut rand = [0u8; 6];
    aws_lc_rs::rand::fill(&mut rand).map_err(|e| Error::Crypto(e.to_string()))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let hex: String = rand.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("v-{stamp}-pid{}-{hex}", std::process::id()))
}

fn make_dir(path: &Path) -> Result<()> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io(path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a symbolic link: runnerkey keeps the versions of keys only in a directory of its own",
        )));
    }
    match fs::DirBuilder::new().mode(file::PRIVATE_DIR).create(path) {
        Ok(()) => {
            fs::set_permissions(path, fs::Permissions::from_mode(file::PRIVATE_DIR))
                .map_err(io(path))?;
            sync_dir(path);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

/// Points the symbolic link `link` at `target` atomically: a new link under
/// a temporary name, renamed over the old one, and the directory synced.
fn swap_link(link: &Path, target: &Path) -> Result<()> {
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rand = [0u8; 4];
    aws_lc_rs::rand::fill(&mut rand).map_err(|e| Error::Crypto(e.to_string()))?;
    let hex: String = rand.iter().map(|b| format!("{b:02x}")).collect();
    let temp = link.with_file_name(format!(".{name}-pid{}-{hex}.tmp-link", std::process::id()));
    std::os::unix::fs::symlink(target, &temp).map_err(io(&temp))?;
    if let Err(e) = fs::rename(&temp, link) {
        let _ = fs::remove_file(&temp);
        return Err(io(link)(e));
    }
    sync_dir(link);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(tag: &str) -> Vec<CredentialFile> {
        vec![
            CredentialFile {
                name: "u.key".into(),
                content: format!("key {tag}").into_bytes(),
                mode: 0o600,
            },
            CredentialFile {
                name: "u.crt".into(),
                content: format!("crt {tag}").into_bytes(),
                mode: 0o644,
            },
        ]
    }

    fn read(dir: &Path, name: &str) -> String {
        String::from_utf8(fs::read(dir.join(name)).unwrap()).unwrap()
    }

    #[test]
    fn versions_swap_as_one_unit_and_keep_the_previous() {
        let tmp = tempfile::tempdir().unwrap();
        let d = CredentialDir::new(tmp.path());
        d.install(&files("1")).unwrap();
        assert_eq!(read(tmp.path(), "u.key"), "key 1");
        d.install(&files("2")).unwrap();
        assert_eq!(
            (read(tmp.path(), "u.key"), read(tmp.path(), "u.crt")),
            ("key 2".into(), "crt 2".into())
        );
        assert_eq!(read(&d.previous().unwrap(), "u.key"), "key 1");
        d.install(&files("3")).unwrap();
        let versions = fs::read_dir(tmp.path().join(STORE))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("v-"))
            .count();
        assert_eq!(versions, 2);
        let mode = fs::metadata(tmp.path().join("u.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn plain_files_are_adopted_without_a_mix() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("u.key"), "old key").unwrap();
        fs::write(tmp.path().join("u.crt"), "old crt").unwrap();
        let d = CredentialDir::new(tmp.path());
        d.install(&files("new")).unwrap();
        assert_eq!(read(tmp.path(), "u.key"), "key new");
        assert_eq!(read(&d.previous().unwrap(), "u.crt"), "old crt");
        assert!(
            fs::symlink_metadata(tmp.path().join("u.crt"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn clean_removes_what_a_dead_writer_left() {
        let tmp = tempfile::tempdir().unwrap();
        let d = CredentialDir::new(tmp.path());
        d.install(&files("1")).unwrap();
        let store = tmp.path().join(STORE);
        let dead_version = store.join("v-1-pid999999999-aaaa");
        fs::create_dir(&dead_version).unwrap();
        let dead_link = store.join(".current-pid999999999-bbbb.tmp-link");
        std::os::unix::fs::symlink("nowhere", &dead_link).unwrap();
        d.clean();
        assert!(!dead_version.exists() && fs::symlink_metadata(&dead_link).is_err());
        assert_eq!(read(tmp.path(), "u.key"), "key 1");
    }
}
