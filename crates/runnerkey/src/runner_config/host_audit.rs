//! What on the runner host itself makes its identity unsafe: a cluster CA
//! private key (or the serial file `openssl x509 -CAcreateserial` leaves)
//! beside the runner's files, and group- or world-writable directories on
//! the way to them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cert::Certificate;
use crate::key::PrivateKey;

/// At most this many directory entries are looked at per directory.
const MAX_ENTRIES: usize = 512;
/// Files larger than this are not read as possible keys.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// One thing found on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostRisk {
    /// A private key that signs a certificate of `ca_file` (or named
    /// `ca.key`), readable here.
    CaKey {
        /// The key file.
        path: PathBuf,
        /// Why it is taken for the CA key.
        why: String,
    },
    /// An OpenSSL serial file: the CA signed certificates on this host.
    SerialFile {
        /// The `.srl` file.
        path: PathBuf,
    },
    /// A directory others may write to, on the way to a runner file.
    WritableDirectory {
        /// The directory.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// The runner file below it.
        below: PathBuf,
    },
}

/// Looks beside `files` (the runner's cert, key and CA files) for CA keys
/// and serial files, and up their paths for writable directories.
pub(crate) fn audit(files: &[&Path], cas: &[Certificate]) -> Vec<HostRisk> {
    let mut out = Vec::new();
    let dirs: BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    let runner_files: BTreeSet<PathBuf> = files.iter().map(|f| f.to_path_buf()).collect();
    for dir in &dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten().take(MAX_ENTRIES) {
            let path = entry.path();
            if runner_files.contains(&path) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".srl") {
                out.push(HostRisk::SerialFile { path });
                continue;
            }
            if meta.len() > MAX_KEY_FILE || std::fs::File::open(&path).is_err() {
                continue;
            }
            let Ok(data) = std::fs::read(&path) else {
                continue;
            };
            if !data.windows(11).any(|w| w == b"PRIVATE KEY") {
                continue;
            }
            match PrivateKey::from_pem(&data, None) {
                Ok(key) => {
                    if let Some(ca) = cas.iter().find(|c| key.matches(&c.public_key())) {
                        out.push(HostRisk::CaKey {
                            path,
                            why: format!("it is the private key of the CA {}", ca.subject()),
                        });
                    } else if name == "ca.key" {
                        out.push(HostRisk::CaKey {
                            path,
                            why: "it is named ca.key".into(),
                        });
                    }
                }
                Err(_) if name == "ca.key" => out.push(HostRisk::CaKey {
                    path,
                    why: "it is named ca.key".into(),
                }),
                Err(_) => {}
            }
        }
    }
    let mut seen = BTreeSet::new();
    for f in files {
        for (path, mode) in crate::file::writable_ancestors(f) {
            if seen.insert(path.clone()) {
                out.push(HostRisk::WritableDirectory {
                    path,
                    mode,
                    below: f.to_path_buf(),
                });
            }
        }
    }
    out
}
