//! Approving a CertificateSigningRequest, and only one that asks for
//! exactly what was expected: the kube-apiserver-client signer, client
//! usages, no subjectAltNames, and the expected user and groups (or, with
//! no expectation, its submitter's own identity).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{CsrApiProblem, PATH, api, client, refused};
use crate::api_client::ApiClient;
use crate::csr::CertificateRequest;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::k8s_csr::{CLIENT_SIGNER, K8sCsr};
use crate::kube_context::KubeContext;

/// The usages a client certificate request may ask for.
const CLIENT_USAGES: [&str; 3] = ["client auth", "digital signature", "key encipherment"];

/// Approves the pending request `name` only when it is for the
/// kube-apiserver-client signer, asks for client usages only, and its
/// subject is exactly `expected` (groups as a set) — or, without
/// `expected`, exactly the identity of whoever submitted it (a renewal of
/// one's own identity, as kube-controller-manager approves a kubelet's).
pub(super) fn approve(
    client: &ApiClient,
    server: &str,
    name: &str,
    expected: Option<&Identity>,
) -> Result<Identity> {
    crate::k8s_name::check_subdomain("CertificateSigningRequest name", name)?;
    let got = client
        .request("GET", &format!("{PATH}/{name}"), None)
        .map_err(|e| api(e, server))?;
    if got.status != 200 {
        return Err(refused(
            got.status,
            &got.json(),
            "reading the CertificateSigningRequest",
        ));
    }
    let mut value = got.json();
    let object = K8sCsr::parse(&value.to_string())?;
    // A final state first: a denied or failed request is not looked at.
    let conditions = value["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| c["type"] == "Denied" || c["type"] == "Failed")
    {
        let part = |k: &str| {
            c[k].as_str()
                .filter(|v| !v.is_empty())
                .map(|v| format!(" {v}"))
        };
        return Err(Error::CsrNotIssued {
            name: name.into(),
            state: format!(
                "{} before it could be approved:{}{}",
                c["type"].as_str().unwrap_or("").to_lowercase(),
                part("reason").unwrap_or_default(),
                part("message").unwrap_or_default()
            ),
        });
    }
    if object.spec.signer_name != CLIENT_SIGNER {
        return Err(CsrApiProblem::NotApproved {
            name: name.into(),
            reason: format!(
                "it is for the signer {:?}, not {CLIENT_SIGNER}",
                object.spec.signer_name
            ),
        }
        .into());
    }
    if let Some(u) = object
        .spec
        .usages
        .iter()
        .find(|u| !CLIENT_USAGES.contains(&u.as_str()))
    {
        return Err(CsrApiProblem::NotApproved {
            name: name.into(),
            reason: format!("it asks for the usage {u:?}"),
        }
        .into());
    }
    if !object.spec.usages.iter().any(|u| u == "client auth") {
        return Err(CsrApiProblem::NotApproved {
            name: name.into(),
            reason: "it does not ask for the usage \"client auth\"".into(),
        }
        .into());
    }
    let pem = STANDARD
        .decode(object.spec.request.trim())
        .map_err(|e| Error::der("spec.request (base64)", e))?;
    let request = CertificateRequest::from_pem(&pem)?;
    if let Some(extra) = request.extras().first() {
        // The signer copies requested SANs into the certificate: anything
        // beyond a user and groups is more than was expected.
        return Err(CsrApiProblem::NotApproved {
            name: name.into(),
            reason: format!("it asks for {extra} besides the identity"),
        }
        .into());
    }
    let asked = request.signable_identity()?;
    let submitter;
    let expected = match expected {
        Some(e) => e,
        None => {
            submitter = own_identity(&value, &asked).map_err(|reason| {
                Error::from(CsrApiProblem::NotApproved {
                    name: name.into(),
                    reason,
                })
            })?;
            &submitter
        }
    };
    if !asked.same_as(expected) {
        return Err(CsrApiProblem::NotApproved {
            name: name.into(),
            reason: format!("it asks for {asked}, not {expected}"),
        }
        .into());
    }
    if conditions.iter().any(|c| c["type"] == "Approved") {
        return Ok(asked);
    }
    let mut all = conditions;
    all.push(
        json!({"type": "Approved", "status": "True", "reason": "RunnerkeyApprove",
                    "message": format!("approved by runnerkey for {expected}")}),
    );
    value["status"]["conditions"] = Value::Array(all);
    let put = client
        .request("PUT", &format!("{PATH}/{name}/approval"), Some(&value))
        .map_err(|e| api(e, server))?;
    if put.status != 200 && put.status != 201 {
        return Err(refused(
            put.status,
            &put.json(),
            "approving the CertificateSigningRequest",
        ));
    }
    Ok(asked)
}

/// The identity a request may ask for without an expectation: the one
/// that submitted it (`spec.username`), with groups it holds — no
/// `system:` group (those are given by the API server, not certified).
fn own_identity(object: &Value, asked: &Identity) -> std::result::Result<Identity, String> {
    let submitter = object["spec"]["username"].as_str().unwrap_or("");
    let held: Vec<&str> = object["spec"]["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if asked.user != submitter {
        return Err(format!(
            "it asks for the user {:?} but was submitted by {submitter:?}: without an expected identity only a renewal of the submitter's own is approved",
            asked.user
        ));
    }
    if let Some(g) = asked
        .groups
        .iter()
        .find(|g| g.starts_with("system:") || !held.contains(&g.as_str()))
    {
        return Err(format!(
            "it asks for the group {g:?}, which its submitter {submitter:?} does not hold"
        ));
    }
    Ok(asked.clone())
}

/// Approves the pending CertificateSigningRequest `name` through `context`
/// when it asks for exactly `expected` (user and groups) — or, with `None`,
/// exactly its submitter's own identity (a renewal) — the
/// kube-apiserver-client signer and client usages only.
pub fn approve_csr(
    context: KubeContext,
    name: &str,
    expected: Option<&Identity>,
    timeout: Duration,
) -> Result<Identity> {
    let (client, server) = client(context, timeout, timeout)?;
    approve(&client, &server, name, expected)
}
