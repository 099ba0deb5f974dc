//! A renewal's CertificateSigningRequest still pending when renew stopped
//! waiting: kept in the cluster for an approver who comes later, and its
//! name, UID and key kept here, so the next renew adopts it instead of
//! asking again (kubelet's certificate manager keeps its pending key the
//! same way). The record is a state file beside the pins (see
//! [`crate::pin`]): 0600, in directories only root or this user may write —
//! never in the credential directory, which the runner's user may own.
//!
//! Format: one JSON line (`{"name": …, "uid": …}`), then the key's PEM.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key::PrivateKey;

/// The request kept, and the key it was made for.
pub(super) struct PendingRequest {
    /// The object's name.
    pub name: String,
    /// Its UID (a new object under the same name is another request).
    pub uid: String,
    /// The key the request is for (the certificate's key once issued).
    pub key: PrivateKey,
}

#[derive(Serialize, Deserialize)]
struct Header {
    name: String,
    uid: String,
}

fn path(config: &Path, runner: &str) -> std::path::PathBuf {
    crate::pin::state_path("pending", config, runner)
}

/// The request `renew` left pending for `runner` in `config`, if any; a
/// record that cannot be read is forgotten (a new request is made).
pub(super) fn load(config: &Path, runner: &str) -> Result<Option<PendingRequest>> {
    let path = path(config, runner);
    let Some(text) = crate::pin::read_state(&path)? else {
        return Ok(None);
    };
    let text = Zeroizing::new(text);
    let parsed = text.iter().position(|&b| b == b'\n').and_then(|end| {
        let header: Header = serde_json::from_slice(&text[..end]).ok()?;
        let key = PrivateKey::from_pem(&text[end + 1..], None).ok()?;
        crate::k8s_name::check_subdomain("CertificateSigningRequest name", &header.name).ok()?;
        Some(PendingRequest {
            name: header.name,
            uid: header.uid,
            key,
        })
    });
    if parsed.is_none() {
        forget(config, runner);
    }
    Ok(parsed)
}

/// Keeps `request` for the next renew of `runner` in `config`.
pub(super) fn record(config: &Path, runner: &str, request: &PendingRequest) -> Result<()> {
    let header = serde_json::to_vec(&Header {
        name: request.name.clone(),
        uid: request.uid.clone(),
    })
    .map_err(|e| Error::InvalidArgument(format!("the pending request could not be kept: {e}")))?;
    let mut text = Zeroizing::new(header);
    text.push(b'\n');
    text.extend_from_slice(request.key.to_pem().as_bytes());
    crate::pin::write_state(&path(config, runner), &text)
}

/// Forgets the kept request (issued, denied, gone or replaced).
pub(super) fn forget(config: &Path, runner: &str) {
    let _ = std::fs::remove_file(path(config, runner));
}
