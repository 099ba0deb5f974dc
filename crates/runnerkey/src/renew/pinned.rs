//! Which identity `renew` acts on: the one setup pinned where the runner's
//! user cannot write (see `pin.rs`), an identity the caller expects (then
//! pinned), or — only while nobody else may write the credential directory —
//! the certificate's own.

use std::path::Path;

use super::RenewParams;
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// The identity renew acts on, and where it comes from.
pub(super) struct Pinned {
    pub(super) identity: crate::identity::Identity,
    /// A pin to record after a successful renewal (`--expect-user` with
    /// none in force).
    pub(super) to_record: Option<crate::pin::Pin>,
    /// Setup's pin.
    pub(super) in_force: Option<crate::pin::Pin>,
}

impl RenewParams {
    /// The identity to renew, and the pin it comes from: (a pin to record
    /// after success, the pin in force). Setup's pin wins; without one, an
    /// expected identity is pinned; without either, the certificate's own
    /// identity is taken only when nobody but this user may write its
    /// directory.
    pub(super) fn pinned_identity(
        &self,
        label: &str,
        dir: &Path,
        old: &Certificate,
    ) -> Result<Pinned> {
        let pin = crate::pin::load(&self.config, label)?;
        let identity = match (&pin, &self.expect_identity) {
            (Some(p), expected) => {
                let Some(pinned) = p.identity() else {
                    return Err(Error::NotPinned {
                        runner: label.into(),
                        pinned: "a bearer token".into(),
                        found: "config.toml names a client certificate".into(),
                    });
                };
                if let Some(e) = expected
                    && !e.same_as(&pinned)
                {
                    return Err(Error::NotPinned {
                        runner: label.into(),
                        pinned: pinned.to_string(),
                        found: format!("the identity expected is {e}"),
                    });
                }
                pinned
            }
            (None, Some(e)) => e.clone(),
            (None, None) => {
                if let Some(reason) = crate::pin::writable_by_others(dir) {
                    return Err(Error::NoPin {
                        runner: label.into(),
                        reason,
                    });
                }
                old.identity()?
            }
        };
        if !old.is_for(&identity) {
            return Err(Error::NotPinned {
                runner: label.into(),
                pinned: identity.to_string(),
                found: format!("the certificate in place is for {}", old.subject_reading()),
            });
        }
        let to_record = match (&pin, &self.expect_identity) {
            (None, Some(e)) => Some(crate::pin::Pin {
                config: self.config.clone(),
                runner: label.into(),
                way: crate::pin::PinnedWay::ClientCertificate,
                user: Some(e.user().to_string()),
                groups: e.groups().to_vec(),
                ca_sha256: None,
                service_account: None,
                ca_key_seen: None,
            }),
            _ => None,
        };
        Ok(Pinned {
            identity,
            to_record,
            in_force: pin,
        })
    }
}
