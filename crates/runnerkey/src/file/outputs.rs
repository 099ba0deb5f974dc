//! Files written all or nothing: staged beside their names, then moved
//! into place together.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{PRIVATE, io, remove_stale_temps_once, sync_dir, temp_path};
use crate::error::{Error, Result};

/// One file to be written by an [`Outputs`] set.
#[derive(Debug)]
struct Pending {
    dest: PathBuf,
    temp: PathBuf,
    overwrite: bool,
    /// An existing file with the same content counts as written.
    same_ok: bool,
}

/// A set of files written all or nothing.
///
/// [`Outputs::add`] writes each file's content to a temporary file beside
/// its destination (created with its final mode); [`Outputs::commit`] moves
/// them all into place. Dropping the set uncommitted removes the temporary
/// files, so an error before the commit leaves no trace.
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    pending: Vec<Pending>,
}

impl Outputs {
    /// An empty set.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Stages `content` for `dest` with `mode`. Fails at once when `dest`
    /// exists and `overwrite` is false.
    pub(crate) fn add(
        &mut self,
        dest: &Path,
        content: &[u8],
        mode: u32,
        overwrite: bool,
    ) -> Result<()> {
        if !overwrite && fs::symlink_metadata(dest).is_ok() {
            return Err(Error::Exists {
                path: dest.to_owned(),
            });
        }
        self.stage(dest, content, mode, overwrite)
    }

    fn stage(&mut self, dest: &Path, content: &[u8], mode: u32, overwrite: bool) -> Result<()> {
        if let Some(dir) = dest.parent() {
            remove_stale_temps_once(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            });
        }
        let temp = temp_path(dest);
        // 0600 from the first byte whatever the final mode; set at the end.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)
            .map_err(io(dest))?;
        self.pending.push(Pending {
            dest: dest.to_owned(),
            temp: temp.clone(),
            overwrite,
            same_ok: false,
        });
        file.write_all(content).map_err(io(dest))?;
        if mode != PRIVATE {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(io(dest))?;
        }
        file.sync_all().map_err(io(dest))?;
        Ok(())
    }

    /// Stages `content` for `dest`, which may exist already with exactly
    /// this content (a file several writers share, such as `ca.crt`): that
    /// counts as written, also when another process wrote it meanwhile.
    pub(crate) fn add_shared(&mut self, dest: &Path, content: &[u8], mode: u32) -> Result<()> {
        match fs::read(dest) {
            Ok(c) if c == content => return Ok(()),
            Ok(_) => {
                return Err(Error::Exists {
                    path: dest.to_owned(),
                });
            }
            // Not there when read: not refused when it appears meanwhile
            // (another writer of the same file); the commit compares.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => {
                return Err(Error::Exists {
                    path: dest.to_owned(),
                });
            }
        }
        self.stage(dest, content, mode, false)?;
        if let Some(p) = self.pending.last_mut() {
            p.same_ok = true;
        }
        Ok(())
    }

    /// Moves every staged file into place and syncs the directories. When
    /// one fails, the files this commit created are removed again (files it
    /// replaced cannot be restored: stage those last).
    pub(crate) fn commit(mut self) -> Result<Vec<PathBuf>> {
        let pending = std::mem::take(&mut self.pending);
        let mut written = Vec::with_capacity(pending.len());
        let mut failed = None;
        for p in &pending {
            if failed.is_some() {
                let _ = fs::remove_file(&p.temp);
                continue;
            }
            let result = if p.overwrite {
                fs::rename(&p.temp, &p.dest)
            } else {
                rename_noreplace(&p.temp, &p.dest)
            };
            let result = match result {
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        && p.same_ok
                        && fs::read(&p.dest).ok() == fs::read(&p.temp).ok() =>
                {
                    let _ = fs::remove_file(&p.temp);
                    continue;
                }
                other => other,
            };
            match result {
                Ok(()) => written.push(p.dest.clone()),
                Err(source) => {
                    let _ = fs::remove_file(&p.temp);
                    failed = Some(if source.kind() == std::io::ErrorKind::AlreadyExists {
                        Error::Exists {
                            path: p.dest.clone(),
                        }
                    } else {
                        Error::Io {
                            path: p.dest.clone(),
                            source,
                        }
                    });
                }
            }
        }
        let mut dirs: Vec<&Path> = written.iter().filter_map(|p| p.parent()).collect();
        dirs.dedup();
        for d in dirs {
            sync_dir(&d.join("."));
        }
        match failed {
            Some(e) => {
                let created = pending.iter().filter(|p| !p.overwrite).map(|p| &p.dest);
                for dest in created.filter(|d| written.contains(d)) {
                    let _ = fs::remove_file(dest);
                }
                Err(e)
            }
            None => Ok(written),
        }
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for p in &self.pending {
            let _ = fs::remove_file(&p.temp);
        }
    }
}

/// Moves `temp` to `dest` unless `dest` exists (`AlreadyExists`), in one
/// step (`renameat2` with `RENAME_NOREPLACE`), so that the file never has
/// a second name another reader could take for a planted hard link; where
/// the file system cannot, by a hard link and an unlink.
fn rename_noreplace(temp: &Path, dest: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, temp, CWD, dest, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            fs::hard_link(temp, dest).and_then(|()| fs::remove_file(temp))
        }
        Err(e) => Err(e.into()),
    }
}
