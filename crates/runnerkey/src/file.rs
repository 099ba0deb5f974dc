//! Reading inputs and writing outputs safely: private files are created
//! with their final mode, and every output is written to a temporary file
//! in the same directory and renamed into place, so no reader ever sees a
//! half-written file and a failure leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

mod outputs;
pub(crate) use outputs::Outputs;

/// File mode for private keys and anything holding a secret.
pub(crate) const PRIVATE: u32 = 0o600;
/// File mode for certificates and other public material.
pub(crate) const PUBLIC: u32 = 0o644;

/// The largest PEM, key, CSR, kubeconfig or JSON input read.
pub(crate) const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Reads a whole file of at most [`MAX_INPUT`] bytes, naming it in the
/// error; FIFOs, devices and directories are refused before anything is
/// read, so nothing blocks or reads without end.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    read_capped(path, MAX_INPUT)
}

/// Reads `path` (a regular file, at most [`MAX_INPUT`] bytes) only when it
/// belongs to `owner` — checked on the opened file, so that no swap between
/// a check and the read can slip another file in; `None` refuses every
/// file (a path anyone could have chosen).
pub(crate) fn read_owned_by(path: &Path, owner: Option<u32>) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let refuse = |why: String| {
        io(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            why,
        ))
    };
    let Some(owner) = owner else {
        return Err(refuse("named by a file anyone may write: not read".into()));
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    if meta.uid() != owner {
        return Err(refuse(format!(
            "belongs to uid {}, not to uid {owner}",
            meta.uid()
        )));
    }
    let mut data = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() as u64 > MAX_INPUT {
        return Err(refuse(format!(
            "more than the {MAX_INPUT} bytes runnerkey reads"
        )));
    }
    Ok(data)
}

/// Reads at most [`MAX_INPUT`] bytes from `reader` (standard input, say),
/// refusing more; `name` names it in errors.
pub(crate) fn read_limited(reader: impl std::io::Read, name: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: PathBuf::from(name),
        source,
    };
    let mut data = Vec::new();
    reader
        .take(MAX_INPUT + 1)
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() as u64 > MAX_INPUT {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("more than the {MAX_INPUT} bytes runnerkey reads"),
        )));
    }
    Ok(data)
}

/// [`read`] with another size limit.
pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>> {
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

/// The directories above `path` that others may write to (group- or
/// world-writable, and not sticky like `/tmp`, where others cannot rename or
/// remove what they do not own), with their modes: whoever can write there
/// can swap the file for one of their own.
pub(crate) fn writable_ancestors(path: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::MetadataExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .ancestors()
        .skip(1)
        .filter_map(|d| {
            let mode = fs::metadata(d).ok()?.mode() & 0o7777;
            (mode & 0o022 != 0 && mode & 0o1000 == 0).then(|| (d.to_path_buf(), mode))
        })
        .collect()
}

/// Who besides this user and root may change what a file or directory
/// holds: root's decisions never rest on such a thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OtherControl {
    /// It belongs to another user (this uid).
    Owner(u32),
    /// Its group or everyone may write it (this mode), and it is not a
    /// sticky directory like /tmp, where others cannot replace what they do
    /// not own.
    Writers(u32),
}

/// Whether someone other than this user or root controls what `meta`
/// describes (see [`OtherControl`]).
pub(crate) fn other_control(meta: &fs::Metadata) -> Option<OtherControl> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Some(OtherControl::Owner(meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    (mode & 0o022 != 0 && !(meta.is_dir() && mode & 0o1000 != 0))
        .then_some(OtherControl::Writers(mode))
}

/// Mode of a directory that will hold private keys.
pub(crate) const PRIVATE_DIR: u32 = 0o700;
/// Mode of any other directory runnerkey creates.
pub(crate) const PUBLIC_DIR: u32 = 0o755;

/// Creates `dir` with exactly `mode` and its missing parents with
/// [`PUBLIC_DIR`] (whatever the umask), and returns the directories it
/// created, outermost first.
pub(crate) fn create_dirs(dir: &Path, mode: u32) -> Result<Vec<PathBuf>> {
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
        let mode = if p == dir { mode } else { PUBLIC_DIR };
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

/// Writes one file atomically (see [`Outputs`]).
pub(crate) fn write_atomic(dest: &Path, content: &[u8], mode: u32, overwrite: bool) -> Result<()> {
    // A missing parent is created: 0700 for a private file, 0755 otherwise.
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs(
            parent,
            if mode == PRIVATE {
                PRIVATE_DIR
            } else {
                PUBLIC_DIR
            },
        )?;
    }
    let mut out = Outputs::new();
    out.add(dest, content, mode, overwrite)?;
    out.commit().map(|_| ())
}

/// Whether the process with this pid (from a temporary file's name) is
/// gone, so its leftovers may be removed; never for a live process.
pub(crate) fn writer_is_gone(pid: &str) -> bool {
    if pid == std::process::id().to_string() {
        return false;
    }
    pid.chars().all(|c| c.is_ascii_digit())
        && !pid.is_empty()
        && Path::new("/proc/self").exists()
        && !Path::new("/proc").join(pid).exists()
}

/// Removes temporary files runnerkey left in `dir` when a process writing
/// them died (`kill -9`, power loss): `.NAME.runnerkey-PID-N.tmp` of a PID
/// that no longer runs. Some of them may hold private keys.
pub(crate) fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten().take(10_000) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_suffix(".tmp") else {
            continue;
        };
        let Some((_, tail)) = rest.rsplit_once(".runnerkey-") else {
            continue;
        };
        let pid = tail.split('-').next().unwrap_or("");
        if name.starts_with('.') && writer_is_gone(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// [`remove_stale_temps`], once per directory and process: a batch writes
/// thousands of files into one directory, and scanning it before each
/// would take time quadratic in their number.
pub(crate) fn remove_stale_temps_once(dir: &Path) {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static CLEANED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let first = CLEANED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(dir.to_path_buf());
    if first {
        remove_stale_temps(dir);
    }
}

/// Where `path` really is: its symbolic links and `..` resolved as far as
/// it exists, the rest (`..` included) applied to that as written.
pub(crate) fn real_path(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // A file that is not a symbolic link (or does not exist yet) lands in
    // its directory's real path: only the directory is resolved, once per
    // process (a batch writes thousands of files into a few directories,
    // and resolving each path walked every component with readlink).
    let not_a_link = fs::symlink_metadata(&abs).map_or(true, |m| !m.file_type().is_symlink());
    if not_a_link
        && let (Some(parent), Some(name)) = (abs.parent(), abs.file_name())
        && name != ".."
    {
        return real_dir(parent).join(name);
    }
    resolve(&abs)
}

/// `dir` resolved (see [`real_path`]).
fn real_dir(dir: &Path) -> PathBuf {
    resolve(dir)
}

/// An existing path canonicalized, remembered for this process (a batch
/// resolves a few directories thousands of times; canonicalizing walks
/// every component with readlink).
fn canonical(existing: &Path) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(real) = seen.lock().ok().and_then(|m| m.get(existing).cloned()) {
        return Some(real);
    }
    let real = std::fs::canonicalize(existing).ok()?;
    if let Ok(mut m) = seen.lock()
        && m.len() < 4096
    {
        m.insert(existing.to_path_buf(), real.clone());
    }
    Some(real)
}

/// The real path of `abs` (absolute): its longest existing prefix
/// canonicalized, the rest appended (`..` applied).
fn resolve(abs: &Path) -> PathBuf {
    let mut existing = abs;
    let mut rest = Vec::new();
    loop {
        // lstat finds the existing prefix cheaply; only it is resolved.
        if fs::symlink_metadata(existing).is_ok()
            && let Some(mut real) = canonical(existing)
        {
            for part in rest.iter().rev() {
                if part == ".." {
                    real.pop();
                } else {
                    real.push(part);
                }
            }
            return real;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last.as_os_str().to_owned());
                existing = parent;
            }
            _ => return abs.to_path_buf(),
        }
    }
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

#[cfg(test)]
mod tests;
