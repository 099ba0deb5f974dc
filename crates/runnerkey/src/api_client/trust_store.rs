//! The system trust store, for a server with no `ca_file`: found where Go's
//! `crypto/x509` looks on Linux (`SSL_CERT_FILE`, else the first of the
//! distributions' bundle files that reads; then every file of
//! `SSL_CERT_DIR`'s directories, else `/etc/ssl/certs` and
//! `/etc/pki/tls/certs`), but bounded like every other input: regular
//! files only (a FIFO or `/dev/zero` is not read), at most 4 MiB a file,
//! 64 MiB and 10,000 files in all, and a deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustls_pki_types::CertificateDer;

use crate::pem_block;

/// Go's `certFiles` on Linux, in its order.
const CERT_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];
/// Go's `certDirectories` on Linux.
const CERT_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];
const MAX_FILE: u64 = 4 * 1024 * 1024;
const MAX_TOTAL: u64 = 64 * 1024 * 1024;
const MAX_FILES: usize = 10_000;
/// How long loading may take at most.
pub(crate) const DEADLINE: Duration = Duration::from_secs(5);

/// What was read, within the bounds.
struct Budget {
    until: Instant,
    bytes: u64,
    files: usize,
}

impl Budget {
    fn read(&mut self, path: &Path) -> Option<Vec<u8>> {
        if Instant::now() > self.until || self.files >= MAX_FILES || self.bytes >= MAX_TOTAL {
            return None;
        }
        self.files += 1;
        let data = crate::file::read_capped(path, MAX_FILE.min(MAX_TOTAL - self.bytes)).ok()?;
        self.bytes += data.len() as u64;
        Some(data)
    }
}

/// Go's `AppendCertsFromPEM`: every `CERTIFICATE` block without headers.
fn append(data: &[u8], out: &mut Vec<CertificateDer<'static>>) {
    if let Ok(blocks) = pem_block::parse(data) {
        out.extend(
            blocks
                .iter()
                .filter(|b| b.is("CERTIFICATE") && b.headers().next().is_none())
                .map(|b| CertificateDer::from(b.contents().to_vec())),
        );
    }
}

/// The system's trust anchors (possibly none), as Go finds them, bounded.
pub(crate) fn system_roots(deadline: Duration) -> Vec<CertificateDer<'static>> {
    let mut budget = Budget {
        until: Instant::now() + deadline.min(DEADLINE),
        bytes: 0,
        files: 0,
    };
    let mut roots = Vec::new();
    let files: Vec<PathBuf> = match std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        Some(f) => vec![f.into()],
        None => CERT_FILES.iter().map(PathBuf::from).collect(),
    };
    for f in files {
        if let Some(data) = budget.read(&f) {
            append(&data, &mut roots);
            break;
        }
    }
    let dirs: Vec<PathBuf> = match std::env::var_os("SSL_CERT_DIR").filter(|d| !d.is_empty()) {
        Some(d) => std::env::split_paths(&d).collect(),
        None => CERT_DIRS.iter().map(PathBuf::from).collect(),
    };
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten().take(MAX_FILES) {
            let path = e.path();
            // Go's readUniqueDirectoryEntries: a link to a file in the same
            // directory is read once, under its own name.
            if let Ok(target) = std::fs::read_link(&path)
                && !target.to_string_lossy().contains('/')
            {
                continue;
            }
            if let Some(data) = budget.read(&path) {
                append(&data, &mut roots);
            } else if Instant::now() > budget.until || budget.files >= MAX_FILES {
                return roots;
            }
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_reads_and_a_non_file_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = crate::CertificateAuthority::generate(&crate::CaParams::default()).unwrap();
        let bundle = tmp.path().join("b.pem");
        std::fs::write(&bundle, ca.certificate().to_pem()).unwrap();
        let mut budget = Budget {
            until: Instant::now() + DEADLINE,
            bytes: 0,
            files: 0,
        };
        let mut roots = Vec::new();
        append(&budget.read(&bundle).unwrap(), &mut roots);
        assert_eq!(roots.len(), 1);
        assert!(budget.read(Path::new("/dev/zero")).is_none());
        assert!(budget.read(Path::new("/proc/self")).is_none());
    }
}
