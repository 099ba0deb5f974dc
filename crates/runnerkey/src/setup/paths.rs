//! Where setup writes: the files of the runner's identity and the rest, in
//! one output directory, after every name is checked.

use std::path::{Path, PathBuf};

use super::SetupParams;
use crate::error::{Error, Result};
use crate::issue::ClientFiles;
use crate::k8s_name::{check_label, check_subdomain};
use crate::kubeconfig::check_server;

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_owned());
    }
    std::env::current_dir()
        .map(|d| d.join(p))
        .map_err(|source| Error::Io {
            path: p.to_owned(),
            source,
        })
}

fn check_names(p: &SetupParams) -> Result<String> {
    check_server(&p.server)?;
    check_label("namespace", &p.namespace)?;
    check_subdomain("service account", &p.service_account)?;
    p.identity.check_system_masters(p.allow_system_masters)?;
    Ok(p.identity.user().to_string())
}

/// The install directory as config.toml will name it: absolute, without
/// `.` or repeated `/`, and without `..` (which the runner host would
/// resolve against directories that may not exist there).
fn install_dir(dir: &Path) -> Result<PathBuf> {
    use std::path::Component;
    let bad = |why: &str| {
        Err(Error::InvalidArgument(format!(
            "install directory {} {why}: it is where the runner host finds the files",
            dir.display()
        )))
    };
    if !dir.is_absolute() {
        return bad("must be absolute");
    }
    if dir.components().any(|c| c == Component::ParentDir) {
        return bad("must not contain '..'");
    }
    Ok(dir.components().collect())
}

/// The paths setup writes, for `params`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SetupPaths {
    /// Private key.
    pub key: PathBuf,
    /// Client certificate.
    pub cert: PathBuf,
    /// Cluster CA certificate.
    pub ca: PathBuf,
    /// CSR (request mode).
    pub csr: PathBuf,
    /// A new key `setup --request` made and `--complete` installs (0600):
    /// the installed key keeps working until then.
    pub staged_key: PathBuf,
    /// CertificateSigningRequest manifest (request mode).
    pub k8s_csr: PathBuf,
    /// RBAC manifests.
    pub rbac: PathBuf,
    /// kubeconfig.
    pub kubeconfig: PathBuf,
    /// The key, certificate and CA certificate as the runner host will find
    /// them (in `install_dir`, else the paths above): what config.toml and
    /// the kubeconfig name.
    pub installed: ClientFiles,
}

impl SetupPaths {
    /// The files in `params.out_dir` (made absolute).
    pub fn new(params: &SetupParams) -> Result<Self> {
        let base = check_names(params)?;
        let d = absolute(&params.out_dir)?;
        let files = ClientFiles::in_dir(&d, &base)?;
        let installed = match &params.install_dir {
            Some(dir) => ClientFiles::in_dir(&install_dir(dir)?, &base)?,
            None => files.clone(),
        };
        Ok(Self {
            key: files.key_file,
            cert: files.cert_file,
            ca: files.ca_file,
            csr: d.join(format!("{base}.csr")),
            staged_key: d.join(format!("{base}.key.staged")),
            k8s_csr: d.join(format!("{base}-csr.yaml")),
            rbac: d.join("rbac.yaml"),
            kubeconfig: d.join("kubeconfig"),
            installed,
        })
    }
}
