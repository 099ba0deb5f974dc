//! A renewal signed by the cluster through its CSR API: the request's name
//! told at once; a request still pending when the wait ends kept (in the
//! cluster, and its key in runnerkey's state directory) and adopted by the
//! next run instead of asking again — so an approver that comes late, or a
//! person, approves one request per runner, not one per timer tick.

use std::path::Path;

use super::pending::{self, PendingRequest};
use crate::cert::Certificate;
use crate::csr::{CertificateRequest, CsrParams};
use crate::csr_api::{CsrApiProblem, Progress, Request, SubmitParams};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kube_context::KubeContext;

/// What the cluster signed: the certificate, the key it is for, and a note
/// when a request kept from an earlier run could not be adopted.
pub(super) struct Signed {
    pub certificate: Certificate,
    pub key: PrivateKey,
    pub note: Option<String>,
}

/// Signs a certificate for `identity` through `context`'s CSR API, adopting
/// the request an earlier run of `runner` left pending.
pub(super) fn sign(
    config: &Path,
    runner: &str,
    submit: &SubmitParams,
    context: KubeContext,
    identity: &Identity,
    algorithm: KeyAlgorithm,
    progress: Option<&dyn Fn(Progress<'_>)>,
) -> Result<Signed> {
    let tell = |name: &str, adopted: bool| {
        if let Some(progress) = progress {
            progress(if adopted {
                Progress::Adopted { name }
            } else {
                Progress::Submitted { name }
            });
        }
    };
    if let Some(kept) = pending::load(config, runner)? {
        // The kept request's context is needed again if it cannot be
        // adopted: a second client for that rare case.
        let retry = context.try_clone();
        let request = Request::Adopt {
            name: &kept.name,
            uid: &kept.uid,
        };
        let result = submit.run_request(context, request, identity, &kept.key, &mut |n, _, _| {
            tell(n, true);
            Ok(())
        });
        match result {
            Ok(done) => {
                pending::forget(config, runner);
                return Ok(Signed {
                    certificate: done.certificate,
                    key: kept.key,
                    note: None,
                });
            }
            Err(Error::CsrApi(CsrApiProblem::NotAdoptable { name, reason })) => {
                pending::forget(config, runner);
                let (certificate, key) =
                    sign_new(config, runner, submit, retry?, identity, algorithm, &tell)?;
                return Ok(Signed {
                    certificate,
                    key,
                    note: Some(format!(
                        "the request kept from an earlier run, CertificateSigningRequest {name}, could not be adopted ({reason}); a new one was made"
                    )),
                });
            }
            Err(e) => return Err(settle(config, runner, &kept.name, e)),
        }
    }
    let (certificate, key) = sign_new(config, runner, submit, context, identity, algorithm, &tell)?;
    Ok(Signed {
        certificate,
        key,
        note: None,
    })
}

fn sign_new(
    config: &Path,
    runner: &str,
    submit: &SubmitParams,
    context: KubeContext,
    identity: &Identity,
    algorithm: KeyAlgorithm,
    tell: &dyn Fn(&str, bool),
) -> Result<(Certificate, PrivateKey)> {
    let key = PrivateKey::generate(algorithm)?;
    let csr = CertificateRequest::create(&key, &CsrParams::new(identity.clone()))?;
    let mut name = String::new();
    let result = submit.run_request(
        context,
        Request::New(&csr),
        identity,
        &key,
        &mut |n, uid, _| {
            name = n.to_string();
            // Kept before the wait, so that a renew killed while waiting
            // adopts its request too.
            pending::record(
                config,
                runner,
                &PendingRequest {
                    name: n.to_string(),
                    uid: uid.to_string(),
                    key: PrivateKey::from_pem(key.to_pem().as_bytes(), None)?,
                },
            )?;
            tell(n, false);
            Ok(())
        },
    );
    match result {
        Ok(done) => {
            pending::forget(config, runner);
            Ok((done.certificate, key))
        }
        Err(e) if name.is_empty() => Err(e),
        Err(e) => Err(settle(config, runner, &name, e)),
    }
}

/// After a wait that did not end with a certificate: the kept request is
/// kept while it may still be issued (still pending, or the server away),
/// forgotten otherwise; a pending one names the runner.
fn settle(config: &Path, runner: &str, name: &str, e: Error) -> Error {
    match e {
        Error::CsrApi(CsrApiProblem::StillPending { waited, .. }) => {
            CsrApiProblem::RenewalPending {
                runner: runner.to_string(),
                name: name.to_string(),
                waited,
            }
            .into()
        }
        Error::CsrApi(CsrApiProblem::Unreachable { .. }) => e,
        e => {
            pending::forget(config, runner);
            e
        }
    }
}
