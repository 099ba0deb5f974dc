//! Installing on a runner host a key, certificate and CA certificate made
//! elsewhere (on the control plane, by `issue --batch` or the Ansible
//! module `client_cert`), as one unit through the host's credential
//! directory — and leaving alone a pair the host renewed itself
//! (`runnerkey renew`) while it is still good for the same identity.
//!
//! Without that, every push from the control plane would undo the
//! host's renewal (its new key replaced by the staged old one), and a
//! push as three separate copies could leave a key with the wrong
//! certificate when interrupted.

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::credential_dir::{CredentialDir, CredentialFile};
use crate::error::{Error, Result};
use crate::file;
use crate::identity::Identity;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::renewal::RenewalPolicy;
use crate::verify::verify_client_chain;

/// What to install where, and when the host's own pair may stay.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InstallParams {
    /// The credential directory (`/etc/gitlab-runner/kubernetes`): it
    /// gets `NAME.key` (0600), `NAME.crt` and `ca.crt`.
    pub dir: PathBuf,
    /// The base name of the key and certificate files.
    pub name: String,
    /// The identity the pair must carry (default: the offered
    /// certificate's). A host pair for another identity is replaced.
    pub identity: Option<Identity>,
    /// When the host's pair is due and replaced although still valid:
    /// the policy `renew` renews by.
    pub renewal: RenewalPolicy,
    /// Decide only: write nothing.
    pub dry_run: bool,
    /// The time to decide at (now when `None`).
    pub now: Option<OffsetDateTime>,
}

/// The offered pair, as PEM text. `Debug` shows the key's length, never
/// its bytes.
#[derive(Clone, Copy)]
pub struct OfferedPair<'a> {
    /// The private key (PKCS#8 or the key's own PEM).
    pub key: &'a [u8],
    /// The client certificate, with any intermediates after it.
    pub cert: &'a [u8],
    /// The CA certificate the API server trusts.
    pub ca: &'a [u8],
}

impl std::fmt::Debug for OfferedPair<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfferedPair")
            .field("key", &format_args!("<{} bytes, redacted>", self.key.len()))
            .field("cert", &String::from_utf8_lossy(self.cert))
            .field("ca", &String::from_utf8_lossy(self.ca))
            .finish()
    }
}

/// What [`InstallParams::run`] did (or, in a dry run, would do).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct InstallReport {
    /// Whether anything was (or would be) written.
    pub changed: bool,
    /// A dry run: nothing was written.
    pub dry_run: bool,
    /// What was (or would be) done.
    pub action: InstallAction,
    /// Why.
    pub note: String,
    /// The subject of the certificate the directory holds now.
    pub subject: String,
    /// Its notAfter (RFC 3339 on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_after: OffsetDateTime,
    /// The key, certificate and CA certificate paths (through the
    /// credential directory's stable links).
    pub files: Vec<PathBuf>,
}

/// What [`InstallParams::run`] did with the offered pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum InstallAction {
    /// `installed`: the offered pair is now in place.
    Installed,
    /// `ca-updated`: the host's own pair kept, with the offered CA
    /// certificate.
    CaUpdated,
    /// `kept`: the host's own pair (renewed on the host), still good.
    Kept,
    /// `unchanged`: the offered pair is already there.
    Unchanged,
}

impl InstallAction {
    /// The text: `installed`, `ca-updated`, `kept` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstallAction::Installed => "installed",
            InstallAction::CaUpdated => "ca-updated",
            InstallAction::Kept => "kept",
            InstallAction::Unchanged => "unchanged",
        }
    }
}

crate::named::display_as_str!(InstallAction);

/// The host's current files, read without following links others made.
struct Current {
    key: zeroize::Zeroizing<Vec<u8>>,
    cert: Vec<u8>,
    ca: Vec<u8>,
}

impl InstallParams {
    /// Install into `dir` under `name`, renewed by the default policy.
    pub fn new(dir: impl Into<PathBuf>, name: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            name: name.into(),
            identity: None,
            renewal: RenewalPolicy::default(),
            dry_run: false,
            now: None,
        }
    }

    fn names(&self) -> Result<[String; 3]> {
        let files = crate::issue::ClientFiles::in_dir(&self.dir, &self.name)?;
        let name = |p: &std::path::Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        Ok([
            name(&files.key_file),
            name(&files.cert_file),
            name(&files.ca_file),
        ])
    }

    /// Installs `offered` unless the directory holds it already, or holds
    /// a pair of its own that is good: key and certificate belong
    /// together, carry the identity, are accepted by the offered CA
    /// certificate and are not due by [`InstallParams::renewal`] (a pair
    /// `renew` rotated on the host). Such a pair stays; only a CA
    /// certificate that differs is switched in with it. The offered pair
    /// is checked the same way first (it must be usable at all). Key,
    /// certificate and CA certificate switch as one unit (see
    /// `credential_dir`).
    pub fn run(&self, offered: OfferedPair<'_>) -> Result<InstallReport> {
        // PEM text as templating may hand it over (without its last line
        // end): compared and written with exactly one.
        let (key, cert, ca) = (
            zeroize::Zeroizing::new(pem_text(offered.key)),
            pem_text(offered.cert),
            pem_text(offered.ca),
        );
        let offered = OfferedPair {
            key: &key,
            cert: &cert,
            ca: &ca,
        };
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let names = self.names()?;
        let in_offered = |what| {
            move |e| Error::InOffered {
                what,
                source: Box::new(e),
            }
        };
        let ca = Certificate::from_pem(offered.ca).map_err(in_offered("CA certificate"))?;
        let new_chain =
            Certificate::all_from_pem(offered.cert).map_err(in_offered("certificate"))?;
        let new_key = PrivateKey::from_pem(offered.key, None).map_err(in_offered("key"))?;
        let identity = match &self.identity {
            Some(i) => i.clone(),
            None => new_chain[0]
                .identity()
                .map_err(|e| Error::InvalidArgument(format!("the offered certificate: {e}")))?,
        };
        if let Err(why) = good(&new_key, &new_chain, &ca, &identity, None, now) {
            return Err(Error::NotInstallable { reason: why });
        }
        let paths: Vec<PathBuf> = names.iter().map(|n| self.dir.join(n)).collect();
        let report = |changed, action, note: String, cert: &Certificate| InstallReport {
            changed,
            dry_run: self.dry_run,
            action,
            note,
            subject: cert.subject(),
            not_after: cert.not_after(),
            files: paths.clone(),
        };
        let current = self.current(&names).map(|c| Current {
            key: zeroize::Zeroizing::new(pem_text(&c.key)),
            cert: pem_text(&c.cert),
            ca: pem_text(&c.ca),
        });
        if let Some(cur) = &current
            && cur.key.as_slice() == offered.key
            && cur.cert == offered.cert
            && cur.ca == offered.ca
        {
            return Ok(report(
                false,
                InstallAction::Unchanged,
                "the offered pair is installed".into(),
                &new_chain[0],
            ));
        }
        let why_not_kept = match &current {
            None => "no pair installed yet".to_string(),
            Some(cur) => match host_pair(cur, &ca, &identity, &self.renewal, now) {
                Ok(chain) if cur.ca == offered.ca => {
                    return Ok(report(
                        false,
                        InstallAction::Kept,
                        "kept: the installed pair (renewed on this host) is valid for the same identity and not due".into(),
                        &chain[0],
                    ));
                }
                Ok(chain) => {
                    if !self.dry_run {
                        self.install(&names, &cur.key, &cur.cert, offered.ca)?;
                    }
                    return Ok(report(
                        true,
                        InstallAction::CaUpdated,
                        "the installed pair is kept (valid for the same identity, not due), with the offered CA certificate".into(),
                        &chain[0],
                    ));
                }
                Err(why) => why,
            },
        };
        if !self.dry_run {
            self.install(&names, offered.key, offered.cert, offered.ca)?;
        }
        Ok(report(
            true,
            InstallAction::Installed,
            format!("installed ({why_not_kept})"),
            &new_chain[0],
        ))
    }

    fn current(&self, names: &[String; 3]) -> Option<Current> {
        if std::fs::symlink_metadata(&self.dir).is_err() {
            return None;
        }
        let dir = CredentialDir::new(&self.dir);
        Some(Current {
            key: zeroize::Zeroizing::new(dir.read(&names[0]).ok()?),
            cert: dir.read(&names[1]).ok()?,
            ca: dir.read(&names[2]).ok()?,
        })
    }

    fn install(&self, names: &[String; 3], key: &[u8], cert: &[u8], ca: &[u8]) -> Result<()> {
        file::create_dirs(&self.dir, file::PRIVATE_DIR)?;
        let files = [
            (key, file::PRIVATE),
            (cert, file::PUBLIC),
            (ca, file::PUBLIC),
        ];
        let files: Vec<CredentialFile> = names
            .iter()
            .zip(files)
            .map(|(name, (content, mode))| CredentialFile {
                name: name.clone(),
                content: zeroize::Zeroizing::new(content.to_vec()),
                mode,
            })
            .collect();
        CredentialDir::new(&self.dir).install(&files)
    }
}

/// `text` with its trailing white space replaced by one line end.
fn pem_text(text: &[u8]) -> Vec<u8> {
    let mut out = text.trim_ascii_end().to_vec();
    out.push(b'\n');
    out
}

/// The host's pair, when it may stay: see [`InstallParams::run`].
fn host_pair(
    cur: &Current,
    ca: &Certificate,
    identity: &Identity,
    renewal: &RenewalPolicy,
    now: OffsetDateTime,
) -> std::result::Result<Vec<Certificate>, String> {
    let key = PrivateKey::from_pem(&cur.key, None)
        .map_err(|e| format!("the installed key is unusable: {e}"))?;
    let chain = Certificate::all_from_pem(&cur.cert)
        .map_err(|e| format!("the installed certificate is unusable: {e}"))?;
    good(&key, &chain, ca, identity, Some(renewal), now)
        .map(|()| chain)
        .map_err(|why| format!("the installed pair: {why}"))
}

/// Whether `key` and `chain` belong together, carry `identity`, are
/// accepted by `ca` at `now` and (with a policy) are not due.
fn good(
    key: &PrivateKey,
    chain: &[Certificate],
    ca: &Certificate,
    identity: &Identity,
    renewal: Option<&RenewalPolicy>,
    now: OffsetDateTime,
) -> std::result::Result<(), String> {
    let leaf = &chain[0];
    if !key.matches(&leaf.public_key()) {
        return Err("the certificate does not belong to the key".into());
    }
    if !leaf.is_for(identity) {
        return Err(format!(
            "the certificate is for {}, not {identity}",
            leaf.subject_reading()
        ));
    }
    let report = verify_client_chain(std::slice::from_ref(ca), chain, Some(key), Some(now));
    if !report.ok {
        let problems: Vec<String> = report.problems.iter().map(|p| p.message.clone()).collect();
        return Err(format!(
            "the certificate is not accepted: {}",
            problems.join("; ")
        ));
    }
    if let Some(policy) = renewal
        && policy.is_due(leaf, now)
    {
        return Err(format!(
            "due for renewal since {}",
            rfc3339(policy.due_at(leaf))
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
