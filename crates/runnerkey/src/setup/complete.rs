//! `setup --complete`: the split way's second half on the runner host —
//! the certificate signed elsewhere (or the CertificateSigningRequest
//! object holding it) installed with the key `setup --request` staged, as
//! one switch.

use std::path::Path;

use super::{SetupParams, SetupPaths, SetupReport, Signed, Source, request, run};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::key::PrivateKey;

/// See [`SetupParams::complete`].
pub(super) fn complete(
    params: &SetupParams,
    ca_file: &Path,
    signed: Signed<'_>,
) -> Result<SetupReport> {
    let paths = SetupPaths::new(params)?;
    let staged = match params.keep_key {
        true => None,
        false => request::staged_key(&paths)?,
    };
    let ca = crate::ca::load_certificates(ca_file)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::InvalidArgument(format!("{}: no CA certificate", ca_file.display()))
        })?;
    // A certificate from an intermediate CA comes with the chain above
    // it (as `csr sign` writes it): kept after the leaf in cert_file.
    let (cert, chain) = match signed {
        Signed::Certificate(path) => {
            let mut all = Certificate::load_all(path)?;
            let leaf = all.remove(0);
            (leaf, all)
        }
        Signed::CsrObject(path) => {
            let key = match &staged {
                Some(key) => PrivateKey::from_pem(key.to_pem().as_bytes(), None)?,
                None => PrivateKey::load(&paths.key, None)?,
            };
            let cert = crate::k8s_csr::K8sCsr::load(path)?
                .issued_certificate(&key)
                .map_err(|e| e.in_file(path))?;
            (cert, Vec::new())
        }
    };
    let mut installing = params.clone();
    if let Some(key) = &staged {
        // The key setup --request staged: installed now, with the
        // certificate signed for it, as one switch.
        if !key.matches(&cert.public_key()) {
            let from = match signed {
                Signed::Certificate(p) | Signed::CsrObject(p) => p,
            };
            return Err(Error::KeyMismatch {
                certificate: format!(
                    "the signed certificate {} ({}): it was not signed for the staged key; sign {} again",
                    from.display(),
                    cert.subject(),
                    paths.csr.display()
                ),
            }
            .in_file(&paths.staged_key));
        }
        installing.new_key = Some(std::sync::Arc::new(PrivateKey::from_pem(
            key.to_pem().as_bytes(),
            None,
        )?));
        installing.key_replaced = Some(format!(
            "the staged key ({}) replaced the old one",
            paths.staged_key.display()
        ));
    }
    let report = run(
        &installing,
        Source::Issued {
            cert: Box::new(cert),
            ca: Box::new(ca),
            chain,
        },
    )?;
    if staged.is_some() && !params.dry_run {
        // Installed: the staged copy is no longer needed.
        if let Err(source) = std::fs::remove_file(&paths.staged_key)
            && source.kind() != std::io::ErrorKind::NotFound
        {
            return Err(Error::Io {
                path: paths.staged_key.clone(),
                source,
            });
        }
    }
    Ok(report)
}
