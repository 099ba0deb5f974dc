//! Connection failures in plain words: below HTTP, and the server
//! certificate's problems (unknown authority and which CA signed it
//! instead, names, validity).

use super::Ctx;
use crate::api_client::{ServerCertProblem, TransportError};
use crate::cert::Certificate;
use crate::code::Code;
use crate::lifetime::rfc3339;
use crate::public_key::colon_hex;
use crate::severity::Severity;

impl Ctx {
    pub(super) fn transport(&mut self, e: TransportError, host: &str, cas: &[Certificate]) {
        match e {
            TransportError::Dns(m) => self.find(Code::DnsFailure, Severity::Error, format!("cannot resolve the API server's name: {m}"), "fix host, or the runner host's DNS".into()),
            TransportError::Refused(m) => self.find(Code::ConnectionRefused, Severity::Error, format!("connection refused: {m}"), "check host and port (kube-apiserver listens on 6443 by default) and that the API server runs".into()),
            TransportError::Timeout(m) => self.find(Code::ConnectionTimeout, Severity::Error, format!("no answer in time: {m}"), "check firewalls between the runner host and the API server".into()),
            TransportError::NotTls(m) => self.find(Code::NotTls, Severity::Error, format!("something that is not a TLS server answered at {host} ({m})"), "point host at the API server's HTTPS port".into()),
            TransportError::Tls(m) => self.find(Code::TlsError, Severity::Error, format!("TLS handshake failed: {m}"), "check that cert_file and key_file belong together and that the server accepts TLS 1.2+".into()),
            TransportError::Io(m) => self.find(Code::ConnectionError, Severity::Error, format!("connection failed: {m}"), "check the network between runner and API server".into()),
            TransportError::Proxy(m) => self.find(Code::ProxyFailed, Severity::Error, format!("the proxy the runner would use (by Go's HTTPS_PROXY/NO_PROXY rules) failed: {m}"), "fix the proxy, or add the API server to NO_PROXY in the runner's environment".into()),
            TransportError::BadHttp(m) => self.find(Code::ApiError, Severity::Error, format!("TLS to the server works, but its answer is not HTTP: {m}"), "check that host is the API server, not another TLS service".into()),
            TransportError::TooLarge(m) => self.find(Code::ResponseTooLarge, Severity::Error, format!("the server's answer is too large: {m}"), "check that host is the API server".into()),
            TransportError::ServerCert { problem, chain } => self.server_cert(problem, &chain, host, cas),
        }
    }

    fn server_cert(
        &mut self,
        problem: ServerCertProblem,
        chain: &[Certificate],
        host: &str,
        cas: &[Certificate],
    ) {
        let leaf = chain.first();
        let leaf_subject = leaf.map(Certificate::subject).unwrap_or_else(|| "?".into());
        match problem {
            ServerCertProblem::UnknownIssuer => {
                let issuer = leaf.map(Certificate::issuer).unwrap_or_default();
                let aki = leaf
                    .and_then(Certificate::authority_key_id)
                    .map(|k| colon_hex(&k))
                    .unwrap_or_else(|| "none".into());
                let held = if cas.is_empty() {
                    "ca_file is empty, so the system trust store was used, and it does not hold the cluster CA".to_string()
                } else {
                    let list: Vec<String> = cas
                        .iter()
                        .map(|c| {
                            format!(
                                "{} (SKI {})",
                                c.subject(),
                                c.subject_key_id()
                                    .map(|k| colon_hex(&k))
                                    .unwrap_or_else(|| "none".into())
                            )
                        })
                        .collect();
                    format!("ca_file holds {}", list.join(", "))
                };
                self.find(
                    Code::TlsUnknownAuthority,
                    Severity::Error,
                    format!("x509: certificate signed by unknown authority: the API server's certificate {leaf_subject} was issued by {issuer} (AKI {aki}); {held}"),
                    format!("set ca_file to the CA {issuer} (on kubeadm clusters /etc/kubernetes/pki/ca.crt)"),
                );
            }
            ServerCertProblem::NotValidForName => {
                let sans = leaf.map(Certificate::subject_alt_names).unwrap_or_default();
                self.find(
                    Code::TlsNameMismatch,
                    Severity::Error,
                    format!("{host} is not among the API server certificate's names: {}", if sans.is_empty() { "(no SANs)".into() } else { sans.join(", ") }),
                    "use a host the certificate names, or add it to the API server's certSANs and renew its certificate".into(),
                );
            }
            ServerCertProblem::Expired => self.find(
                Code::TlsServerCertExpired,
                Severity::Error,
                format!(
                    "the API server's certificate {leaf_subject} expired on {}",
                    leaf.map(|c| rfc3339(c.not_after())).unwrap_or_default()
                ),
                "renew the API server's certificates (kubeadm certs renew all) and restart it"
                    .into(),
            ),
            ServerCertProblem::NotYetValid => self.find(
                Code::TlsServerCertNotYetValid,
                Severity::Error,
                format!(
                    "the API server's certificate {leaf_subject} is not valid before {}",
                    leaf.map(|c| rfc3339(c.not_before())).unwrap_or_default()
                ),
                "check the clocks of the runner host and the control plane".into(),
            ),
            ServerCertProblem::Other(m) => self.find(
                Code::TlsServerCertInvalid,
                Severity::Error,
                format!("the API server's certificate was refused: {m}"),
                "check the API server's certificate".into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    use crate::code::Code;
    use crate::doctor::{DoctorOptions, RunnerDiagnosis, diagnose};
    use crate::runner_config::RunnerConfig;

    fn online(host: &str) -> RunnerDiagnosis {
        let text = format!(
            "[[runners]]\n  name = \"k\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    host = \"{host}\"\n    namespace = \"ci\"\n    service_account = \"sa\"\n"
        );
        let cfg = RunnerConfig::parse(text).unwrap();
        let options = DoctorOptions {
            online: true,
            timeout: Duration::from_secs(2),
            ..DoctorOptions::default()
        };
        diagnose(&cfg, &options).unwrap().runners.remove(0)
    }

    fn codes(d: &RunnerDiagnosis) -> Vec<Code> {
        d.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn nothing_listening_is_connection_refused() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = online(&format!("https://127.0.0.1:{port}"));
        assert!(
            codes(&d).contains(&Code::ConnectionRefused),
            "{:?}",
            codes(&d)
        );
    }

    #[test]
    fn a_silent_server_is_a_timeout_within_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let keep = std::thread::spawn(move || {
            listener.accept().map(|(s, _)| {
                std::thread::sleep(Duration::from_secs(4));
                drop(s);
            })
        });
        let start = std::time::Instant::now();
        let d = online(&format!("https://127.0.0.1:{port}"));
        assert!(start.elapsed() < Duration::from_secs(4));
        assert!(
            codes(&d).contains(&Code::ConnectionTimeout),
            "{:?}",
            codes(&d)
        );
        drop(keep);
    }

    #[test]
    fn a_plain_http_server_is_not_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
            }
        });
        let d = online(&format!("https://127.0.0.1:{port}"));
        assert!(codes(&d).contains(&Code::NotTls), "{:?}", codes(&d));
    }

    #[test]
    fn insecure_and_malformed_hosts_stop_before_connecting() {
        assert!(codes(&online("http://127.0.0.1:1")).contains(&Code::InsecureHost));
        assert!(codes(&online("https://user:pw@127.0.0.1:1")).contains(&Code::BadHost));
    }
}
