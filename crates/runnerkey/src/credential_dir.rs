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

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::error::{Error, Result};
use crate::file;

/// The directory of versions, inside the credential directory.
pub const STORE: &str = ".runnerkey";
const CURRENT: &str = "current";
const PREVIOUS: &str = "previous";
/// The most a carried or read credential file may hold.
const MAX_FILE: u64 = 1024 * 1024;

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

/// The credential directory and its store, opened.
struct Opened<'a> {
    path: &'a Path,
    dir: OwnedFd,
    store: OwnedFd,
    /// The credential directory's owner (uid, gid).
    owner: (u32, u32),
}

fn c(name: &str) -> Result<CString> {
    CString::new(name).map_err(|_| Error::InvalidArgument(format!("{name:?} holds a NUL byte")))
}

/// A single path component runnerkey may create or read in a directory.
fn component(name: &str) -> Result<CString> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Error::InvalidArgument(format!(
            "{name:?} is not a file name in the credential directory"
        )));
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

impl Opened<'_> {
    fn err(&self, name: &str) -> impl FnOnce(rustix::io::Errno) -> Error {
        let path = self.path.join(name);
        move |e| Error::Io {
            path,
            source: e.into(),
        }
    }

    /// Gives `fd` to the credential directory's owner when that is not who
    /// runs this (root renewing a runner that runs as another user).
    fn give(&self, fd: &impl AsFd, name: &str) -> Result<()> {
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
    fn lock(&self) -> Result<File> {
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
    fn read_link(&self, dir: &OwnedFd, name: &str) -> Option<String> {
        let target = rustix::fs::readlinkat(dir, c(name).ok()?, Vec::new()).ok()?;
        let text = target.to_str().ok()?;
        (text.starts_with("v-") && !text.contains('/')).then(|| text.to_string())
    }

    fn open_version(&self, version: &str) -> Result<OwnedFd> {
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
    fn others(&self, files: &[CredentialFile]) -> Result<Option<Carried>> {
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
    fn adopt_plain_files(&self, files: &[CredentialFile]) -> Result<()> {
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
                content,
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
    fn write_version(&self, files: &[CredentialFile], carried: Option<&Carried>) -> Result<String> {
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
    fn link_stable_paths(&self, files: &[CredentialFile]) -> Result<()> {
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
    fn swap_link(&self, dir: &OwnedFd, name: &str, target: &str) -> Result<()> {
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

    fn remove_unreferenced(&self) {
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
fn remove_version(store: &OwnedFd, name: &CStr) {
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
fn entries(dir: &OwnedFd) -> Result<Vec<CString>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

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
