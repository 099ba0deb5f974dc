//! The directory holding the runner's key, certificate and CA certificate,
//! replaced as one unit. Every version lives in its own directory under
//! `DIR/.runnerkey/`; `DIR/.runnerkey/current` is a symbolic link to one of
//! them, and the paths config.toml names (`DIR/NAME.key`, `DIR/NAME.crt`,
//! `DIR/ca.crt`) are symbolic links through `current`. A new version is
//! written and synced in full, then `current` is swapped by one atomic
//! rename: whatever instant a process dies, the stable paths show the old
//! files or the new ones, never a mix. The previous version is kept for
//! rollback.
//!
//! The directory may belong to the runner's user while root renews into
//! it, so nothing in it is trusted as a path: every operation goes through
//! file descriptors of directories opened without following symbolic links
//! (`openat`/`mkdirat`/`renameat`/`symlinkat` relative to them, `O_NOFOLLOW`
//! on every open), re-checked after opening (type, owner), and ownership is
//! given only through those descriptors. Files of the current version that
//! a new version carries over (another runner's, sharing the directory)
//! are carried only when they are regular files with one link, owned by
//! the directory's owner — content that owner could read and write
//! already, so copying it gives them nothing.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

use crate::error::{Error, Result};
use crate::file;

/// The directory of versions, inside the credential directory.
pub const STORE: &str = ".runnerkey";
const CURRENT: &str = "current";
const PREVIOUS: &str = "previous";
/// The most a carried or read credential file may hold.
const MAX_FILE: u64 = 1024 * 1024;

/// One file of a version: its name in the directory, content and mode.
/// The content may be a private key: zeroized on drop, never in `Debug`.
#[derive(Clone)]
pub struct CredentialFile {
    /// The file name, e.g. `gitlab-admin.key` (no `/`).
    pub name: String,
    /// The content.
    pub content: zeroize::Zeroizing<Vec<u8>>,
    /// Its mode (0600 for keys).
    pub mode: u32,
}

impl std::fmt::Debug for CredentialFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialFile")
            .field("name", &self.name)
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .field("mode", &format_args!("{:o}", self.mode))
            .finish()
    }
}

/// A credential directory (see the module documentation).
#[derive(Clone, Debug)]
pub struct CredentialDir {
    dir: PathBuf,
}

/// The credential directory and its store, opened.
struct Opened<'a> {
    path: &'a Path,
    dir: OwnedFd,
    store: OwnedFd,
    /// The credential directory's owner (uid, gid).
    owner: (u32, u32),
}

fn c(name: &str) -> Result<CString> {
    CString::new(name).map_err(|_| Error::InvalidName {
        field: "file name",
        value: name.chars().take(200).collect(),
        reason: "it holds a NUL byte".into(),
    })
}

/// A single path component runnerkey may create or read in a directory.
fn component(name: &str) -> Result<CString> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Error::InvalidName {
            field: "file name",
            value: name.chars().take(200).collect(),
            reason: "it is not one name in the credential directory".into(),
        });
    }
    c(name)
}

impl CredentialDir {
    /// The credential directory `dir` (not created yet).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn err(&self, name: &str) -> impl FnOnce(rustix::io::Errno) -> Error + '_ {
        let path = if name.is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(name)
        };
        move |e| Error::Io {
            path,
            source: e.into(),
        }
    }

    fn refuse(&self, name: &str, why: String) -> Error {
        Error::Io {
            path: self.dir.join(name),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
        }
    }

    /// Opens the directory (never through a symbolic link at its last
    /// component) and its store, creating the store when `create`.
    fn open(&self, create: bool) -> Result<Option<Opened<'_>>> {
        let dir = rustix::fs::open(
            &self.dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR {
                self.refuse(
                    "",
                    "is not a directory (a symbolic link is not followed here)".into(),
                )
            } else {
                self.err("")(e)
            }
        })?;
        let st = rustix::fs::fstat(&dir).map_err(self.err(""))?;
        let owner = (st.st_uid, st.st_gid);
        let store_name = c(STORE)?;
        if create {
            match rustix::fs::mkdirat(&dir, &store_name, Mode::from_raw_mode(file::PRIVATE_DIR)) {
                Ok(()) => {
                    let _ = rustix::fs::fsync(&dir);
                }
                Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(self.err(STORE)(e)),
            }
        }
        let store = match rustix::fs::openat(
            &dir,
            &store_name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) if !create => return Ok(None),
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                return Err(self.refuse(
                    STORE,
                    "is not a directory: runnerkey keeps the versions of keys only in a directory of its own, never through a symbolic link".into(),
                ));
            }
            Err(e) => return Err(self.err(STORE)(e)),
        };
        let opened = Opened {
            path: &self.dir,
            dir,
            store,
            owner,
        };
        let st = rustix::fs::fstat(&opened.store).map_err(self.err(STORE))?;
        let me = rustix::process::geteuid().as_raw();
        if st.st_uid != owner.0 && st.st_uid != me {
            return Err(self.refuse(
                STORE,
                format!(
                    "belongs to uid {}, neither the directory's owner ({}) nor this user ({me})",
                    st.st_uid, owner.0
                ),
            ));
        }
        opened.give(&opened.store, STORE)?;
        rustix::fs::fchmod(&opened.store, Mode::from_raw_mode(file::PRIVATE_DIR))
            .map_err(self.err(STORE))?;
        Ok(Some(opened))
    }

    /// Writes a complete new version holding `files` and makes it current
    /// in one atomic step, then points the stable paths at it (creating the
    /// symbolic links once, and converting plain files left by an earlier
    /// version without ever showing a mix). The version before is kept as
    /// `previous`; older ones are removed.
    ///
    /// Other files of the current version (another runner's, sharing the
    /// directory) are carried into the new one (see the module
    /// documentation for which). One install at a time per directory (a
    /// lock in the store); new directories and files belong to the
    /// credential directory's owner, so a runner that runs as another user
    /// keeps reading them.
    pub fn install(&self, files: &[CredentialFile]) -> Result<()> {
        for f in files {
            component(&f.name)?;
        }
        let Some(o) = self.open(true)? else {
            return Err(self.refuse(STORE, "could not be created".into()));
        };
        let _lock = o.lock()?;
        o.remove_unreferenced();
        o.adopt_plain_files(files)?;
        let carried = o.others(files)?;
        let version = o.write_version(files, carried.as_ref())?;
        let old = o.read_link(&o.store, CURRENT);
        o.swap_link(&o.store, CURRENT, &version)?;
        o.link_stable_paths(files)?;
        if let Some(old) = old.filter(|v| *v != version) {
            o.swap_link(&o.store, PREVIOUS, &old)?;
        }
        o.remove_unreferenced();
        Ok(())
    }

    /// The content of the current version's file `name`, read through the
    /// stable path only when that is runnerkey's own link into the current
    /// version (or a plain file of the directory's owner), without
    /// following any symbolic link someone else could have put there.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let n = component(name)?;
        let dir = rustix::fs::open(
            &self.dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(self.err(""))?;
        let owner = rustix::fs::fstat(&dir).map_err(self.err(""))?.st_uid;
        let expected = format!("{STORE}/{CURRENT}/{name}");
        match rustix::fs::readlinkat(&dir, &n, Vec::new()) {
            Ok(target) => {
                if target.as_bytes() != expected.as_bytes() {
                    return Err(self.refuse(
                        name,
                        format!(
                            "is a symbolic link to {:?}, not runnerkey's link into its current version ({expected}): it is not followed",
                            String::from_utf8_lossy(target.as_bytes())
                        ),
                    ));
                }
                let Some(o) = self.open(false)? else {
                    return Err(self.refuse(STORE, "does not exist".into()));
                };
                let version = o.read_link(&o.store, CURRENT).ok_or_else(|| {
                    self.refuse(
                        &format!("{STORE}/{CURRENT}"),
                        "is not a link to a version".into(),
                    )
                })?;
                let vfd = o.open_version(&version)?;
                // Every file runnerkey writes into a version belongs to the
                // directory's owner (or to this user, when the directory was
                // given away after); versions share files by hard link, and
                // with the kernel's protected_hardlinks nobody links a file
                // they could not read into one.
                let me = rustix::process::geteuid().as_raw();
                read_owned(&vfd, name, &[owner, me], !protected_hardlinks())
                    .map_err(|why| self.refuse(name, why))
            }
            Err(rustix::io::Errno::INVAL) => read_owned(
                &dir,
                name,
                &[owner, rustix::process::geteuid().as_raw()],
                true,
            )
            .map_err(|why| self.refuse(name, why)),
            Err(e) => Err(self.err(name)(e)),
        }
    }

    /// Removes what a process that died left behind: versions neither
    /// `current` nor `previous` point at, and temporary links.
    pub fn clean(&self) {
        if let Ok(Some(o)) = self.open(false)
            && let Ok(_lock) = o.lock()
        {
            o.remove_unreferenced();
        }
    }

    /// The version directory `previous` points at (for rollback).
    #[cfg(test)]
    pub fn previous(&self) -> Option<PathBuf> {
        std::fs::read_link(self.dir.join(STORE).join(PREVIOUS))
            .ok()
            .map(|v| self.dir.join(STORE).join(v))
    }
}

/// Whether the kernel refuses hard links to files the linker may not read
/// and write (`fs.protected_hardlinks`, on by default on every current
/// distribution).
fn protected_hardlinks() -> bool {
    std::fs::read_to_string("/proc/sys/fs/protected_hardlinks").is_ok_and(|v| v.trim() == "1")
}

/// Files of the current version to carry into the next.
struct Carried {
    from: OwnedFd,
    names: Vec<CString>,
}

/// Reads `name` in `dir` when it is a regular file with one link owned by
/// one of `owners`, at most [`MAX_FILE`] bytes; otherwise why not.
fn read_owned(
    dir: &OwnedFd,
    name: &str,
    owners: &[u32],
    single_link: bool,
) -> std::result::Result<Vec<u8>, String> {
    let n = component(name).map_err(|e| e.to_string())?;
    let fd = rustix::fs::openat(
        dir,
        &n,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::LOOP => "is a symbolic link: it is not followed".to_string(),
        e => std::io::Error::from(e).to_string(),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| std::io::Error::from(e).to_string())?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err("is not a regular file".into());
    }
    if single_link && st.st_nlink != 1 {
        return Err(format!(
            "has {} hard links: a file with another name elsewhere is not taken",
            st.st_nlink
        ));
    }
    if !owners.contains(&st.st_uid) {
        return Err(format!(
            "belongs to uid {}, not to the directory's owner: it is not taken",
            st.st_uid
        ));
    }
    let mut data = Vec::new();
    File::from(fd)
        .take(MAX_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| e.to_string())?;
    if data.len() as u64 > MAX_FILE {
        return Err(format!("holds more than {MAX_FILE} bytes"));
    }
    Ok(data)
}

mod opened;

#[cfg(test)]
mod tests;
