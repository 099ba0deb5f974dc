//! Waiting for a CertificateSigningRequest's certificate as client-go's
//! `csr.WaitForCertificate` does: read the object, then watch it
//! (`?watch=true&fieldSelector=metadata.name=NAME` from its
//! resourceVersion) and judge every ADDED or MODIFIED event; when the watch
//! ends, read and watch again; when the server refuses to watch or the
//! watch breaks, look once every poll interval instead. Deletion or a new
//! UID under the same name is final; so is the deadline.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{PATH, api, refused};
use crate::api_client::{ApiClient, TransportError, Watched};
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// One wait for one object.
pub(super) struct Wait<'a> {
    pub client: &'a ApiClient,
    pub server: &'a str,
    pub name: &'a str,
    /// The object's UID when it was created ("" when the server gave none).
    pub uid: &'a str,
    pub deadline: Instant,
    /// The whole wait, for the message.
    pub wait: Duration,
    pub poll: Duration,
    /// Each read's deadline: a watch is renewed before it.
    pub timeout: Duration,
}

/// What an event or a look at the object says.
enum Seen {
    Issued(Box<Certificate>),
    Final(Error),
    NotYet,
}

impl Wait<'_> {
    /// The deadline passed with the request still pending.
    fn pending(&self) -> Error {
        super::CsrApiProblem::StillPending {
            name: self.name.into(),
            waited: crate::lifetime::Lifetime::from_duration(self.wait).to_string(),
            kept: false,
        }
        .into()
    }

    fn gone(&self, detail: &str) -> Error {
        Error::CsrNotIssued {
            name: self.name.into(),
            state: crate::error::k8s_csr::CsrState::Gone,
            detail: detail.into(),
        }
    }

    /// What `value` (the object) says, by `judge` (`Ok(None)`: not issued yet).
    fn see(
        &self,
        value: &Value,
        judge: &mut impl FnMut(&Value) -> Result<Option<Certificate>>,
    ) -> Seen {
        if !self.uid.is_empty() && value["metadata"]["uid"].as_str() != Some(self.uid) {
            return Seen::Final(self.gone("replaced by another object of the same name"));
        }
        match judge(value) {
            Ok(Some(cert)) => Seen::Issued(Box::new(cert)),
            Ok(None) => Seen::NotYet,
            Err(e) => Seen::Final(e),
        }
    }

    /// Waits until `judge` accepts the certificate, or the request is
    /// final, or the deadline passes.
    pub fn certificate(
        &self,
        mut judge: impl FnMut(&Value) -> Result<Option<Certificate>>,
    ) -> Result<Certificate> {
        let mut watching = true;
        loop {
            let value = match self
                .client
                .request("GET", &format!("{PATH}/{}", self.name), None)
            {
                Ok(got) if got.status == 404 => {
                    return Err(self.gone("deleted before its certificate was read"));
                }
                Ok(got) if got.status != 200 => {
                    return Err(refused(&got, "reading the CertificateSigningRequest"));
                }
                Ok(got) => Some(got.json("a CertificateSigningRequest").map_err(|e| {
                    e.answered("reading the CertificateSigningRequest", got.status)
                })?),
                // The server away for a moment: look again until the wait ends.
                Err(_) if Instant::now() + self.poll < self.deadline => None,
                Err(e) => return Err(api(e, self.server)),
            };
            let mut version = None;
            if let Some(value) = &value {
                match self.see(value, &mut judge) {
                    Seen::Issued(cert) => return Ok(*cert),
                    Seen::Final(e) => return Err(e),
                    Seen::NotYet => {}
                }
                version = value["metadata"]["resourceVersion"]
                    .as_str()
                    .map(str::to_string);
            }
            let now = Instant::now();
            if now >= self.deadline {
                return Err(self.pending());
            }
            if watching && let Some(version) = version {
                match self.watch(&version, &mut judge) {
                    Ok(Some(Seen::Issued(cert))) => return Ok(*cert),
                    Ok(Some(Seen::Final(e))) => return Err(e),
                    // The watch ended (its timeout, a restart): read again —
                    // after a pause when it ended at once, so that a server
                    // closing every watch is not asked in a tight loop.
                    Ok(_) if now.elapsed() >= Duration::from_secs(1) => continue,
                    Ok(_) => {}
                    // A read that timed out: the watch is renewed.
                    Err(TransportError::Timeout(_)) => continue,
                    // The watch broke: poll from now on.
                    Err(_) => watching = false,
                }
            }
            std::thread::sleep(self.poll.min(self.deadline.saturating_duration_since(now)));
        }
    }

    /// One watch from `version`: `Ok(None)` when it ends without a final
    /// answer; a refused watch turns watching off through an error.
    fn watch(
        &self,
        version: &str,
        judge: &mut impl FnMut(&Value) -> Result<Option<Certificate>>,
    ) -> std::result::Result<Option<Seen>, TransportError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        // The server ends the watch before a read would time out.
        let seconds = left
            .min(self.timeout.saturating_sub(Duration::from_secs(1)))
            .as_secs()
            .max(1);
        let path = format!(
            "{PATH}?watch=true&fieldSelector=metadata.name%3D{}&resourceVersion={version}&timeoutSeconds={seconds}",
            self.name
        );
        let watched = self.client.watch(&path, |kind, object| match kind {
            // A server that streams events past the deadline (or ignores
            // timeoutSeconds) does not stretch the wait.
            _ if Instant::now() >= self.deadline => Some(Seen::Final(self.pending())),
            // Another object: a server that ignored the field selector.
            _ if !object.is_null() && object["metadata"]["name"].as_str() != Some(self.name) => {
                None
            }
            "ADDED" | "MODIFIED" => match self.see(object, judge) {
                Seen::NotYet => None,
                seen => Some(seen),
            },
            "DELETED" => Some(Seen::Final(
                self.gone("deleted before its certificate was read"),
            )),
            // ERROR (e.g. 410 Gone: the version is too old): read again.
            _ => Some(Seen::NotYet),
        })?;
        match watched {
            Watched::Done(seen) => Ok(Some(seen)),
            Watched::Ended => Ok(None),
            Watched::Refused(r) => Err(TransportError::BadHttp(format!(
                "the watch was refused with HTTP {}",
                r.status
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api_client::{Credentials, Endpoint};

    fn client() -> ApiClient {
        let endpoint = Endpoint::parse("https://127.0.0.1:1").unwrap();
        ApiClient::new(
            endpoint,
            &[],
            Credentials::Anonymous,
            Duration::from_secs(1),
        )
        .unwrap()
    }

    fn wait<'a>(client: &'a ApiClient, uid: &'a str) -> Wait<'a> {
        Wait {
            client,
            server: "https://127.0.0.1:1",
            name: "runnerkey-x7k2p",
            uid,
            deadline: Instant::now(),
            wait: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }

    fn with_uid(uid: &str) -> Value {
        json!({"kind": "CertificateSigningRequest", "metadata": {"name": "runnerkey-x7k2p", "uid": uid}})
    }

    #[test]
    fn another_uid_under_the_name_is_final_before_the_judge_is_asked() {
        let client = client();
        let w = wait(&client, "uid-1");
        let mut asked = false;
        let seen = w.see(&with_uid("uid-2"), &mut |_| {
            asked = true;
            Ok(None)
        });
        assert!(matches!(seen, Seen::Final(Error::CsrNotIssued { .. })));
        assert!(!asked);
        assert!(matches!(
            w.see(&json!({"metadata": {}}), &mut |_| Ok(None)),
            Seen::Final(Error::CsrNotIssued { .. })
        ));
    }

    #[test]
    fn the_same_object_is_what_the_judge_says() {
        let client = client();
        for uid in ["uid-1", ""] {
            // "": the server gave no UID on creation; any object is judged.
            let w = wait(&client, uid);
            assert!(matches!(
                w.see(&with_uid("uid-1"), &mut |_| Ok(None)),
                Seen::NotYet
            ));
            assert!(matches!(
                w.see(&with_uid("uid-1"), &mut |_| Err(
                    super::super::CsrApiProblem::WrongKey.into()
                )),
                Seen::Final(Error::CsrApi(super::super::CsrApiProblem::WrongKey))
            ));
        }
    }
}
