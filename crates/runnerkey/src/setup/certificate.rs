//! The runner's key and client certificate in a setup: a key kept, made
//! here or made for the CSR API; a certificate signed elsewhere and checked,
//! or kept or issued with the CA at hand.

use time::OffsetDateTime;

use super::{SetupParams, SetupPaths, Source};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::file;
use crate::issue::IssueParams;
use crate::keep_or_issue::keep_or_issue;
use crate::key::PrivateKey;
use crate::lifetime::rfc3339;
use crate::plan::Plan;

/// The key and client certificate: planned, and their summary and note.
pub(super) fn client_certificate(
    params: &SetupParams,
    paths: &SetupPaths,
    source: &Source<'_>,
    ca_cert: &Certificate,
    plan: &mut Plan,
    warnings: &mut Vec<String>,
    now: OffsetDateTime,
) -> Result<(String, String)> {
    let key = match &params.new_key {
        Some(new) => {
            plan.add(
                &paths.key,
                new.to_pem().as_bytes().to_vec(),
                file::PRIVATE,
                true,
                "key_file: the runner's private key",
            )?;
            PrivateKey::from_pem(new.to_pem().as_bytes(), None)?
        }
        None => plan.key(
            &paths.key,
            params.algorithm,
            params.force || params.key_replaced.is_some(),
            matches!(source, Source::Ca(_)),
            "key_file: the runner's private key",
        )?,
    };
    let signer_cert = match source {
        Source::Ca(ca) => ca.certificate(),
        _ => ca_cert,
    };
    if key.matches(&ca_cert.public_key()) || key.matches(&signer_cert.public_key()) {
        return Err(Error::CaKeyAsRunnerKey {
            path: paths.key.clone(),
            ca: ca_cert.subject(),
        });
    }
    warnings.extend(crate::file::writable_ancestors(&paths.key)
        .into_iter()
        .map(|(d, mode)| {
            format!(
                "{} (mode {mode:o}) above the key is writable by group or others: they could swap the runner's files",
                d.display()
            )
        }));
    let chain;
    let (cert, note) = match source {
        Source::Token(_) => {
            return Err(Error::InvalidArgument(
                "a token runner has no client certificate".into(),
            ));
        }
        Source::Issued {
            cert, chain: sent, ..
        } => {
            cert.subject_reading().check_signable()?;
            if !key.matches(&cert.public_key()) {
                return Err(Error::KeyMismatch {
                    certificate: format!("the certificate {}", cert.subject()),
                }
                .in_file(&paths.key));
            }
            let mut whole = vec![(**cert).clone()];
            whole.extend(sent.iter().cloned());
            let report = crate::verify::verify_client_chain(
                std::slice::from_ref(ca_cert),
                &whole,
                Some(&key),
                Some(now),
            );
            chain = sent.clone();
            if !report.ok {
                return Err(Error::NotAcceptedByCa {
                    what: "signed",
                    ca: ca_cert.subject(),
                    problems: report.problems.into_iter().map(|p| p.message).collect(),
                    old_kept: false,
                });
            }
            (
                (**cert).clone(),
                "signed elsewhere; checked against the cluster CA".to_string(),
            )
        }
        Source::Ca(ca) => {
            let decided = keep_or_issue(
                ca,
                &params.identity,
                &key,
                &paths.cert,
                &crate::keep_or_issue::due_before_end(params.renew_before),
                params.force,
                &IssueParams {
                    lifetime: params.lifetime,
                    allow_system_masters: params.allow_system_masters,
                    now: Some(now),
                },
                now,
            )?;
            warnings.extend(decided.warnings);
            chain = ca.client_chain()?.0;
            (decided.certificate, decided.note)
        }
    };
    let mut certs = vec![cert.clone()];
    certs.extend(chain);
    plan.add_certificates(
        &paths.cert,
        &certs,
        "cert_file: the runner's client certificate",
    )?;
    Ok((
        format!(
            "{} valid until {}",
            cert.subject(),
            rfc3339(cert.not_after())
        ),
        note,
    ))
}
