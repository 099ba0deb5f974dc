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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyAlgorithm;

    #[test]
    fn a_kept_request_round_trips_and_a_damaged_one_is_forgotten() {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("config.toml");
        std::fs::write(&config, "").unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let kept = PendingRequest {
            name: "runnerkey-abc12".into(),
            uid: "u-1".into(),
            key: PrivateKey::from_pem(key.to_pem().as_bytes(), None).unwrap(),
        };
        record(&config, "r", &kept).unwrap();
        let file = path(&config, "r");
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&file).unwrap().permissions()
            ) & 0o777,
            0o600
        );
        let back = load(&config, "r").unwrap().unwrap();
        assert_eq!(
            (back.name.as_str(), back.uid.as_str()),
            ("runnerkey-abc12", "u-1")
        );
        assert!(back.key.matches(key.public_key()));
        assert!(load(&config, "other").unwrap().is_none());
        // A name that is not an object name, or no key: forgotten.
        for damaged in [
            format!(
                "{{\"name\":\"../x\",\"uid\":\"u\"}}\n{}",
                key.to_pem().as_str()
            ),
            "{\"name\":\"ok\",\"uid\":\"u\"}\nnot a key".to_string(),
            "garbage".to_string(),
        ] {
            crate::pin::write_state(&file, damaged.as_bytes()).unwrap();
            assert!(load(&config, "r").unwrap().is_none());
            assert!(!file.exists());
        }
        record(&config, "r", &kept).unwrap();
        forget(&config, "r");
        assert!(!file.exists());
    }
}
