//! Reading inputs and writing outputs safely: private files are created
//! with their final mode, and every output is written to a temporary file
//! in the same directory and renamed into place, so no reader ever sees a
//! half-written file and a failure leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// File mode for private keys and anything holding a secret.
pub const PRIVATE: u32 = 0o600;
/// File mode for certificates and other public material.
pub const PUBLIC: u32 = 0o644;

/// The largest PEM, key, CSR, kubeconfig or JSON input read.
pub const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Reads a whole file of at most [`MAX_INPUT`] bytes, naming it in the
/// error; FIFOs, devices and directories are refused before anything is
/// read, so nothing blocks or reads without end.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    read_capped(path, MAX_INPUT)
}

/// [`read`] with another size limit.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or directory is not read)",
        )));
    }
    if meta.len() > max {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} bytes is more than the {max} bytes runnerkey reads",
                meta.len()
            ),
        )));
    }
    let file = OpenOptions::new()
        .read(true)
        // O_NONBLOCK: a FIFO swapped in after the check cannot block the open.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let mut data = Vec::new();
    file.take(max + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > max {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("more than the {max} bytes runnerkey reads"),
        )));
    }
    Ok(data)
}

/// Mode of a directory that will hold private keys.
pub const PRIVATE_DIR: u32 = 0o700;
/// Mode of any other directory runnerkey creates.
pub const PUBLIC_DIR: u32 = 0o755;

/// Creates `dir` and its missing parents with exactly `mode` (whatever the
/// umask), and returns the directories it created, outermost first.
pub fn create_dirs(dir: &Path, mode: u32) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut missing = Vec::new();
    let mut d = Some(dir);
    while let Some(p) = d.filter(|p| !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err())
    {
        missing.push(p.to_path_buf());
        d = p.parent();
    }
    let mut created = Vec::new();
    for p in missing.iter().rev() {
        let made = fs::DirBuilder::new()
            .mode(mode)
            .create(p)
            .and_then(|()| fs::set_permissions(p, fs::Permissions::from_mode(mode)));
        match made {
            Ok(()) => created.push(p.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(source) => {
                for c in created.iter().rev() {
                    let _ = fs::remove_dir(c);
                }
                return Err(Error::Io {
                    path: p.clone(),
                    source,
                });
            }
        }
    }
    Ok(created)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// One file to be written by an [`Outputs`] set.
#[derive(Debug)]
struct Pending {
    dest: PathBuf,
    temp: PathBuf,
    overwrite: bool,
}

/// A set of files written all or nothing.
///
/// [`Outputs::add`] writes each file's content to a temporary file beside
/// its destination (created with its final mode); [`Outputs::commit`] moves
/// them all into place. Dropping the set uncommitted removes the temporary
/// files, so an error before the commit leaves no trace.
#[derive(Debug, Default)]
pub struct Outputs {
    pending: Vec<Pending>,
}

impl Outputs {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages `content` for `dest` with `mode`. Fails at once when `dest`
    /// exists and `overwrite` is false.
    pub fn add(&mut self, dest: &Path, content: &[u8], mode: u32, overwrite: bool) -> Result<()> {
        if !overwrite && fs::symlink_metadata(dest).is_ok() {
            return Err(Error::Exists {
                path: dest.to_owned(),
            });
        }
        let temp = temp_path(dest);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
            .map_err(io(dest))?;
        self.pending.push(Pending {
            dest: dest.to_owned(),
            temp: temp.clone(),
            overwrite,
        });
        file.write_all(content).map_err(io(dest))?;
        file.sync_all().map_err(io(dest))?;
        Ok(())
    }

    /// Moves every staged file into place and syncs the directories.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
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
                fs::hard_link(&p.temp, &p.dest).and_then(|()| fs::remove_file(&p.temp))
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
            Some(e) => Err(e),
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

/// Writes one file atomically (see [`Outputs`]).
pub fn write_atomic(dest: &Path, content: &[u8], mode: u32, overwrite: bool) -> Result<()> {
    let mut out = Outputs::new();
    out.add(dest, content, mode, overwrite)?;
    out.commit().map(|_| ())
}

/// A temporary name beside `dest`, unique to this process and call.
pub(crate) fn temp_path(dest: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dest.with_file_name(format!(".{name}.runnerkey-{}-{n}.tmp", std::process::id()))
}

/// Syncs the directory holding `path`, so a rename survives a crash.
pub(crate) fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
