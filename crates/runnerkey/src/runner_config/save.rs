//! Saving a config: under a lock, after a backup, by atomic replacement
//! that keeps the original's mode and owner and the symlink pointing at it.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{Change, KubeKey, RunnerConfig, RunnerSelector};
use crate::error::{Error, Result};
use crate::file::{sync_dir, temp_path};
use crate::secret::Secret;

/// How to save.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SaveOptions {
    /// Write `config.toml.<UTC timestamp>.bak` first (default true).
    pub backup: bool,
    /// How long to wait for another editor's lock (default 10 s).
    pub lock_timeout: Duration,
    /// How many backups of this config to keep, the newest (default 10;
    /// 3 for a config that holds a bearer token, since every backup holds
    /// a token that may still be live). Older ones are removed after a
    /// successful save.
    pub keep_backups: usize,
}

/// Backups kept of a config holding a bearer token.
pub const KEEP_TOKEN_BACKUPS: usize = 3;

impl Default for SaveOptions {
    fn default() -> Self {
        Self {
            backup: true,
            lock_timeout: Duration::from_secs(10),
            keep_backups: 10,
        }
    }
}

/// What a save did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Saved {
    /// False when there was nothing to write (no file touched, no backup).
    pub changed: bool,
    /// The file written (the target when the config path is a symlink).
    pub path: PathBuf,
    /// The backup written, if any.
    pub backup: Option<PathBuf>,
    /// The original's mode, when the file and its backup were written
    /// readable by their owner only instead (they hold a token).
    pub narrowed_from: Option<u32>,
}

impl Saved {
    /// What narrowing the file's mode means, when it was narrowed.
    pub fn narrowed_note(&self) -> Option<String> {
        self.narrowed_from.map(|mode| {
            format!(
                "{} holds a bearer token and was mode {mode:o}: it and its backup are now readable by their owner only",
                self.path.display()
            )
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The file a path names, through symlinks.
fn real_path(path: &Path) -> Result<PathBuf> {
    fs::canonicalize(path).map_err(io(path))
}

/// An exclusive lock on a config file, held by a sidecar `<file>.lock`
/// beside the real file, released on drop. Every runnerkey editor takes it
/// before reading, so concurrent edits serialise instead of losing each
/// other's changes.
#[derive(Debug)]
pub struct ConfigLock {
    _file: File,
    path: PathBuf,
}

impl ConfigLock {
    /// Waits up to `timeout` for the lock of `config`.
    pub fn acquire(config: &Path, timeout: Duration) -> Result<Self> {
        let real = real_path(config)?;
        let mut name = real.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = real.with_file_name(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // A symbolic link planted at the lock's name is refused, so the
            // lock cannot be used to create or truncate another file.
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io(&path))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file, path }),
                Err(TryLockError::WouldBlock) if start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        path,
                        waited_ms: start.elapsed().as_millis(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn backup_path(real: &Path) -> PathBuf {
    let now = OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let name = real
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let mut candidate = real.with_file_name(format!("{name}.{stamp}.bak"));
    let mut n = 1;
    while fs::symlink_metadata(&candidate).is_ok() {
        candidate = real.with_file_name(format!("{name}.{stamp}.{n}.bak"));
        n += 1;
    }
    candidate
}

/// Writes `content` to a new file with `mode`, owned like `like`, synced.
fn write_new(path: &Path, content: &[u8], mode: u32, like: &fs::Metadata) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    let done = (|| {
        f.write_all(content)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        let meta = f.metadata()?;
        if meta.uid() != like.uid() || meta.gid() != like.gid() {
            std::os::unix::fs::fchown(&f, Some(like.uid()), Some(like.gid()))?;
        }
        f.sync_all()
    })();
    done.map_err(|e| {
        let _ = fs::remove_file(path);
        io(path)(e)
    })
}

impl RunnerConfig {
    /// Takes the lock, then saves (see [`RunnerConfig::save_locked`]).
    pub fn save(&self, options: &SaveOptions) -> Result<Saved> {
        let path = self.file_path()?;
        if !self.is_changed() {
            return Ok(self.unchanged(path));
        }
        let lock = ConfigLock::acquire(path, options.lock_timeout)?;
        self.save_locked(&lock, options)
    }

    /// Whether a runner's `[runners.kubernetes]` holds a `bearer_token`.
    fn holds_bearer_token(&self) -> bool {
        self.runners().is_ok_and(|rs| {
            rs.iter().any(|r| {
                r.kubernetes
                    .as_ref()
                    .and_then(|k| k.bearer_token.as_ref().map(Secret::expose_secret))
                    .is_some_and(|t| !t.is_empty())
            })
        })
    }

    pub(crate) fn file_path(&self) -> Result<&Path> {
        self.path().ok_or_else(|| super::EditProblem::NoFile.into())
    }

    fn unchanged(&self, path: &Path) -> Saved {
        Saved {
            changed: false,
            path: path.to_owned(),
            backup: None,
            narrowed_from: None,
        }
    }

    /// Saves while holding `lock`: nothing happens when unchanged; the
    /// file must still hold what was loaded; a backup is written first
    /// (unless disabled); the new text replaces the file atomically with
    /// the original's mode and owner; a symlinked config stays a symlink.
    pub fn save_locked(&self, lock: &ConfigLock, options: &SaveOptions) -> Result<Saved> {
        let path = self.file_path()?;
        if !self.is_changed() {
            return Ok(self.unchanged(path));
        }
        self.prepare_save(lock, options)?.commit()
    }

    /// Everything of [`RunnerConfig::save_locked`] that can fail, done
    /// without touching the config: the check that the file still holds
    /// what was loaded, the complete backup, and the new text in a synced
    /// temporary file beside it. [`PreparedSave::commit`] then only renames.
    /// Dropping it uncommitted removes the temporary file.
    pub fn prepare_save(&self, lock: &ConfigLock, options: &SaveOptions) -> Result<PreparedSave> {
        let path = self.file_path()?;
        let real = real_path(path)?;
        debug_assert!(
            lock.path()
                .starts_with(real.parent().unwrap_or(Path::new("/")))
        );
        let on_disk = fs::read(&real).map_err(io(&real))?;
        if on_disk != self.original().as_bytes() {
            return Err(Error::ConcurrentModification { path: real });
        }
        let meta = fs::metadata(&real).map_err(io(&real))?;
        // A config holding a bearer token is a secret: the owner's alone,
        // from creation, whatever the original's mode.
        let original = meta.mode() & 0o7777;
        let mode = if self.holds_bearer_token() {
            original & 0o700
        } else {
            original
        };
        crate::file::remove_stale_temps(real.parent().unwrap_or(Path::new(".")));
        let backup = if options.backup {
            // Complete or absent: written under a temporary name, synced,
            // then linked to its final name.
            let b = backup_path(&real);
            let staged = temp_path(&b);
            write_new(&staged, &on_disk, mode, &meta)?;
            let linked = fs::hard_link(&staged, &b);
            let _ = fs::remove_file(&staged);
            linked.map_err(io(&b))?;
            sync_dir(&b);
            Some(b)
        } else {
            None
        };
        let temp = temp_path(&real);
        write_new(&temp, self.text().as_bytes(), mode, &meta)?;
        Ok(PreparedSave {
            temp: Some(temp),
            keep: if self.holds_bearer_token() {
                options.keep_backups.min(KEEP_TOKEN_BACKUPS)
            } else {
                options.keep_backups
            },
            saved: Saved {
                changed: true,
                path: real,
                backup,
                narrowed_from: (mode != original).then_some(original),
            },
        })
    }
}

/// A save prepared by [`RunnerConfig::prepare_save`], waiting to replace
/// the config.
#[derive(Debug)]
pub struct PreparedSave {
    temp: Option<PathBuf>,
    keep: usize,
    saved: Saved,
}

impl PreparedSave {
    /// Replaces the config with the new text (one atomic rename).
    pub fn commit(mut self) -> Result<Saved> {
        let Some(temp) = self.temp.take() else {
            return Ok(self.saved.clone());
        };
        let real = self.saved.path.clone();
        if let Err(e) = fs::rename(&temp, &real) {
            let _ = fs::remove_file(&temp);
            return Err(io(&real)(e));
        }
        sync_dir(&real);
        if self.saved.backup.is_some() {
            prune_backups(&real, self.keep.max(1));
        }
        Ok(self.saved.clone())
    }
}

/// Removes all but the `keep` newest backups of `real` (regular files named
/// `NAME.<UTC stamp>[.N].bak`, as [`backup_path`] makes them).
fn prune_backups(real: &Path, keep: usize) {
    let Some(dir) = real.parent() else { return };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = real
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let prefix = format!("{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut backups: Vec<(std::time::SystemTime, String, PathBuf)> = entries
        .flatten()
        .take(100_000)
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let rest = file.strip_prefix(&prefix)?.strip_suffix(".bak")?;
            let (stamp, n) = rest.split_once('.').unwrap_or((rest, "0"));
            let is_stamp = stamp.len() == 16
                && stamp.ends_with('Z')
                && stamp.as_bytes()[8] == b'T'
                && stamp
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 8 || i == 15 || b.is_ascii_digit());
            if !is_stamp || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let meta = fs::symlink_metadata(e.path()).ok()?;
            if !meta.is_file() {
                return None;
            }
            Some((meta.modified().ok()?, file, e.path()))
        })
        .collect();
    if backups.len() <= keep {
        return;
    }
    backups.sort();
    let remove = backups.len() - keep;
    for (_, _, path) in backups.into_iter().take(remove) {
        let _ = fs::remove_file(path);
    }
}

impl Drop for PreparedSave {
    fn drop(&mut self) {
        if let Some(t) = &self.temp {
            let _ = fs::remove_file(t);
        }
    }
}

/// What [`RunnerConfig::edit_file`] did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Edited {
    /// The keys whose value changed (empty: nothing to do, nothing written).
    pub changed: Vec<KubeKey>,
    /// For a dry run, the unified diff (secrets redacted); empty otherwise.
    pub diff: String,
    /// The save, unless nothing changed or it was a dry run.
    pub saved: Option<Saved>,
}

impl RunnerConfig {
    /// The whole safe edit of a config file: read and check it; when the
    /// changes change something (and this is not a dry run) take the lock,
    /// read it again, apply them and save with a backup. Bad input fails
    /// before any file is created or touched.
    pub fn edit_file(
        path: &Path,
        runner: &RunnerSelector,
        changes: &[Change],
        options: &SaveOptions,
        dry_run: bool,
    ) -> Result<Edited> {
        let mut probe = Self::load(path)?;
        let changed = probe
            .set_kubernetes(runner, changes)
            .map_err(|e| e.in_file(path))?;
        if changed.is_empty() || dry_run {
            let diff = if dry_run {
                probe.diff(false)
            } else {
                String::new()
            };
            return Ok(Edited {
                changed,
                diff,
                saved: None,
            });
        }
        let lock = ConfigLock::acquire(path, options.lock_timeout)?;
        let on_disk = fs::read(path).map_err(io(path))?;
        let (cfg, changed) = if on_disk == probe.original().as_bytes() {
            (probe, changed)
        } else {
            let mut cfg = Self::load(path)?;
            let changed = cfg
                .set_kubernetes(runner, changes)
                .map_err(|e| e.in_file(path))?;
            (cfg, changed)
        };
        if changed.is_empty() {
            return Ok(Edited {
                changed,
                diff: String::new(),
                saved: None,
            });
        }
        let saved = cfg.save_locked(&lock, options)?;
        Ok(Edited {
            changed,
            diff: String::new(),
            saved: Some(saved),
        })
    }
}

#[cfg(test)]
mod tests;
