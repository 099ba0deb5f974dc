//! Reading inputs and writing outputs as runnerkey does: inputs bounded
//! ([`MAX_INPUT`]; FIFOs, devices and directories refused before a byte is
//! read), outputs written to a temporary file in the same directory and
//! renamed into place, created with their final mode whatever the umask —
//! for writing what the library returns (a kubeconfig, manifests, a
//! certificate) with the same care as its own files.
//!
//! ```
//! use runnerkey::fs::{self, Visibility};
//! # let tmp = tempfile::tempdir().unwrap();
//! let path = tmp.path().join("ssl/kubeconfig");
//! fs::write(&path, b"apiVersion: v1\n", Visibility::Private, false)?; // 0600, dir 0700
//! assert_eq!(fs::read(&path)?, b"apiVersion: v1\n");
//! assert!(fs::write(&path, b"x", Visibility::Private, false).is_err()); // never replaced unasked
//! # Ok::<(), runnerkey::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::file;

/// The largest input read (16 MiB): a PEM, key, CSR, kubeconfig or JSON file.
pub const MAX_INPUT: u64 = file::MAX_INPUT;

/// Who may read what runnerkey writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// The owner only: files 0600, directories 0700 (keys, tokens,
    /// kubeconfigs with credentials).
    Private,
    /// Everyone may read: files 0644, directories 0755 (certificates,
    /// manifests).
    Public,
}

impl Visibility {
    /// The mode of a file.
    pub fn file_mode(self) -> u32 {
        match self {
            Self::Private => file::PRIVATE,
            Self::Public => file::PUBLIC,
        }
    }

    /// The mode of a directory.
    pub fn dir_mode(self) -> u32 {
        match self {
            Self::Private => file::PRIVATE_DIR,
            Self::Public => file::PUBLIC_DIR,
        }
    }
}

/// Reads a whole file of at most [`MAX_INPUT`] bytes, naming it in the
/// error. The path is read as given (a symbolic link is followed: it is
/// the caller's input); FIFOs, devices and directories are refused.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    file::read(path)
}

/// Reads at most [`MAX_INPUT`] bytes from `reader` (standard input, say),
/// refusing more; `name` names it in errors.
pub fn read_from(reader: impl std::io::Read, name: &str) -> Result<Vec<u8>> {
    let name: String = name.chars().take(200).collect();
    file::read_limited(reader, &name)
}

/// Writes `content` to `path` atomically with `visibility`'s mode,
/// creating a missing parent directory with the same visibility; an
/// existing file is replaced only with `overwrite`.
pub fn write(path: &Path, content: &[u8], visibility: Visibility, overwrite: bool) -> Result<()> {
    file::write_atomic(path, content, visibility.file_mode(), overwrite)
}

/// Creates `dir` with `visibility`'s mode and its missing parents 0755
/// (whatever the umask); returns the directories it created, outermost
/// first. An existing directory is left as it is, mode included: see
/// [`writable_ancestors`] to judge one.
pub fn create_dirs(dir: &Path, visibility: Visibility) -> Result<Vec<PathBuf>> {
    file::create_dirs(dir, visibility.dir_mode())
}

/// The directories above `path` that others may write to (group- or
/// world-writable and not sticky), with their modes: whoever can write
/// there can swap the file for one of their own.
pub fn writable_ancestors(path: &Path) -> Vec<(PathBuf, u32)> {
    file::writable_ancestors(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn visibility_sets_file_and_parent_modes() {
        let tmp = tempfile::tempdir().unwrap();
        for (visibility, file_mode, dir_mode) in [
            (Visibility::Private, 0o600, 0o700),
            (Visibility::Public, 0o644, 0o755),
        ] {
            let dir = tmp.path().join(format!("{visibility:?}"));
            let path = dir.join("out");
            write(&path, b"x", visibility, false).unwrap();
            assert_eq!((mode(&path), mode(&dir)), (file_mode, dir_mode));
        }
    }

    #[test]
    fn an_existing_file_is_replaced_only_when_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out");
        write(&path, b"old", Visibility::Public, false).unwrap();
        let err = write(&path, b"new", Visibility::Public, false).unwrap_err();
        assert!(matches!(err, crate::Error::Exists { .. }), "{err:?}");
        assert_eq!(read(&path).unwrap(), b"old");
        write(&path, b"new", Visibility::Public, true).unwrap();
        assert_eq!(read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_stream_over_the_bound_is_refused() {
        let big = std::io::repeat(b'a').take(MAX_INPUT + 1);
        use std::io::Read;
        assert!(matches!(
            read_from(big, "<stdin>"),
            Err(crate::Error::Io { ref path, .. }) if path == Path::new("<stdin>")
        ));
    }
}
