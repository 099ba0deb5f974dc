//! The operations on an opened credential directory and its store, all
//! through directory file descriptors (see the parent module).

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::{CURRENT, Carried, CredentialFile, Opened, PREVIOUS, STORE, c, component, read_owned};
use crate::error::{Error, Result};
use crate::file;

impl Opened<'_> {
    pub(super) fn err(&self, name: &str) -> impl FnOnce(rustix::io::Errno) -> Error {
        let path = self.path.join(name);
        move |e| Error::Io {
            path,
            source: e.into(),
        }
    }

    /// Gives `fd` to the credential directory's owner when that is not who
    /// runs this (root renewing a runner that runs as another user).
    pub(super) fn give(&self, fd: &impl AsFd, name: &str) -> Result<()> {
        let st = rustix::fs::fstat(fd).map_err(self.err(name))?;
        if (st.st_uid, st.st_gid) != self.owner {
            rustix::fs::fchown(
                fd,
                Some(rustix::fs::Uid::from_raw(self.owner.0)),
                Some(rustix::fs::Gid::from_raw(self.owner.1)),
            )
            .map_err(self.err(name))?;
        }
        Ok(())
    }

    /// The exclusive lock on this directory's versions, held while it lives.
    pub(super) fn lock(&self) -> Result<File> {
        let name = format!("{STORE}/lock");
        let fd = rustix::fs::openat(
            &self.store,
            c"lock",
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::from_raw_mode(file::PRIVATE),
        )
        .map_err(self.err(&name))?;
        let st = rustix::fs::fstat(&fd).map_err(self.err(&name))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Error::Io {
                path: self.path.join(&name),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "is not a regular file",
                ),
            });
        }
        let lock = File::from(fd);
        lock.lock().map_err(|source| Error::Io {
            path: self.path.join(&name),
            source,
        })?;
        Ok(lock)
    }

    /// Where the link `name` in `dir` points, when that is a version's
    /// plain name (`v-…`, no `/`): anything else is not runnerkey's.
    pub(super) fn read_link(&self, dir: &OwnedFd, name: &str) -> Option<String> {
        let target = rustix::fs::readlinkat(dir, c(name).ok()?, Vec::new()).ok()?;
        let text = target.to_str().ok()?;
        (text.starts_with("v-") && !text.contains('/')).then(|| text.to_string())
    }

    pub(super) fn open_version(&self, version: &str) -> Result<OwnedFd> {
        let name = format!("{STORE}/{version}");
        rustix::fs::openat(
            &self.store,
            component(version)?,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(self.err(&name))
    }

    /// The files of the current version that `files` does not replace,
    /// to be carried into the next one: the current version's directory
    /// and the names, each checked (a regular file of the directory's
    /// owner; anything else stops the install, naming it).
    pub(super) fn others(&self, files: &[CredentialFile]) -> Result<Option<Carried>> {
        let Some(version) = self.read_link(&self.store, CURRENT) else {
            return Ok(None);
        };
        let Ok(vfd) = self.open_version(&version) else {
            return Ok(None);
        };
        let mut names = Vec::new();
        for name in entries(&vfd)? {
            let Some(text) = name.to_str().ok().map(str::to_string) else {
                continue;
            };
            if files.iter().any(|f| f.name == text) {
                continue;
            }
            let st = rustix::fs::statat(&vfd, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(self.err(&text))?;
            let why = if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                Some("is not a regular file".to_string())
            } else if st.st_uid != self.owner.0 {
                Some(format!(
                    "belongs to uid {}, not to the directory's owner",
                    st.st_uid
                ))
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Error::Io {
                    path: self.path.join(STORE).join(&version).join(&text),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!(
                            "{why}: the current version holds it, so no new version is made (move it away)"
                        ),
                    ),
                });
            }
            names.push(name);
        }
        Ok(Some(Carried { from: vfd, names }))
    }

    /// Plain files at the stable paths (from an earlier runnerkey, or made
    /// by hand) become a version of their own first, so that turning each
    /// into a symbolic link never changes what it shows.
    pub(super) fn adopt_plain_files(&self, files: &[CredentialFile]) -> Result<()> {
        let mut old = Vec::new();
        for f in files {
            let n = component(&f.name)?;
            let Ok(st) = rustix::fs::statat(&self.dir, &n, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                continue;
            }
            let content = read_owned(
                &self.dir,
                &f.name,
                &[self.owner.0, rustix::process::geteuid().as_raw()],
                true,
            )
            .map_err(|why| Error::Io {
                path: self.path.join(&f.name),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
            })?;
            old.push(CredentialFile {
                name: f.name.clone(),
                content: content.into(),
                mode: st.st_mode & 0o777,
            });
        }
        if old.is_empty() {
            return Ok(());
        }
        // With every other file of the current version: another identity
        // sharing the directory keeps its files.
        let carried = self.others(&old)?;
        let version = self.write_version(&old, carried.as_ref())?;
        self.swap_link(&self.store, CURRENT, &version)?;
        self.link_stable_paths(&old)
    }

    /// Writes `files` into a fresh version directory, with the `carried`
    /// files of the current version as hard links (the same files, not
    /// copies: nothing is read), synced.
    pub(super) fn write_version(
        &self,
        files: &[CredentialFile],
        carried: Option<&Carried>,
    ) -> Result<String> {
        let version = version_name()?;
        let vname = component(&version)?;
        let label = format!("{STORE}/{version}");
        rustix::fs::mkdirat(&self.store, &vname, Mode::from_raw_mode(file::PRIVATE_DIR))
            .map_err(self.err(&label))?;
        let vfd = self.open_version(&version)?;
        self.give(&vfd, &label)?;
        for f in files {
            let path = format!("{label}/{}", f.name);
            let fd = rustix::fs::openat(
                &vfd,
                component(&f.name)?,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(file::PRIVATE),
            )
            .map_err(self.err(&path))?;
            let mut out = File::from(fd);
            let io = |source| Error::Io {
                path: self.path.join(&path),
                source,
            };
            out.write_all(&f.content).map_err(io)?;
            rustix::fs::fchmod(&out, Mode::from_raw_mode(f.mode & 0o777))
                .map_err(self.err(&path))?;
            out.sync_all().map_err(io)?;
            self.give(&out, &path)?;
        }
        if let Some(c) = carried {
            for name in &c.names {
                rustix::fs::linkat(
                    &c.from,
                    name.as_c_str(),
                    &vfd,
                    name.as_c_str(),
                    AtFlags::empty(),
                )
                .map_err(self.err(&format!("{label}/{}", name.to_string_lossy())))?;
            }
        }
        let _ = rustix::fs::fsync(&vfd);
        let _ = rustix::fs::fsync(&self.store);
        Ok(version)
    }

    /// `DIR/NAME` → `.runnerkey/current/NAME` for each file, made once.
    pub(super) fn link_stable_paths(&self, files: &[CredentialFile]) -> Result<()> {
        for f in files {
            let target = format!("{STORE}/{CURRENT}/{}", f.name);
            let now = rustix::fs::readlinkat(&self.dir, component(&f.name)?, Vec::new());
            if now.is_ok_and(|t| t.as_bytes() == target.as_bytes()) {
                continue;
            }
            self.swap_link(&self.dir, &f.name, &target)?;
        }
        Ok(())
    }

    /// Points the symbolic link `name` in `dir` at `target` atomically: a
    /// new link under a temporary name, renamed over the old one, and the
    /// directory synced.
    pub(super) fn swap_link(&self, dir: &OwnedFd, name: &str, target: &str) -> Result<()> {
        let mut rand = [0u8; 4];
        aws_lc_rs::rand::fill(&mut rand).map_err(|e| Error::Crypto(e.to_string()))?;
        let hex: String = rand.iter().map(|b| format!("{b:02x}")).collect();
        let temp = c(&format!(".{name}-pid{}-{hex}.tmp-link", std::process::id()))?;
        rustix::fs::symlinkat(c(target)?, dir, &temp).map_err(self.err(name))?;
        if let Err(e) = rustix::fs::renameat(dir, &temp, dir, component(name)?) {
            let _ = rustix::fs::unlinkat(dir, &temp, AtFlags::empty());
            return Err(self.err(name)(e));
        }
        let _ = rustix::fs::fsync(dir);
        Ok(())
    }

    pub(super) fn remove_unreferenced(&self) {
        let keep: Vec<String> = [CURRENT, PREVIOUS]
            .iter()
            .filter_map(|l| self.read_link(&self.store, l))
            .collect();
        for (dir, versions) in [(&self.dir, false), (&self.store, true)] {
            let Ok(names) = entries(dir) else { continue };
            for name in names.into_iter().take(10_000) {
                let text = name.to_string_lossy().into_owned();
                if text.ends_with(".tmp-link") && is_stale(&text) {
                    if rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
                    {
                        let _ = rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::empty());
                    }
                } else if versions
                    && text.starts_with("v-")
                    && !keep.contains(&text)
                    && is_stale(&text)
                {
                    remove_version(dir, &name);
                }
            }
        }
    }
}

/// Removes a version directory: its entries (never following a link),
/// then itself. A directory inside (no version has one) is left alone, and
/// so then is the version.
pub(super) fn remove_version(store: &OwnedFd, name: &CStr) {
    let Ok(vfd) = rustix::fs::openat(
        store,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    if let Ok(names) = entries(&vfd) {
        for n in names.iter().take(10_000) {
            let _ = rustix::fs::unlinkat(&vfd, n.as_c_str(), AtFlags::empty());
        }
    }
    let _ = rustix::fs::unlinkat(store, name, AtFlags::REMOVEDIR);
}

/// The names in the directory `dir` (without `.` and `..`).
pub(super) fn entries(dir: &OwnedFd) -> Result<Vec<CString>> {
    let fd = rustix::fs::openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::Io {
        path: PathBuf::from("."),
        source: e.into(),
    })?;
    let mut names = Vec::new();
    let listing = rustix::fs::Dir::read_from(&fd).map_err(|e| Error::Io {
        path: PathBuf::from("."),
        source: e.into(),
    })?;
    for entry in listing.flatten().take(100_000) {
        let n = entry.file_name();
        if n != c"." && n != c".." {
            names.push(n.to_owned());
        }
    }
    Ok(names)
}

/// Whether a version or temporary name was made by a process that no longer
/// runs (names carry the writer's pid), so that a concurrent writer's work
/// in progress is never removed.
pub(super) fn is_stale(name: &str) -> bool {
    let Some(pid) = name
        .split('-')
        .find_map(|p| p.strip_prefix("pid"))
        .and_then(|p| p.split('.').next())
    else {
        return true;
    };
    pid == std::process::id().to_string() || file::writer_is_gone(pid)
}

pub(super) fn version_name() -> Result<String> {
    let mut rand = [0u8; 6];
    aws_lc_rs::rand::fill(&mut rand).map_err(|e| Error::Crypto(e.to_string()))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let hex: String = rand.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("v-{stamp}-pid{}-{hex}", std::process::id()))
}
