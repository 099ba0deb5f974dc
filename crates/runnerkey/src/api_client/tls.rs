//! TLS as the runner does it: the server's chain judged by rustls-webpki
//! against `ca_file` (captured, to say why it was refused), and the client
//! certificate chain handed to rustls as it is.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Why the server's certificate was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCertProblem {
    /// Not signed by any trusted CA.
    UnknownIssuer,
    /// The host name or IP is not among the certificate's SANs.
    NotValidForName,
    /// Past notAfter.
    Expired,
    /// Before notBefore.
    NotYetValid,
    /// Anything else rustls-webpki said.
    Other(String),
}

impl std::fmt::Display for ServerCertProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerCertProblem::UnknownIssuer => {
                "the server's certificate is not signed by a trusted CA (x509: certificate signed by unknown authority)"
            }
            ServerCertProblem::NotValidForName => {
                "the server's certificate is not valid for the host name or address connected to"
            }
            ServerCertProblem::Expired => "the server's certificate has expired",
            ServerCertProblem::NotYetValid => "the server's certificate is not valid yet",
            ServerCertProblem::Other(m) => m,
        })
    }
}

#[derive(Debug, Default)]
pub(super) struct Capture {
    pub(super) chain: Vec<CertificateDer<'static>>,
    pub(super) problem: Option<ServerCertProblem>,
}

#[derive(Debug)]
pub(super) struct CapturingVerifier {
    /// Accept any server certificate (after capturing it).
    pub insecure: bool,
    pub(super) roots: Vec<CertificateDer<'static>>,
    pub(super) capture: Mutex<Capture>,
    pub(super) provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        let anchors: Vec<_> = self
            .roots
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .collect();
        let verdict = webpki::EndEntityCert::try_from(end_entity).and_then(|ee| {
            let path = ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )?;
            // Go's x509.Verify checks the trust anchor's validity too
            // (webpki takes an anchor as it is): an expired CA in ca_file
            // fails as kubectl and gitlab-runner fail.
            if let Some(problem) = self.anchor_out_of_date(path.anchor(), now) {
                return Err(problem);
            }
            ee.verify_is_valid_for_subject_name(server_name)
        });
        let problem = verdict.err().map(|e| match e {
            // A CA of the same name but another key is still the wrong CA:
            // Go reports it as "signed by unknown authority" too.
            webpki::Error::UnknownIssuer
            | webpki::Error::InvalidSignatureForPublicKey
            | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                ServerCertProblem::UnknownIssuer
            }
            webpki::Error::CertNotValidForName(_) => ServerCertProblem::NotValidForName,
            webpki::Error::CertExpired { .. } => ServerCertProblem::Expired,
            webpki::Error::CertNotValidYet { .. } => ServerCertProblem::NotYetValid,
            // As Go says it: "x509: cannot verify signature: insecure
            // algorithm SHA1-RSA" and the like.
            webpki::Error::UnsupportedSignatureAlgorithmContext(_) => ServerCertProblem::Other(
                "its signature algorithm is one Go's crypto/x509 refuses (an insecure algorithm such as SHA-1, or an unknown one)".into(),
            ),
            other => ServerCertProblem::Other(format!("the certificate is refused: {other}")),
        });
        let mut capture = self.capture.lock().expect("capture lock");
        capture.chain = chain;
        capture.problem = problem.clone();
        match problem {
            None => Ok(ServerCertVerified::assertion()),
            Some(_) if self.insecure => Ok(ServerCertVerified::assertion()),
            Some(p) => Err(rustls::Error::General(format!(
                "server certificate refused: {p}"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Hands rustls the chain and key as they are. rustls' usual path
/// (`with_client_auth_cert`) parses the leaf with webpki, which refuses the
/// X.509 v1 certificates Go and kube-apiserver accept.
#[derive(Debug)]
pub(super) struct ClientIdentity(pub(super) Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl CapturingVerifier {
    /// The time error for the root certificate `anchor` was made from, when
    /// `now` is outside its validity (as Go reports it: expired, or not yet
    /// valid).
    fn anchor_out_of_date(
        &self,
        anchor: &rustls_pki_types::TrustAnchor<'_>,
        now: UnixTime,
    ) -> Option<webpki::Error> {
        let root = self.roots.iter().find(|r| {
            webpki::anchor_from_trusted_cert(r).is_ok_and(|a| {
                a.subject.as_ref() == anchor.subject.as_ref()
                    && a.subject_public_key_info.as_ref() == anchor.subject_public_key_info.as_ref()
            })
        })?;
        let cert = crate::cert::Certificate::from_der(root).ok()?;
        let at = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64).ok()?;
        let time = |t: time::OffsetDateTime| {
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                t.unix_timestamp().max(0) as u64
            ))
        };
        if at > cert.not_after() {
            Some(webpki::Error::CertExpired {
                time: now,
                not_after: time(cert.not_after()),
            })
        } else if at < cert.not_before() {
            Some(webpki::Error::CertNotValidYet {
                time: now,
                not_before: time(cert.not_before()),
            })
        } else {
            None
        }
    }
}
