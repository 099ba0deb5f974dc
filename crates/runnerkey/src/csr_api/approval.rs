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
    deny: bool,
) -> Result<Identity> {
    crate::k8s_name::check_subdomain("CertificateSigningRequest name", name)?;
    let got = client
        .request("GET", &format!("{PATH}/{name}"), None)
        .map_err(|e| api(e, server))?;
    if got.status != 200 {
        return Err(refused(&got, "reading the CertificateSigningRequest"));
    }
    let mut value = got
        .json("a CertificateSigningRequest")
        .map_err(|e| e.answered("reading the CertificateSigningRequest", got.status))?;
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
            state: if c["type"] == "Denied" {
                crate::error::k8s_csr::CsrState::Denied
            } else {
                crate::error::k8s_csr::CsrState::Failed
            },
            detail: format!(
                "{} before it could be approved:{}{}",
                c["type"].as_str().unwrap_or("").to_lowercase(),
                part("reason").unwrap_or_default(),
                part("message").unwrap_or_default()
            ),
        });
    }
    let asked = match judge(&object, &value, expected) {
        Ok(asked) => asked,
        Err(reason) => {
            if deny {
                put_condition(
                    client,
                    server,
                    name,
                    &mut value,
                    "Denied",
                    "RunnerkeyPolicy",
                    &reason.detail,
                )?;
            }
            return Err(CsrApiProblem::NotApproved {
                name: name.into(),
                reason: reason.detail,
            }
            .into());
        }
    };
    if conditions.iter().any(|c| c["type"] == "Approved") {
        return Ok(asked);
    }
    let message = format!("approved by runnerkey for {asked}");
    put_condition(
        client,
        server,
        name,
        &mut value,
        "Approved",
        "RunnerkeyApprove",
        &message,
    )?;
    Ok(asked)
}

/// Adds the condition `kind` (Approved or Denied) to the request through
/// its approval subresource.
fn put_condition(
    client: &ApiClient,
    server: &str,
    name: &str,
    value: &mut Value,
    kind: &str,
    reason: &str,
    message: &str,
) -> Result<()> {
    let mut all = value["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    all.push(json!({"type": kind, "status": "True", "reason": reason, "message": message}));
    value["status"]["conditions"] = Value::Array(all);
    let put = client
        .request("PUT", &format!("{PATH}/{name}/approval"), Some(value))
        .map_err(|e| api(e, server))?;
    if put.status != 200 && put.status != 201 {
        return Err(refused(
            &put,
            if kind == "Denied" {
                "denying the CertificateSigningRequest"
            } else {
                "approving the CertificateSigningRequest"
            },
        ));
    }
    Ok(())
}

/// Why a request is not approvable: a closed set, for metrics labels and
/// for tests; the detail says it to a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RefusalReason {
    /// For another signer than kube-apiserver-client.
    OtherSigner,
    /// Asks for a usage beyond client auth, or not for client auth.
    Usages,
    /// `spec.request` is not one request alone, read as the signer reads it.
    Malformed,
    /// Asks for an extension (a subjectAltName…) besides the identity.
    Extensions,
    /// A subject runnerkey does not sign (empty CN, ambiguous names…).
    Subject,
    /// Not the identity expected.
    NotExpected,
    /// For another user than its submitter.
    OtherUser,
    /// A group its submitter does not hold.
    GroupNotHeld,
    /// A `system:` group.
    SystemGroup,
    /// A `system:` user (a service account, a node, a component): those
    /// identities come from the API server's own credentials, never from
    /// a certificate a runner renews.
    SystemUser,
    /// The submitter may not renew its own identity (the approver's
    /// SubjectAccessReview for the `selfclient` subresource said no).
    NoGrant,
    /// The submitter asked more often than the approver's rate allows.
    RateLimited,
}

impl RefusalReason {
    /// The reason as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            RefusalReason::OtherSigner => "other-signer",
            RefusalReason::Usages => "usages",
            RefusalReason::Malformed => "malformed",
            RefusalReason::Extensions => "extensions",
            RefusalReason::Subject => "subject",
            RefusalReason::NotExpected => "not-expected",
            RefusalReason::OtherUser => "other-user",
            RefusalReason::GroupNotHeld => "group-not-held",
            RefusalReason::SystemGroup => "system-group",
            RefusalReason::SystemUser => "system-user",
            RefusalReason::NoGrant => "no-grant",
            RefusalReason::RateLimited => "rate-limited",
        }
    }
}

/// Why a request is not approved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The reason, as a closed set.
    pub reason: RefusalReason,
    /// What it says to a person.
    pub detail: String,
}

impl Refusal {
    pub(crate) fn new(reason: RefusalReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The policy, as a pure function of the object: the identity a pending
/// request may be approved for, or why not. The request is read exactly as
/// the signer will read it (the first block Go's `encoding/pem` finds) and
/// must hold nothing else; the kube-apiserver-client signer, client usages
/// only, no extension besides the subject; the subject exactly `expected`
/// (groups as a set) or, without it, the submitter's own identity with
/// groups it holds and no `system:` group.
pub(crate) fn judge(
    object: &K8sCsr,
    value: &Value,
    expected: Option<&Identity>,
) -> std::result::Result<Identity, Refusal> {
    use RefusalReason as R;
    if object.spec.signer_name != CLIENT_SIGNER {
        return Err(Refusal::new(
            R::OtherSigner,
            format!(
                "it is for the signer {:?}, not {CLIENT_SIGNER}",
                object.spec.signer_name
            ),
        ));
    }
    if let Some(u) = object
        .spec
        .usages
        .iter()
        .find(|u| !CLIENT_USAGES.contains(&u.as_str()))
    {
        return Err(Refusal::new(
            R::Usages,
            format!("it asks for the usage {u:?}"),
        ));
    }
    if !object.spec.usages.iter().any(|u| u == "client auth") {
        return Err(Refusal::new(
            R::Usages,
            "it does not ask for the usage \"client auth\"",
        ));
    }
    let pem = STANDARD.decode(object.spec.request.trim()).map_err(|e| {
        Refusal::new(
            R::Malformed,
            format!("its spec.request is not base64 ({e})"),
        )
    })?;
    let request = CertificateRequest::from_pem(&pem).map_err(|e| {
        Refusal::new(
            R::Malformed,
            format!("its spec.request is refused: {}", e.chain()),
        )
    })?;
    if let Some(extra) = request.extras().first() {
        // The signer copies requested SANs into the certificate: anything
        // beyond a user and groups is more than was expected.
        return Err(Refusal::new(
            R::Extensions,
            format!("it asks for {extra} besides the identity"),
        ));
    }
    let asked = request
        .signable_identity()
        .map_err(|e| Refusal::new(R::Subject, format!("its subject is refused: {}", e.chain())))?;
    let own;
    let expected = match expected {
        Some(e) => e,
        None => {
            own = own_identity(value, &asked)?;
            &own
        }
    };
    if !asked.same_as(expected) {
        return Err(Refusal::new(
            R::NotExpected,
            format!("it asks for {asked}, not {expected}"),
        ));
    }
    Ok(asked)
}

/// The identity a request may ask for without an expectation: the one
/// that submitted it (`spec.username`), with groups it holds — no
/// `system:` group (those are given by the API server, not certified).
fn own_identity(object: &Value, asked: &Identity) -> std::result::Result<Identity, Refusal> {
    let submitter = object["spec"]["username"].as_str().unwrap_or("");
    let held: Vec<&str> = object["spec"]["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if asked.user() != submitter {
        return Err(Refusal::new(
            RefusalReason::OtherUser,
            format!(
                "it asks for the user {:?} but was submitted by {submitter:?}: without an expected identity only a renewal of the submitter's own is approved",
                asked.user()
            ),
        ));
    }
    if asked.user().starts_with("system:") {
        return Err(Refusal::new(
            RefusalReason::SystemUser,
            format!(
                "it asks for the user {:?}: system: users (service accounts, nodes, components) are the API server's to authenticate, never certified for a renewal",
                asked.user()
            ),
        ));
    }
    if let Some(g) = asked.groups().iter().find(|g| g.starts_with("system:")) {
        return Err(Refusal::new(
            RefusalReason::SystemGroup,
            format!(
                "it asks for the group {g:?}: system: groups are the API server's to give, never certified"
            ),
        ));
    }
    if let Some(g) = asked.groups().iter().find(|g| !held.contains(&g.as_str())) {
        return Err(Refusal::new(
            RefusalReason::GroupNotHeld,
            format!("it asks for the group {g:?}, which its submitter {submitter:?} does not hold"),
        ));
    }
    Ok(asked.clone())
}

/// Approves the pending CertificateSigningRequest `name` through `context`
/// when it asks for exactly `expected` (user and groups) — or, with `None`,
/// exactly its submitter's own identity (a renewal) — the
/// kube-apiserver-client signer and client usages only.
///
/// With `deny`, a request that is not approved is marked `Denied` with the
/// reason (so that the signer never looks at it and its submitter learns
/// why); without, it is left pending for a person.
pub fn approve_csr(
    context: KubeContext,
    name: &str,
    expected: Option<&Identity>,
    deny: bool,
    timeout: Duration,
) -> Result<Identity> {
    let (client, server) = client(context, timeout, timeout)?;
    approve(&client, &server, name, expected, deny)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrParams;
    use crate::key::{KeyAlgorithm, PrivateKey};

    fn pem(user: &str, groups: &[&str]) -> String {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let who = Identity::new(user, groups.iter().copied()).unwrap();
        CertificateRequest::create(&key, &CsrParams::new(who))
            .unwrap()
            .to_pem()
    }

    fn object(request: &str, username: &str, groups: &[&str]) -> (K8sCsr, Value) {
        let value = json!({
            "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "r"},
            "spec": {"request": STANDARD.encode(request), "signerName": CLIENT_SIGNER,
                     "usages": ["client auth", "digital signature"],
                     "username": username, "groups": groups},
        });
        (K8sCsr::parse(&value.to_string()).unwrap(), value)
    }

    #[test]
    fn a_renewal_of_ones_own_identity_is_approvable() {
        let (o, v) = object(
            &pem("gitlab-runner:h1", &["runners"]),
            "gitlab-runner:h1",
            &["runners", "system:authenticated"],
        );
        assert_eq!(
            judge(&o, &v, None).unwrap(),
            Identity::new("gitlab-runner:h1", ["runners"]).unwrap()
        );
    }

    #[test]
    fn what_the_signer_would_read_differently_is_not() {
        let own = pem("gitlab-runner:h1", &["runners"]);
        // (runnerkey makes no request for system:masters; any other group
        // shows the shape.)
        let other = pem("gitlab-runner:h1", &["admins"]);
        for request in [
            format!("x{own}{other}"),
            format!("{own}{other}"),
            format!("junk\n{own}"),
            format!("{own}junk"),
        ] {
            let (o, v) = object(&request, "gitlab-runner:h1", &["runners"]);
            let refusal = judge(&o, &v, None).unwrap_err();
            assert_eq!(refusal.reason, RefusalReason::Malformed, "{refusal}");
            assert!(refusal.detail.contains("not alone"), "{refusal}");
            let expected = Identity::new("gitlab-runner:h1", ["runners"]).unwrap();
            assert_eq!(
                judge(&o, &v, Some(&expected)).unwrap_err().reason,
                RefusalReason::Malformed
            );
        }
    }

    #[test]
    fn other_users_groups_it_lacks_and_system_groups_are_not() {
        let cases = [
            (
                pem("gitlab-runner:h2", &["runners"]),
                RefusalReason::OtherUser,
            ),
            (
                pem("gitlab-runner:h1", &["admins"]),
                RefusalReason::GroupNotHeld,
            ),
            // A system: group, even one the submitter holds.
            (
                pem("gitlab-runner:h1", &["system:custom"]),
                RefusalReason::SystemGroup,
            ),
        ];
        for (request, why) in cases {
            let (o, v) = object(&request, "gitlab-runner:h1", &["runners", "system:custom"]);
            assert_eq!(judge(&o, &v, None).unwrap_err().reason, why);
        }
        // A service account's own name, submitted with its token: a
        // certificate would outlive the token and the account.
        let sa = "system:serviceaccount:default:sa1";
        let (o, v) = object(&pem(sa, &[]), sa, &["system:serviceaccounts"]);
        assert_eq!(
            judge(&o, &v, None).unwrap_err().reason,
            RefusalReason::SystemUser
        );
        let (mut o, v) = object(&pem("u", &[]), "u", &[]);
        o.spec.usages.push("server auth".into());
        let refusal = judge(&o, &v, None).unwrap_err();
        assert_eq!(refusal.reason, RefusalReason::Usages);
        assert!(refusal.detail.contains("server auth"), "{refusal}");
        o.spec.usages = vec!["digital signature".into()];
        assert_eq!(
            judge(&o, &v, None).unwrap_err().reason,
            RefusalReason::Usages
        );
        let (mut o, v) = object(&pem("u", &[]), "u", &[]);
        o.spec.signer_name = "kubernetes.io/kubelet-serving".into();
        assert_eq!(
            judge(&o, &v, None).unwrap_err().reason,
            RefusalReason::OtherSigner
        );
        let (mut o, v) = object(&pem("u", &[]), "u", &[]);
        o.spec.request = "not base64!".into();
        assert_eq!(
            judge(&o, &v, None).unwrap_err().reason,
            RefusalReason::Malformed
        );
        let other = Identity::new("v", Vec::<String>::new()).unwrap();
        let (o, v) = object(&pem("u", &[]), "u", &[]);
        assert_eq!(
            judge(&o, &v, Some(&other)).unwrap_err().reason,
            RefusalReason::NotExpected
        );
    }
}
