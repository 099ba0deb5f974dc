//! Turning command-line arguments into library inputs.

use std::path::Path;

use runnerkey::secret::Passphrase;
use runnerkey::{
    CertificateAuthority, Error, Identity, IssueParams, KeyAlgorithm, Lifetime, Result,
};

use crate::args::{CaArgs, IdentityArgs, LifetimeArgs};

/// Reads a passphrase file (its first line: see [`Passphrase::read_file`]).
pub fn passphrase(path: Option<&Path>) -> Result<Option<Passphrase>> {
    path.map(Passphrase::read_file).transpose()
}

/// Loads the CA named by `--ca-dir` or `--ca-cert`/`--ca-key`.
pub fn ca(args: &CaArgs) -> Result<CertificateAuthority> {
    let pass = passphrase(args.ca_passphrase_file.as_deref())?;
    let pass = pass.as_ref();
    let ca = match (&args.ca_dir, &args.ca_cert, &args.ca_key) {
        (Some(dir), _, _) => CertificateAuthority::load_dir(dir, pass)?,
        (None, Some(cert), Some(key)) => CertificateAuthority::load(cert, key, pass)?,
        _ => {
            return Err(Error::InvalidArgument(
                "give --ca-dir DIR, or --ca-cert FILE and --ca-key FILE".into(),
            ));
        }
    };
    for w in ca.warnings() {
        crate::warn(w);
    }
    Ok(ca)
}

/// The identity from `--user` and `--group`.
pub fn identity(args: &IdentityArgs) -> Result<Identity> {
    let id = Identity::new(args.user.clone(), args.groups.clone())?;
    id.check_system_masters(args.allow_system_masters)?;
    Ok(id)
}

/// Issue parameters from `--days`/`--duration`.
pub fn issue_params(args: &LifetimeArgs, allow_system_masters: bool) -> Result<IssueParams> {
    let lifetime = Lifetime::from_days_or_duration(args.days, args.duration.as_deref())?;
    Ok({
        let mut p = IssueParams::default();
        p.lifetime = lifetime;
        p.allow_system_masters = allow_system_masters;
        p.now = None;
        p
    })
}

/// A key algorithm by its CLI name.
pub fn algorithm(name: &str) -> Result<KeyAlgorithm> {
    name.parse()
}
