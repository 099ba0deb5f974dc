//! The Kubernetes CertificateSigningRequest API flow: the cluster signs, so
//! the CA key never leaves the control plane. Build a
//! `certificates.k8s.io/v1` CertificateSigningRequest for
//! `kubernetes.io/kube-apiserver-client`, and import the certificate from
//! `kubectl get csr NAME -o json` once it is approved and issued.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::cert::Certificate;
use crate::csr::CertificateRequest;
use crate::error::k8s_csr::CsrState;
pub use crate::error::k8s_csr::K8sCsrProblem;
use crate::error::{Error, Result};
use crate::k8s_name::check_subdomain;
use crate::key::PrivateKey;
use crate::manifest::ObjectMeta;

use crate::public_key::KeyType;

/// The signer for client certificates the API server accepts.
pub const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";

/// The shortest validity the API accepts (`expirationSeconds` ≥ 600).
pub const MIN_EXPIRATION: Duration = Duration::from_secs(600);

/// `spec` of a CertificateSigningRequest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CsrSpec {
    /// Base64 of the PEM CSR.
    pub request: String,
    /// The signer.
    pub signer_name: String,
    /// Requested validity.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expiration_seconds: Option<u64>,
    /// Key usages.
    #[serde(default)]
    pub usages: Vec<String>,
    /// Set by the API server: who created the object.
    #[serde(skip_serializing, default)]
    pub username: Option<String>,
}

/// A status condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CsrCondition {
    /// `Approved`, `Denied` or `Failed`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` or `False`.
    #[serde(default)]
    pub status: Option<String>,
    /// Machine-readable reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `status` of a CertificateSigningRequest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CsrStatus {
    /// Conditions.
    #[serde(default)]
    pub conditions: Vec<CsrCondition>,
    /// Base64 of the issued PEM certificate.
    #[serde(default)]
    pub certificate: Option<String>,
}

/// A `certificates.k8s.io/v1` CertificateSigningRequest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct K8sCsr {
    /// `certificates.k8s.io/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `CertificateSigningRequest`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: CsrSpec,
    /// Status (only in what the API server returns).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<CsrStatus>,
}

/// How to build the object.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct K8sCsrParams {
    /// Object name (RFC 1123 subdomain).
    pub name: String,
    /// Requested validity (`expirationSeconds`); the signer may shorten it.
    pub expiration: Option<Duration>,
    /// Permit the group `system:masters` (the API refuses it anyway).
    pub allow_system_masters: bool,
}

impl K8sCsrParams {
    /// Params for an object named `name`, with the signer's default
    /// lifetime, refusing `system:masters`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            expiration: None,
            allow_system_masters: false,
        }
    }
}

impl K8sCsr {
    /// The object for `csr`: signer `kubernetes.io/kube-apiserver-client`,
    /// usages `client auth` and `digital signature` (+ `key encipherment`
    /// for RSA keys).
    pub fn new(csr: &CertificateRequest, params: &K8sCsrParams) -> Result<Self> {
        check_subdomain("CertificateSigningRequest name", &params.name)?;
        csr.signable_identity()?
            .check_system_masters(params.allow_system_masters)?;
        let expiration_seconds = match params.expiration {
            Some(d) if d < MIN_EXPIRATION => {
                return Err(K8sCsrProblem::ExpirationTooShort { secs: d.as_secs() }.into());
            }
            // The API field is an int32.
            Some(d) if d.as_secs() > i32::MAX as u64 => {
                return Err(K8sCsrProblem::ExpirationTooLong { secs: d.as_secs() }.into());
            }
            Some(d) => Some(d.as_secs()),
            None => None,
        };
        let mut usages = vec!["client auth".to_string(), "digital signature".to_string()];
        if matches!(csr.public_key()?.key_type()?, KeyType::Rsa { .. }) {
            usages.push("key encipherment".into());
        }
        Ok(Self {
            api_version: "certificates.k8s.io/v1".into(),
            kind: "CertificateSigningRequest".into(),
            metadata: ObjectMeta::new(params.name.clone(), None),
            spec: CsrSpec {
                request: STANDARD.encode(csr.to_pem()),
                signer_name: CLIENT_SIGNER.into(),
                expiration_seconds,
                usages,
                username: None,
            },
            status: None,
        })
    }

    /// The object as YAML, for `kubectl apply -f -`.
    pub fn to_yaml(&self) -> Result<String> {
        crate::manifest::to_yaml(self)
    }

    /// The object as JSON.
    pub fn to_json(&self) -> Result<String> {
        crate::manifest::to_json(self)
    }

    /// Reads `kubectl get csr NAME -o json` (or `-o yaml`) output.
    pub fn parse(text: &str) -> Result<Self> {
        crate::nesting::check(text, "the CertificateSigningRequest")?;
        let trimmed = text.trim_start();
        let parsed: std::result::Result<Self, String> = if trimmed.starts_with('{') {
            serde_json::from_str(text).map_err(|e| e.to_string())
        } else {
            serde_norway::from_str(text).map_err(|e| e.to_string())
        };
        let csr = parsed.map_err(|e| K8sCsrProblem::NotAnObject {
            reason: crate::error::text::without_values(&e),
        })?;
        if csr.kind != "CertificateSigningRequest" {
            return Err(K8sCsrProblem::WrongKind {
                found: csr.kind.chars().take(80).collect(),
            }
            .into());
        }
        Ok(csr)
    }

    /// Reads a file of `kubectl get csr NAME -o json|yaml` output; errors name the file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let bytes = crate::file::read(path)?;
        Self::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| e.in_file(path))
    }

    /// The request in `spec.request`, read exactly as the signer reads it
    /// (one `CERTIFICATE REQUEST` block and nothing else).
    pub(crate) fn certificate_request(&self) -> Result<CertificateRequest> {
        let pem = STANDARD
            .decode(self.spec.request.trim())
            .map_err(|e| Error::Pem(format!("spec.request is not base64 ({e})")))?;
        CertificateRequest::from_pem(&pem)
    }

    /// The issued certificate, checked to belong to `key`. Fails, saying
    /// why, while the request is pending, or when it was denied or failed.
    pub fn issued_certificate(&self, key: &PrivateKey) -> Result<Certificate> {
        let name = self.metadata.name.clone();
        let status = self.status.clone().unwrap_or_default();
        let state = |c: &CsrCondition| {
            let mut s = c.type_.to_lowercase();
            if let Some(r) = &c.reason {
                s.push_str(&format!(" ({r})"));
            }
            if let Some(m) = &c.message {
                s.push_str(&format!(": {m}"));
            }
            s
        };
        let active = |t: &str| {
            status
                .conditions
                .iter()
                .find(|c| c.type_ == t && c.status.as_deref().unwrap_or("True") == "True")
        };
        for (t, typed) in [("Denied", CsrState::Denied), ("Failed", CsrState::Failed)] {
            if let Some(c) = active(t) {
                return Err(Error::CsrNotIssued {
                    name,
                    state: typed,
                    detail: state(c),
                });
            }
        }
        let Some(data) = status.certificate.filter(|c| !c.is_empty()) else {
            let (state, detail) = if active("Approved").is_some() {
                (
                    CsrState::Approved,
                    "approved, but the signer has not issued the certificate yet; try again in a moment",
                )
            } else {
                (
                    CsrState::Pending,
                    "pending: not approved yet; a cluster admin approves it",
                )
            };
            return Err(Error::CsrNotIssued {
                name,
                state,
                detail: detail.into(),
            });
        };
        let pem = STANDARD.decode(data.trim()).map_err(|e| {
            Error::from(K8sCsrProblem::NotBase64 {
                reason: e.to_string(),
            })
        })?;
        let cert = Certificate::from_pem(&pem)?;
        cert.subject_reading().check_signable()?;
        if !key.matches(&cert.public_key()) {
            return Err(Error::KeyMismatch {
                certificate: format!(
                    "the certificate issued for CertificateSigningRequest {}",
                    self.metadata.name
                ),
            });
        }
        Ok(cert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{CaParams, CertificateAuthority, CsrParams, Identity, IssueParams, KeyAlgorithm};

    fn csr(key: &PrivateKey) -> CertificateRequest {
        let who = Identity::new("gitlab-admin", ["runners"]).unwrap();
        CertificateRequest::create(key, &CsrParams::new(who)).unwrap()
    }

    #[test]
    fn expirations_stay_within_what_the_api_accepts() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let params = |secs: u64| K8sCsrParams {
            name: "n".into(),
            expiration: Some(Duration::from_secs(secs)),
            allow_system_masters: false,
        };
        assert!(matches!(
            K8sCsr::new(&csr(&key), &params(599)),
            Err(crate::Error::K8sCsr { .. })
        ));
        assert!(matches!(
            K8sCsr::new(&csr(&key), &params(i32::MAX as u64 + 1)),
            Err(crate::Error::K8sCsr { .. })
        ));
        let ok = K8sCsr::new(&csr(&key), &params(3600)).unwrap();
        assert_eq!(ok.spec.expiration_seconds, Some(3600));
        assert!(ok.spec.usages.contains(&"client auth".to_string()));
    }

    #[test]
    fn the_status_says_pending_denied_or_issued() {
        let ca = CertificateAuthority::generate(&CaParams {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..CaParams::default()
        })
        .unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let object = K8sCsr::new(
            &csr(&key),
            &K8sCsrParams {
                name: "n".into(),
                expiration: None,
                allow_system_masters: false,
            },
        )
        .unwrap();
        let mut json = serde_json::to_value(&object).unwrap();
        let pending = K8sCsr::parse(&json.to_string()).unwrap();
        assert!(matches!(
            pending.issued_certificate(&key),
            Err(Error::CsrNotIssued { .. })
        ));
        json["status"] = serde_json::json!({"conditions": [{"type": "Denied", "status": "True", "reason": "NoWay", "message": "not today"}]});
        let denied = K8sCsr::parse(&json.to_string()).unwrap();
        let e = denied.issued_certificate(&key).unwrap_err();
        assert!(
            matches!(&e, Error::CsrNotIssued { state: CsrState::Denied, detail, .. }
                if detail.contains("NoWay") && detail.contains("not today")),
            "{e}"
        );
        assert_eq!(e.kind(), crate::ErrorKind::CsrDenied);
        let issued = ca.sign(&csr(&key), &IssueParams::default()).unwrap();
        let pem = base64::engine::general_purpose::STANDARD.encode(issued.certificate.to_pem());
        json["status"] = serde_json::json!({"conditions": [{"type": "Approved", "status": "True"}], "certificate": pem});
        let done = K8sCsr::parse(&json.to_string()).unwrap();
        assert_eq!(done.issued_certificate(&key).unwrap(), issued.certificate);
        let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(matches!(
            done.issued_certificate(&other),
            Err(Error::KeyMismatch { .. })
        ));
        assert!(
            K8sCsr::parse(
                "{\"kind\": \"Pod\", \"apiVersion\": \"v1\", \"metadata\": {}, \"spec\": {}}"
            )
            .is_err()
        );
    }
}
