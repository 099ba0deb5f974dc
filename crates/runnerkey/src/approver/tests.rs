//! The approver's decisions on recorded answers: the policy, the grant,
//! the rate, conflicts with a second approver, counting once.

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cluster::Cluster;
use super::*;
use crate::csr::{CertificateRequest, CsrParams};
use crate::identity::Identity;
use crate::k8s_csr::CLIENT_SIGNER;
use crate::key::{KeyAlgorithm, PrivateKey};

/// A cluster that answers from a script and records the updates.
#[derive(Default)]
struct Fake {
    allow: bool,
    /// Answers to updates, in order (true: accepted, false: 409); accepted
    /// when the script is empty.
    updates: RefCell<Vec<bool>>,
    /// What a read after a conflict returns.
    after_conflict: Option<Value>,
    updated: RefCell<Vec<Value>>,
    reviews: RefCell<Vec<Value>>,
}

impl Cluster for Fake {
    fn review(&self, body: &Value) -> Result<Value, String> {
        self.reviews.borrow_mut().push(body.clone());
        Ok(json!({"status": {"allowed": self.allow}}))
    }
    fn update_approval(&self, _name: &str, object: &Value) -> Result<bool, String> {
        let answer = {
            let mut u = self.updates.borrow_mut();
            if u.is_empty() { true } else { u.remove(0) }
        };
        if answer {
            self.updated.borrow_mut().push(object.clone());
        }
        Ok(answer)
    }
    fn get(&self, _name: &str) -> Result<Option<Value>, String> {
        Ok(self.after_conflict.clone())
    }
}

fn request(user: &str, groups: &[&str], submitter: &str, held: &[&str], uid: &str) -> Value {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let who = Identity::new(user, groups.iter().copied()).unwrap();
    let pem = CertificateRequest::create(&key, &CsrParams::new(who))
        .unwrap()
        .to_pem();
    json!({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": format!("csr-{uid}"), "uid": uid, "resourceVersion": "7"},
        "spec": {"request": STANDARD.encode(pem), "signerName": CLIENT_SIGNER,
                 "usages": ["digital signature", "client auth"],
                 "username": submitter, "groups": held},
    })
}

fn own(uid: &str) -> Value {
    request(
        "gitlab-runner:h1",
        &["runners"],
        "gitlab-runner:h1",
        &["runners", "system:authenticated"],
        uid,
    )
}

fn allowing() -> Fake {
    Fake {
        allow: true,
        ..Fake::default()
    }
}

#[test]
fn a_granted_renewal_is_approved_once_with_the_object_as_read() {
    let a = Approver::new(ApproverParams::default());
    let cluster = allowing();
    let object = own("1");
    let d = a.decide(&cluster, &object, Instant::now()).unwrap();
    assert_eq!(
        d.outcome,
        Outcome::Approved(Identity::new("gitlab-runner:h1", ["runners"]).unwrap())
    );
    let updated = cluster.updated.borrow();
    assert_eq!(updated.len(), 1);
    // The update carries the version read: a stale one is refused (409).
    assert_eq!(updated[0]["metadata"]["resourceVersion"], "7");
    assert_eq!(updated[0]["status"]["conditions"][0]["type"], "Approved");
    let review = &cluster.reviews.borrow()[0]["spec"];
    assert_eq!(review["user"], "gitlab-runner:h1");
    assert_eq!(review["resourceAttributes"]["subresource"], "selfclient");
    // Seen again (the MODIFIED event of its own approval): settled, silent.
    let mut approved = object.clone();
    approved["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}]});
    assert!(a.decide(&cluster, &approved, Instant::now()).is_none());
    assert_eq!(a.metrics().decisions[&("approved", "self-renewal")], 1);
}

#[test]
fn a_list_item_without_kind_is_judged_too() {
    let a = Approver::new(ApproverParams::default());
    let mut item = own("li");
    let o = item.as_object_mut().unwrap();
    o.remove("kind");
    o.remove("apiVersion");
    let d = a.decide(&allowing(), &item, Instant::now()).unwrap();
    assert!(matches!(d.outcome, Outcome::Approved(_)), "{d}");
}

#[test]
fn without_the_grant_it_is_left_pending_counted_once() {
    let a = Approver::new(ApproverParams::default());
    let cluster = Fake::default();
    let object = own("2");
    let d = a.decide(&cluster, &object, Instant::now()).unwrap();
    assert!(matches!(&d.outcome, Outcome::LeftPending(r) if r.reason == RefusalReason::NoGrant));
    assert!(cluster.updated.borrow().is_empty());
    // The next event or list says nothing new.
    assert!(a.decide(&cluster, &object, Instant::now()).is_none());
    assert_eq!(a.metrics().decisions[&("ignored", "no-grant")], 1);
    // Granted later, the next look approves it.
    assert!(matches!(
        a.decide(&allowing(), &object, Instant::now())
            .unwrap()
            .outcome,
        Outcome::Approved(_)
    ));
}

#[test]
fn policy_refusals_are_left_pending_or_denied_and_never_reviewed() {
    let cases = [
        (
            request("gitlab-runner:h2", &[], "gitlab-runner:h1", &[], "a"),
            RefusalReason::OtherUser,
        ),
        (
            request("u", &["admins"], "u", &["runners"], "b"),
            RefusalReason::GroupNotHeld,
        ),
        (
            request("u", &["system:custom"], "u", &["system:custom"], "c"),
            RefusalReason::SystemGroup,
        ),
    ];
    for deny in [false, true] {
        let a = Approver::new(ApproverParams {
            deny,
            ..ApproverParams::default()
        });
        for (object, reason) in &cases {
            let cluster = allowing();
            let d = a.decide(&cluster, object, Instant::now()).unwrap();
            match d.outcome {
                Outcome::Denied(r) if deny => assert_eq!(r.reason, *reason),
                Outcome::LeftPending(r) if !deny => assert_eq!(r.reason, *reason),
                other => panic!("{other:?}"),
            }
            assert!(cluster.reviews.borrow().is_empty());
            let updated = cluster.updated.borrow();
            if deny {
                assert_eq!(updated[0]["status"]["conditions"][0]["type"], "Denied");
            } else {
                assert!(updated.is_empty());
            }
        }
    }
}

#[test]
fn server_usages_and_other_signers() {
    let a = Approver::new(ApproverParams::default());
    let mut object = own("s");
    object["spec"]["usages"] = json!(["client auth", "server auth"]);
    let d = a.decide(&allowing(), &object, Instant::now()).unwrap();
    assert!(matches!(d.outcome, Outcome::LeftPending(r) if r.reason == RefusalReason::Usages));
    // Another signer's request is not the approver's business: no word.
    let mut kubelet = own("k");
    kubelet["spec"]["signerName"] = json!("kubernetes.io/kube-apiserver-client-kubelet");
    assert!(a.decide(&allowing(), &kubelet, Instant::now()).is_none());
}

#[test]
fn a_requester_past_its_rate_waits() {
    let a = Approver::new(ApproverParams {
        rate: RateLimit::new(2, Duration::from_secs(3600)).unwrap(),
        ..ApproverParams::default()
    });
    let t0 = Instant::now();
    for uid in ["r1", "r2"] {
        assert!(matches!(
            a.decide(&allowing(), &own(uid), t0).unwrap().outcome,
            Outcome::Approved(_)
        ));
    }
    let d = a.decide(&allowing(), &own("r3"), t0).unwrap();
    assert!(matches!(d.outcome, Outcome::LeftPending(r) if r.reason == RefusalReason::RateLimited));
    let (due, next) = a.due(t0);
    assert!(due.is_empty());
    assert_eq!(next, Some(t0 + Duration::from_secs(1800)));
    assert_eq!(a.due(t0 + Duration::from_secs(1800)).0, ["csr-r3"]);
    assert_eq!(a.metrics().deferred, 1);
    let d = a
        .decide(&allowing(), &own("r3"), t0 + Duration::from_secs(1800))
        .unwrap();
    assert!(matches!(d.outcome, Outcome::Approved(_)));
    assert_eq!(a.metrics().deferred, 0);
}

#[test]
fn a_conflict_with_another_approver_is_not_a_second_approval() {
    let a = Approver::new(ApproverParams::default());
    let object = own("c");
    let mut approved = object.clone();
    approved["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}]});
    let cluster = Fake {
        allow: true,
        updates: RefCell::new(vec![false]),
        after_conflict: Some(approved),
        ..Fake::default()
    };
    let d = a.decide(&cluster, &object, Instant::now()).unwrap();
    assert_eq!(d.outcome, Outcome::ApprovedElsewhere);
    assert!(cluster.updated.borrow().is_empty());
    assert_eq!(a.metrics().conflicts, 1);
    // A conflict from another change (still pending): tried again, once.
    let second = own("d");
    let mut newer = second.clone();
    newer["metadata"]["resourceVersion"] = json!("8");
    let cluster = Fake {
        allow: true,
        updates: RefCell::new(vec![false, true]),
        after_conflict: Some(newer),
        ..Fake::default()
    };
    let d = a.decide(&cluster, &second, Instant::now()).unwrap();
    assert!(matches!(d.outcome, Outcome::Approved(_)));
    assert_eq!(
        cluster.updated.borrow()[0]["metadata"]["resourceVersion"],
        "8"
    );
}

#[test]
fn approvals_already_in_the_cluster_count_against_the_rate() {
    // An approver restarted (or another one) finds the requester's recent
    // self-renewal approvals in the cluster: they count.
    let a = Approver::new(ApproverParams {
        rate: RateLimit::new(1, Duration::from_secs(3600)).unwrap(),
        ..ApproverParams::default()
    });
    let mut earlier = own("e1");
    let ten_minutes_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    earlier["status"] = json!({"conditions": [{"type": "Approved", "status": "True",
        "reason": "RunnerkeySelfRenewal",
        "lastUpdateTime": crate::lifetime::rfc3339(ten_minutes_ago)}]});
    assert!(a.decide(&allowing(), &earlier, Instant::now()).is_none());
    let d = a.decide(&allowing(), &own("e2"), Instant::now()).unwrap();
    assert!(matches!(d.outcome, Outcome::LeftPending(r) if r.reason == RefusalReason::RateLimited));
    // Someone else's approval, or an old one, does not.
    let b = Approver::new(ApproverParams {
        rate: RateLimit::new(1, Duration::from_secs(3600)).unwrap(),
        ..ApproverParams::default()
    });
    let mut other = own("o1");
    other["status"] = json!({"conditions": [{"type": "Approved", "status": "True",
        "reason": "AdminApproved",
        "lastUpdateTime": crate::lifetime::rfc3339(ten_minutes_ago)}]});
    let mut old = own("o2");
    old["status"] = json!({"conditions": [{"type": "Approved", "status": "True",
        "reason": "RunnerkeySelfRenewal",
        "lastUpdateTime": crate::lifetime::rfc3339(ten_minutes_ago - time::Duration::hours(2))}]});
    assert!(b.decide(&allowing(), &other, Instant::now()).is_none());
    assert!(b.decide(&allowing(), &old, Instant::now()).is_none());
    assert!(matches!(
        b.decide(&allowing(), &own("o3"), Instant::now())
            .unwrap()
            .outcome,
        Outcome::Approved(_)
    ));
}

#[test]
fn healthy_until_no_list_for_two_resyncs() {
    let a = Approver::new(ApproverParams::default());
    assert!(a.healthy());
    a.lock().listed = Instant::now().checked_sub(Duration::from_secs(3600));
    assert!(!a.healthy());
    a.listed();
    assert!(a.healthy());
}

#[test]
fn a_subresource_that_is_not_a_label_is_refused() {
    let mut params = ApproverParams::default();
    assert!(params.validate().is_ok());
    params.subresource = "selfclient --deny".into();
    let err = params.validate().unwrap_err();
    assert!(
        matches!(
            err,
            crate::Error::InvalidName {
                field: "subresource",
                ..
            }
        ),
        "{err:?}"
    );
    // A rate or a period set field by field is judged as the parsers judge it.
    let mut params = ApproverParams::default();
    params.rate.burst = 0;
    assert!(matches!(
        params.validate(),
        Err(crate::Error::InvalidArgument(_))
    ));
    let params = ApproverParams {
        resync: Duration::MAX,
        ..ApproverParams::default()
    };
    assert!(matches!(
        params.validate(),
        Err(crate::Error::Lifetime(crate::LifetimeProblem::Timeout {
            what: "resync",
            ..
        }))
    ));
    // healthy() cannot overflow on such a period either.
    assert!(Approver::new(params).healthy());
}
